// OpenAiProvider against tests/fakes/fake_openai.py: a real HTTP server on a loopback
// port, scripted to fail in each way an upstream does. Each test starts its own fake and
// kills it (by PID) when it ends.

#include "ai/openai.hpp"
#include "util/json.hpp"
#include "util/sha256.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace mp::ai;
using mp::analyser::RequestType;
using namespace std::chrono_literals;

namespace {

class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return m_fd; }

private:
  int m_fd;
};

// One request on its own connection (Connection: close); returns the status and body.
std::pair<int, std::string> http(int port, const std::string& method, const std::string& path,
                                 const std::string& body = {}) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(s.get() >= 0);
  timeval tv{10, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
  REQUIRE(::send(s.get(), req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(s.get(), buf, sizeof buf, 0)) > 0;) {
    answer.append(buf, static_cast<std::size_t>(n));
  }
  const auto head_end = answer.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  return {std::stoi(answer.substr(answer.find(' ') + 1, 3)), answer.substr(head_end + 4)};
}

// tests/fakes/fake_openai.py on a free port, killed when this goes out of scope.
class FakeOpenAi {
public:
  explicit FakeOpenAi(const std::string& api_key = {}) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    std::string script = MP_SOURCE_DIR "/tests/fakes/fake_openai.py";
    std::vector<std::string> args{"python3", script, "--port", "0"};
    if (!api_key.empty()) {
      args.insert(args.end(), {"--api-key", api_key});
    }
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    const int rc = ::posix_spawnp(&m_pid, "python3", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    try {
      m_port = read_port(read_end.get());
    } catch (...) {
      stop(); // a failed REQUIRE throws; the destructor of a half-built object never runs
      throw;
    }
  }
  ~FakeOpenAi() { stop(); }
  FakeOpenAi(const FakeOpenAi&) = delete;
  FakeOpenAi& operator=(const FakeOpenAi&) = delete;

  void stop() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      ::waitpid(m_pid, nullptr, 0);
      m_pid = -1;
    }
  }
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/v1"; }

  void script(const std::string& json) { REQUIRE(http(m_port, "POST", "/_script", json).first == 200); }
  rapidjson::Document arrivals() {
    auto [status, body] = http(m_port, "GET", "/_arrivals");
    REQUIRE(status == 200);
    auto doc = mp::util::parse_json(body);
    REQUIRE(doc);
    return std::move(*doc);
  }

private:
  static int read_port(int fd) {
    std::string line;
    while (line.find('\n') == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      REQUIRE(::poll(&p, 1, 10'000) == 1);
      char buf[64];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      REQUIRE(n > 0);
      line.append(buf, static_cast<std::size_t>(n));
    }
    REQUIRE(line.starts_with("listening on "));
    return std::stoi(line.substr(13));
  }

  pid_t m_pid = -1;
  int m_port = 0;
};

OpenAiProvider::Options options_for(const FakeOpenAi& fake) {
  OpenAiProvider::Options o;
  o.base_url = fake.base_url();
  o.timeout_ms = 5'000;
  o.prices["test-model"] = Price{1.0, 2.0};
  return o;
}

ProviderRequest request(RequestType type = RequestType::analysis) {
  ProviderRequest r;
  r.type = type;
  r.model = "test-model";
  r.subject = "Quarterly report";
  r.sender = "alice@example.com";
  r.content = "Please review the quarterly report. Thanks, Alice.";
  return r;
}

AttemptError failed_call(OpenAiProvider& p, const ProviderRequest& r = request()) {
  auto result = p.call(r);
  REQUIRE_FALSE(result);
  return result.error();
}

} // namespace

TEST_CASE("openai: a normal call parses into an Analysis priced from usage", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  const ProviderRequest req = request();
  auto result = provider.call(req);
  REQUIRE(result);
  REQUIRE(result->analysis.category == "work");
  REQUIRE(result->analysis.urgency == "normal");
  REQUIRE(result->analysis.confidence == Approx(0.9));
  REQUIRE(result->analysis.summary == "Please review the quarterly report.");
  REQUIRE(result->analysis.sentiment == "neutral");
  REQUIRE(result->model == "test-model");
  const auto user_len = static_cast<std::int64_t>(user_message(req).size());
  REQUIRE(result->input_tokens == user_len / 4 + 50);
  REQUIRE(result->output_tokens == 60);
  const double cost = (static_cast<double>(user_len / 4 + 50) * 1.0 + 60 * 2.0) / 1e6;
  REQUIRE(result->cost_usd == Approx(cost));
  REQUIRE(provider.estimate_cost(req) >= result->cost_usd);

  // The fake saw the model, the email as the user message, JSON, and no key.
  auto doc = fake.arrivals();
  const auto& arrivals = doc["arrivals"];
  REQUIRE(arrivals.Size() == 1);
  REQUIRE(mp::util::get_string(arrivals[0], "model") == "test-model");
  REQUIRE(mp::util::get_string(arrivals[0], "content_sha256") ==
          mp::util::to_hex(mp::util::sha256(user_message(req))));
  REQUIRE(mp::util::get_string(arrivals[0]["headers"], "content-type") == "application/json");
  REQUIRE_FALSE(arrivals[0]["headers"].HasMember("authorization"));
  REQUIRE_FALSE(arrivals[0]["headers"].HasMember("expect"));
}

