// mp-bench: `run` (load, stress, spike, endurance, scalability against mp-serve's API, any
// HTTP URL or a WebSocket URL), `report` and `compare` (tools/bench_report.cpp).

#include "bench/plan.hpp"
#include "bench/run.hpp"
#include "bench/threshold.hpp"
#include "bench/workload.hpp"
#include "cli/tool.hpp"
#include "tools/bench_report.hpp"
#include "tools/bench_ws.hpp"
#include "tools/tools.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace mp::tools {

namespace {

struct RunFlags {
  std::string type;
  std::string url, base_url, target;
  std::optional<double> rate;
  std::string duration = "30s", warmup, think_time = "0", interval = "1s", timeout = "10s",
              abort_grace = "10s";
  std::string step_duration = "10s";
  int max_steps = 10;
  std::optional<int> connections, threads;
  int users = 100;
  std::string model = "open";
  std::vector<std::string> thresholds;
  std::string thresholds_file, profile;
  bool abort_on_fail = false, quiet = false;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body, body_file, requests_file;
  double duplicate_ratio = 0;
  std::string priority_mix, token, run_id, wait = "10s";
  double ramp_rate = 1000, publish_rate = 1;
  std::string topic = "email_updates";
};

double duration_flag(const std::string& text, const char* flag) {
  return value_or_throw(bench::parse_duration(text, flag));
}

std::string make_run_id(std::string_view test) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  return fmt::format("{}-{}-{:04x}", test, stamp, rd() & 0xffff);
}

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

void on_signal(int) {
  bench::request_stop();
}

/// The thresholds of the flags, the file and the profile, with where each came from.
void collect_thresholds(const RunFlags& f, const std::vector<std::string>& from_profile,
                        bench::RunConfig& rc) {
  for (const auto& t : f.thresholds) {
    rc.thresholds.push_back(value_or_throw(bench::parse_threshold(t)));
    rc.threshold_sources.emplace_back("flag");
  }
  if (!f.thresholds_file.empty()) {
    for (auto& t : value_or_throw(bench::load_thresholds(f.thresholds_file))) {
      rc.thresholds.push_back(std::move(t));
      rc.threshold_sources.emplace_back("file");
    }
  }
  for (const auto& t : from_profile) {
    auto parsed = bench::parse_threshold(t);
    if (!parsed) {
      throw Fatal(Error{Errc::usage, fmt::format("--profile {}: {}", f.profile, parsed.error().message),
                        "--profile"});
    }
    rc.thresholds.push_back(std::move(*parsed));
    rc.threshold_sources.emplace_back("profile");
  }
}

bench::Plan make_plan(const RunFlags& f, bench::TestType type, bench::Model model,
                      std::vector<std::string>& th) {
  if (!f.profile.empty()) {
    auto prof = bench::load_profile(f.profile, model);
    if (!prof) {
      throw Fatal(Error{Errc::usage, prof.error().message, "--profile"});
    }
    th = prof->thresholds;
    return prof->plan;
  }
  bench::ShapeKnobs k;
  k.model = model;
  k.rate = f.rate.value_or(100);
  k.users = f.users;
  k.duration_s = duration_flag(f.duration, "--duration");
  k.warmup_s = f.warmup.empty() ? -1 : duration_flag(f.warmup, "--warmup");
  k.step_s = duration_flag(f.step_duration, "--step-duration");
  k.max_steps = f.max_steps;
  if (type == bench::TestType::scalability && !f.duration.empty() && f.duration != "30s") {
    // --duration bounds the steps of a scalability run: as many as fit.
    k.max_steps = std::clamp(static_cast<int>(k.duration_s / std::max(k.step_s, 0.1)), 1, f.max_steps);
  }
  if (k.duration_s <= 0 && type != bench::TestType::scalability) {
    throw Fatal(Error{Errc::usage, "--duration must be more than 0", "--duration"});
  }
  return bench::default_plan(type, k);
}

std::unique_ptr<bench::RequestSource> make_source(const RunFlags& f, const bench::HttpUrl& url, bool ai) {
  std::vector<std::string> headers;
  for (const auto& h : f.headers) {
    if (h.find(':') == std::string::npos) {
      throw Fatal(Error{Errc::usage, fmt::format("--header '{}': expected 'Name: value'", h), "--header"});
    }
    headers.push_back(h);
  }
  if (ai) {
    bench::AiWorkload w;
    w.duplicate_ratio = f.duplicate_ratio;
    if (!f.priority_mix.empty()) {
      w.priority_mix = value_or_throw(bench::parse_priority_mix(f.priority_mix));
    }
    w.token = f.token;
    w.wait_ms = std::llround(duration_flag(f.wait, "--wait") * 1000);
    w.extra_headers = headers;
    return bench::ai_requests(url, w);
  }
  if (!f.requests_file.empty()) {
    return value_or_throw(bench::requests_from_file(f.requests_file, url, headers));
  }
  std::string body = f.body;
  if (!f.body_file.empty()) {
    std::ifstream in(f.body_file, std::ios::binary);
    if (!in) {
      throw Fatal(
          Error{Errc::usage, fmt::format("--body-file {}: cannot read it", f.body_file), "--body-file"});
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  if (!f.token.empty()) {
    headers.push_back("Authorization: Bearer " + f.token);
  }
  std::string method = f.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return bench::fixed_requests({bench::build_request(method, url, url.target, headers, body)},
                               method == "HEAD");
}

int run_command(RunFlags f, const config::Config& cfg) {
  const auto type = value_or_throw(bench::parse_test_type(f.type));
  if (f.model != "open" && f.model != "closed") {
    throw Fatal(Error{Errc::usage, fmt::format("--model: '{}' is not open or closed", f.model), "--model"});
  }
  if (f.duplicate_ratio < 0 || f.duplicate_ratio > 1) {
    throw Fatal(Error{Errc::usage, "--duplicate-ratio must be within 0 and 1", "--duplicate-ratio"});
  }
  if (f.token.empty()) {
    if (const char* k = std::getenv("MP_API_KEY")) {
      f.token = k;
    }
  }
  std::string target = f.target;
  if (target.empty()) {
    target = f.url.starts_with("ws://") ? "ws" : !f.url.empty() ? "http" : "ai";
  }
  if (target != "ai" && target != "http" && target != "ws") {
    throw Fatal(Error{Errc::usage, fmt::format("--target: '{}' is not ai, http or ws", target), "--target"});
  }
  const auto model = f.model == "open" ? bench::Model::open : bench::Model::closed;
  bench::RunConfig rc;
  rc.type = type;
  rc.run_id = f.run_id.empty() ? make_run_id(f.type) : f.run_id;
  rc.target = target;
  std::vector<std::string> profile_thresholds;
  rc.engine.plan = make_plan(f, type, model, profile_thresholds);
  collect_thresholds(f, profile_thresholds, rc);
  if (type == bench::TestType::scalability && rc.thresholds.empty()) {
    // The SLA of the config (monitoring.sla) judges the steps when no threshold is given.
    rc.thresholds.push_back(
        value_or_throw(bench::parse_threshold(fmt::format("p99<{}ms", cfg.monitoring.sla.p99_ms))));
    rc.thresholds.push_back(value_or_throw(
        bench::parse_threshold(fmt::format("error_rate<{}%", cfg.monitoring.sla.error_rate_percent))));
    rc.threshold_sources = {"config", "config"};
  }
  rc.sla_p99_ms = cfg.monitoring.sla.p99_ms;
  rc.abort_on_fail = f.abort_on_fail;
  rc.abort_grace_s = duration_flag(f.abort_grace, "--abort-grace");
  rc.progress = !f.quiet && isatty(STDERR_FILENO);
  raise_fd_limit();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  if (target == "ws") {
    WsFlags ws{f.url,
               f.base_url,
               f.token,
               f.topic,
               f.connections.value_or(f.users),
               f.ramp_rate,
               f.publish_rate,
               f.threads.value_or(1),
               duration_flag(f.interval, "--interval")};
    return run_ws_command(std::move(rc), ws, std::cout);
  }
  std::string url = f.url;
  if (target == "ai") {
    // The API's base: --base-url, or an http --url given with --target ai, or the default.
    url = !f.base_url.empty() ? f.base_url : !f.url.empty() ? f.url : std::string("http://127.0.0.1:8002");
    while (url.ends_with('/')) {
      url.pop_back();
    }
    url += "/api/ai/process";
  } else if (url.empty()) {
    throw Fatal(Error{Errc::usage, "--target http needs --url", "--url"});
  }
  const auto parsed = value_or_throw(bench::parse_http_url(url, target == "ai" ? "--base-url" : "--url"));
  rc.url = url;
  auto source = make_source(f, parsed, target == "ai");
  auto& e = rc.engine;
  e.url = parsed;
  e.source = source.get();
  e.connections = f.connections.value_or(f.users);
  e.think_s = duration_flag(f.think_time, "--think-time");
  e.timeout_s = duration_flag(f.timeout, "--timeout");
  e.interval_s = duration_flag(f.interval, "--interval");
  if (e.interval_s < 0.05) {
    throw Fatal(Error{Errc::usage, "--interval must be at least 50ms", "--interval"});
  }
  if (e.timeout_s <= 0) {
    throw Fatal(Error{Errc::usage, "--timeout must be more than 0", "--timeout"});
  }
  double peak = 0;
  for (const auto& st : e.plan.stages) {
    peak = std::max({peak, st.rate, st.end_rate});
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  e.threads = f.threads.value_or(model == bench::Model::open
                                     ? std::clamp(static_cast<int>(std::ceil(peak / 50'000)), 1, cores)
                                     : std::min(cores, std::max(1, f.users)));
  if (e.threads < 1 || e.connections < 1) {
    throw Fatal(Error{Errc::usage, "--threads and --connections must be at least 1", "--threads"});
  }
  return bench::run_http(std::move(rc), std::cout);
}

void add_run_command(CLI::App& app, RunFlags& f) {
  auto* run = app.add_subcommand("run", "run a test: load, stress, spike, endurance or scalability");
  run->add_option("type", f.type, "load|stress|spike|endurance|scalability")->required();
  run->add_option("--url", f.url, "any http:// or ws:// URL to load");
  run->add_option("--base-url", f.base_url,
                  "mp-serve to load through its API (default http://127.0.0.1:8002)");
  run->add_option("--target", f.target, "ai|http|ws (default: from the URL)");
  run->add_option("--rate", f.rate, "requests/s (open model; default 100)");
  run->add_option("--duration", f.duration, "measured time, e.g. 30s, 5m (default 30s)");
  run->add_option("--warmup", f.warmup,
                  "warm-up before it, left out of the statistics (default 10% of duration, 1-10s)");
  run->add_option("--connections", f.connections,
                  "connection pool (open model; default --max-concurrent-users)");
  run->add_option("--threads", f.threads, "generator threads (default: 1 per 50k req/s, at most the cores)");
  run->add_option("--max-concurrent-users", f.users,
                  "virtual users (closed model) and default pool size (100)");
  run->add_option("--model", f.model, "open (arrival rate, default) or closed (users with think time)");
  run->add_option("--think-time", f.think_time, "closed model: pause between a user's requests (default 0)");
  run->add_option("--threshold", f.thresholds, "SLA gate, e.g. 'p99<250ms', 'error_rate<1%', 'rps>1000'");
  run->add_option("--thresholds-file", f.thresholds_file, "thresholds, one per line");
  run->add_flag("--abort-on-fail", f.abort_on_fail,
                "stop as soon as a threshold fails (after --abort-grace)");
  run->add_option("--abort-grace", f.abort_grace,
                  "measured time before --abort-on-fail judges (default 10s)");
  run->add_option("--profile", f.profile, "TOML file of custom [[stages]] and thresholds");
  run->add_option("--step-duration", f.step_duration, "scalability: length of each step (default 10s)");
  run->add_option("--max-steps", f.max_steps, "scalability: at most this many steps (default 10)");
  run->add_option("--interval", f.interval, "length of each interval event (default 1s)");
  run->add_option("--timeout", f.timeout, "per request (default 10s)");
  run->add_option("--method", f.method, "http target: method (default GET)");
  run->add_option("--header", f.headers, "http target: 'Name: value' (repeatable)");
  run->add_option("--body", f.body, "http target: request body");
  run->add_option("--body-file", f.body_file, "http target: request body from a file");
  run->add_option("--requests", f.requests_file, "http target: NDJSON file of requests, sent round robin");
  run->add_option("--duplicate-ratio", f.duplicate_ratio,
                  "ai target: share of repeated emails, 0-1 (default 0)");
  run->add_option("--priority-mix", f.priority_mix,
                  "ai target: e.g. urgent=1,high=2,normal=6,low=2,background=1");
  run->add_option(
      "--wait", f.wait,
      "ai target: long-poll each request for its result up to this long (default 10s; 0: time the enqueue)");
  run->add_option("--token", f.token, "bearer token (default $MP_API_KEY)");
  run->add_option("--run-id", f.run_id, "id in every event (default TEST-TIME-RANDOM)");
  run->add_flag("--quiet", f.quiet, "no progress line on stderr");
  run->add_option("--ramp-rate", f.ramp_rate, "ws target: new connections/s (default 1000)");
  run->add_option("--publish-rate", f.publish_rate,
                  "ws target: broadcasts/s through POST /api/ws/broadcast (default 1)");
  run->add_option("--topic", f.topic, "ws target: topic to subscribe and publish (default email_updates)");
}

} // namespace

int bench_main(int argc, char** argv) {
  CLI::App app{"mp-bench: load, stress, spike, endurance and scalability tests with SLA gates.", "mp-bench"};
  cli::CommonOptions common;
  cli::add_common_options(app, common);
  RunFlags run_flags;
  add_run_command(app, run_flags);
  ReportCommands report;
  add_report_commands(app, report);
  app.require_subcommand(0, 1);
  return cli::run_tool("mp-bench", app, argc, argv, [&] {
    auto cfg = cli::load_config("mp-bench", common);
    if (common.print_config) {
      cli::print_config(cfg);
      return 0;
    }
    if (app.got_subcommand("run")) {
      return run_command(run_flags, cfg);
    }
    if (auto rc = run_report_commands(report)) {
      return *rc;
    }
    std::cout << app.help();
    return 0;
  });
}

} // namespace mp::tools