TEST_CASE("openai: the answering model's price applies, by prefix or default", "[openai]") {
  FakeOpenAi fake;
  auto opts = options_for(fake);
  opts.default_price = Price{100.0, 100.0};
  OpenAiProvider provider(opts);
  fake.script(R"({"steps":[{"model":"test-model-2026-01-01"},{"model":"mystery"}]})");
  auto dated = provider.call(request());
  REQUIRE(dated);
  REQUIRE(dated->model == "test-model-2026-01-01");
  REQUIRE(dated->cost_usd == Approx((static_cast<double>(dated->input_tokens) * 1.0 +
                                     static_cast<double>(dated->output_tokens) * 2.0) /
                                    1e6));
  auto unknown = provider.call(request());
  REQUIRE(unknown);
  REQUIRE(unknown->cost_usd ==
          Approx(static_cast<double>(unknown->input_tokens + unknown->output_tokens) * 100.0 / 1e6));
  REQUIRE(provider.price_of("gpt-5-mini-2025-08-07").output_per_million == 2.0);
  REQUIRE(provider.price_of("gpt-5-nano").input_per_million == 0.05);
}

TEST_CASE("openai: 429 with Retry-After is retryable and says how long to wait", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  fake.script(R"({"steps":[
      {"status":429,"headers":{"Retry-After":"1"},"body":{"error":{"message":"Rate limit reached"}}},
      {"status":429,"headers":{"Retry-After":"7","retry-after-ms":"250"}}]})");
  const AttemptError e = failed_call(provider);
  REQUIRE(e.status == 429);
  REQUIRE(e.retryable);
  REQUIRE(e.retry_after == 1000ms);
  REQUIRE(e.message == "Rate limit reached");
  const AttemptError ms = failed_call(provider);
  REQUIRE(ms.retry_after == 250ms);
  // The script is used up: the next call succeeds.
  REQUIRE(provider.call(request()));
}

TEST_CASE("openai: 5xx are retryable, other 4xx are not", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  fake.script(R"({"steps":[{"status":500},{"status":503},
      {"status":400,"body":{"error":{"message":"Invalid model","type":"invalid_request_error"}}},
      {"status":404,"body":"not json"}]})");
  const AttemptError e500 = failed_call(provider);
  REQUIRE(e500.status == 500);
  REQUIRE(e500.retryable);
  REQUIRE(e500.message == "scripted status 500");
  REQUIRE_FALSE(e500.retry_after);
  REQUIRE(failed_call(provider).retryable);
  const AttemptError e400 = failed_call(provider);
  REQUIRE(e400.status == 400);
  REQUIRE_FALSE(e400.retryable);
  REQUIRE(e400.message == "Invalid model");
  const AttemptError e404 = failed_call(provider);
  REQUIRE(e404.status == 404);
  REQUIRE_FALSE(e404.retryable);
  REQUIRE(e404.message.find("HTTP 404") == 0);
}

TEST_CASE("openai: malformed and off-schema answers are failed attempts", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  fake.script(R"({"steps":[{"malformed":true},{"invalid_schema":true},
      {"content":"{\"summary\":42}"},{"status":200,"body":{"choices":[]}}]})");
  const AttemptError malformed = failed_call(provider);
  REQUIRE(malformed.status == 200);
  REQUIRE(malformed.retryable);
  REQUIRE(malformed.message.find("invalid answer: the content is not JSON") == 0);
  const AttemptError schema = failed_call(provider);
  REQUIRE(schema.status == 200);
  REQUIRE(schema.retryable);
  REQUIRE(schema.message.find("invalid answer:") == 0);
  REQUIRE(schema.message.find("category") != std::string::npos);
  // A summary request checks only the summary, and that is a number here.
  const AttemptError summary = failed_call(provider, request(RequestType::summary));
  REQUIRE(summary.message.find("summary") != std::string::npos);
  const AttemptError empty = failed_call(provider);
  REQUIRE(empty.message == "invalid answer: no choices[0].message.content");
}

TEST_CASE("openai: an answer slower than timeout_ms is a retryable timeout", "[openai]") {
  FakeOpenAi fake;
  auto opts = options_for(fake);
  opts.timeout_ms = 300;
  OpenAiProvider provider(opts);
  fake.script(R"({"steps":[{"delay_ms":1500}]})");
  const auto start = std::chrono::steady_clock::now();
  const AttemptError e = failed_call(provider);
  REQUIRE(e.status == 0);
  REQUIRE(e.retryable);
  REQUIRE(e.message.find("imed out") != std::string::npos);
  REQUIRE(std::chrono::steady_clock::now() - start < 1500ms);
  // The connection that timed out is gone; the next call opens a new one.
  REQUIRE(provider.call(request()));
}

TEST_CASE("openai: a dropped connection and a dead server are retryable", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  fake.script(R"({"steps":[{"close":true}]})");
  const AttemptError dropped = failed_call(provider);
  REQUIRE(dropped.status == 0);
  REQUIRE(dropped.retryable);
  REQUIRE(fake.arrivals()["arrivals"].Size() == 1); // one attempt, not silently two
  fake.stop();
  const AttemptError refused = failed_call(provider);
  REQUIRE(refused.status == 0);
  REQUIRE(refused.retryable);
}

TEST_CASE("openai: calls from one thread reuse one connection", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(provider.call(request()));
  }
  auto doc = fake.arrivals();
  const auto& arrivals = doc["arrivals"];
  REQUIRE(arrivals.Size() == 5);
  std::set<std::int64_t> connections;
  for (const auto& a : arrivals.GetArray()) {
    connections.insert(mp::util::get_int(a, "connection").value());
  }
  REQUIRE(connections.size() == 1);
}

TEST_CASE("openai: concurrent calls each keep their own thread's connection", "[openai]") {
  FakeOpenAi fake;
  OpenAiProvider provider(options_for(fake));
  constexpr int k_threads = 4;
  constexpr int k_calls = 5;
  std::atomic<int> ok{0};
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < k_threads; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < k_calls; ++i) {
          ok += provider.call(request()) ? 1 : 0;
        }
      });
    }
  }
  REQUIRE(ok == k_threads * k_calls);
  auto doc = fake.arrivals();
  std::set<std::int64_t> connections;
  for (const auto& a : doc["arrivals"].GetArray()) {
    connections.insert(mp::util::get_int(a, "connection").value());
  }
  REQUIRE(doc["arrivals"].Size() == k_threads * k_calls);
  REQUIRE(connections.size() == k_threads);
}

TEST_CASE("openai: the API key is sent as a bearer token", "[openai]") {
  FakeOpenAi fake("sk-test-key");
  auto opts = options_for(fake);
  opts.api_key = "sk-test-key";
  OpenAiProvider good(opts);
  REQUIRE(good.call(request()));
  REQUIRE(mp::util::get_string(fake.arrivals()["arrivals"][0]["headers"], "authorization") ==
          "Bearer sk-test-key");
  opts.api_key = "sk-wrong";
  OpenAiProvider bad(opts);
  const AttemptError e = failed_call(bad);
  REQUIRE(e.status == 401);
  REQUIRE_FALSE(e.retryable);
  REQUIRE(e.message == "Incorrect API key provided");
}

TEST_CASE("openai: the request is JSON mode with the schema in the system prompt", "[openai]") {
  OpenAiProvider::Options opts;
  opts.base_url = "http://127.0.0.1:9/v1/";
  OpenAiProvider provider(opts);
  ProviderRequest req = request(RequestType::classification);
  req.model.clear();
  req.subject = "two\nlines";
  REQUIRE(provider.model_for(req) == "gpt-5-nano");
  auto doc = mp::util::parse_json(provider.request_body(req));
  REQUIRE(doc);
  REQUIRE(mp::util::get_string(*doc, "model") == "gpt-5-nano");
  REQUIRE(mp::util::get_string((*doc)["response_format"], "type") == "json_object");
  REQUIRE(mp::util::get_number(*doc, "temperature") == 0.0);
  const auto& messages = (*doc)["messages"];
  REQUIRE(mp::util::get_string(messages[0], "role") == "system");
  const std::string prompt(system_prompt(RequestType::classification));
  REQUIRE(mp::util::get_string(messages[0], "content") == prompt);
  for (std::string_view c : mp::analyser::categories()) {
    REQUIRE(prompt.find(fmt::format("\"{}\"", c)) != std::string::npos);
  }
  REQUIRE(prompt.find("JSON") != std::string::npos);
  REQUIRE(prompt.find("\"summary\"") == std::string::npos);
  REQUIRE(std::string(system_prompt(RequestType::analysis)).find("\"due_text\"") != std::string::npos);
  REQUIRE(
      mp::util::get_string(messages[1], "content") ==
      "Subject: two lines\nFrom: alice@example.com\n\nPlease review the quarterly report. Thanks, Alice.");

  opts.temperature.reset();
  REQUIRE_FALSE(OpenAiProvider(opts).request_body(req).contains("temperature"));
}

TEST_CASE("openai: estimate_cost covers the prompt and max_output_tokens", "[openai]") {
  OpenAiProvider::Options opts;
  opts.prices = {{"m", Price{1.0, 10.0}}};
  opts.max_output_tokens = 1000;
  OpenAiProvider provider(opts);
  ProviderRequest req = request();
  req.model = "m";
  const double output_part = 1000 * 10.0 / 1e6;
  const double estimate = provider.estimate_cost(req);
  REQUIRE(estimate > output_part);
  REQUIRE(estimate < output_part + 1000 * 1.0 / 1e6);
  req.content += std::string(4000, 'x');
  REQUIRE(provider.estimate_cost(req) == Approx(estimate + 1000 * 1.0 / 1e6));
}
