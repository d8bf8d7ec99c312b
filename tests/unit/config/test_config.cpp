#include "config/config.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>

using namespace mp::config;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

} // namespace

TEST_CASE("config: defaults are the seed's", "[config]") {
  Config c;
  REQUIRE(c.server.host == "127.0.0.1");
  REQUIRE(c.server.port == 8002);
  REQUIRE(c.ai_processing.num_workers == 4);
  REQUIRE(c.ai_processing.rate_limiting.requests_per_minute == 20);
  REQUIRE(c.ai_processing.rate_limiting.requests_per_hour == 1000);
  REQUIRE(c.ai_processing.rate_limiting.cost_limit_per_hour == 10.0);
  REQUIRE(c.websocket.max_connections_per_pool == 100);
  REQUIRE(c.websocket.broadcast_batch_size == 50);
  REQUIRE(c.monitoring.collection_interval_seconds == 30);
}

TEST_CASE("config: TOML sections mirror PERFORMANCE_CONFIG", "[config]") {
  Config c;
  auto ok = apply_toml(c, R"(
[server]
port = 9100
[ai_processing]
num_workers = 8
[ai_processing.cache]
redis_host = "cache.local"
[ai_processing.rate_limiting]
cost_limit_per_hour = 2   # an integer is fine for a number
[websocket]
redis_enabled = true
)",
                       "mp.toml");
  REQUIRE(ok);
  REQUIRE(c.server.port == 9100);
  REQUIRE(c.ai_processing.num_workers == 8);
  REQUIRE(c.ai_processing.cache.redis_host == "cache.local");
  REQUIRE(c.ai_processing.rate_limiting.cost_limit_per_hour == 2.0);
  REQUIRE(c.websocket.redis_enabled);
}

TEST_CASE("config: an unknown key is an error naming it, with a suggestion", "[config]") {
  Config c;
  auto r = apply_toml(c, "[server]\nprot = 1\n", "mp.toml");
  REQUIRE_FALSE(r);
  REQUIRE(r.error().field == "server.prot");
  REQUIRE(r.error().message.find("mp.toml:2") != std::string::npos);
  REQUIRE(r.error().message.find("did you mean 'server.port'") != std::string::npos);
  REQUIRE(r.error().exit_code() == mp::ExitCode::usage);
}

TEST_CASE("config: wrong types and ranges name the key", "[config]") {
  Config c;
  auto t = apply_toml(c, "[server]\nport = \"80\"\n", "mp.toml");
  REQUIRE_FALSE(t);
  REQUIRE(t.error().field == "server.port");
  REQUIRE(t.error().message.find("expected an integer") != std::string::npos);

  auto r = apply_toml(c, "[server]\nport = 70000\n", "mp.toml");
  REQUIRE_FALSE(r);
  REQUIRE(r.error().message.find("out of range") != std::string::npos);

  auto ch = set_value(c, "log.level", "loud", "--log-level");
  REQUIRE_FALSE(ch);
  REQUIRE(ch.error().field == "log.level");
  REQUIRE(ch.error().message.find("--log-level") != std::string::npos);
}

TEST_CASE("config: a section given as a value is an error", "[config]") {
  Config c;
  REQUIRE_FALSE(apply_toml(c, "server = 3\n", "mp.toml"));
  REQUIRE_FALSE(apply_toml(c, "[server.port]\nx = 1\n", "mp.toml"));
}

TEST_CASE("config: TOML syntax errors carry the position", "[config]") {
  Config c;
  auto r = apply_toml(c, "[server\nport = 1\n", "bad.toml");
  REQUIRE_FALSE(r);
  REQUIRE(r.error().message.rfind("bad.toml:1:", 0) == 0);
}

TEST_CASE("config: environment overrides the file, MP_* over seed names", "[config]") {
  const std::string path = "test_config_env.toml";
  {
    std::ofstream f(path);
    f << "[server]\nport = 9000\n[ai_processing.cache]\nredis_port = 7000\n";
  }
  auto env = fake_env({{"MP_SERVER_PORT", "9001"},
                       {"REDIS_HOST", "seed-host"},
                       {"REDIS_PORT", "6380"},
                       {"MP_AI_PROCESSING_CACHE_REDIS_PORT", "6390"}});
  auto c = load(path, {}, env);
  REQUIRE(c);
  REQUIRE(c->server.port == 9001);
  REQUIRE(c->ai_processing.cache.redis_host == "seed-host");
  REQUIRE(c->ai_processing.cache.redis_port == 6390);
  std::remove(path.c_str());
}

TEST_CASE("config: --set overrides the environment", "[config]") {
  auto c =
      load("", {"server.port=9500", "websocket.redis_enabled=yes"}, fake_env({{"MP_SERVER_PORT", "9001"}}));
  REQUIRE(c);
  REQUIRE(c->server.port == 9500);
  REQUIRE(c->websocket.redis_enabled);
  auto bad = load("", {"server.port"}, fake_env({}));
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().field == "--set");
}

TEST_CASE("config: a bad environment value names the variable", "[config]") {
  auto c = load("", {}, fake_env({{"MP_SERVER_PORT", "eighty"}}));
  REQUIRE_FALSE(c);
  REQUIRE(c.error().message.find("MP_SERVER_PORT") != std::string::npos);
}

TEST_CASE("config: MP_CONFIG names the file when --config does not", "[config]") {
  auto c = load("", {}, fake_env({{"MP_CONFIG", "/nonexistent/mp.toml"}}));
  REQUIRE_FALSE(c);
  REQUIRE(c.error().message.find("/nonexistent/mp.toml") != std::string::npos);
}

TEST_CASE("config: to_json nests sections and hides secrets", "[config]") {
  Config c;
  c.auth.api_keys = "secret-key-123:admin";
  const auto j = to_json(c, false);
  REQUIRE(j.find(R"("server":{"host":"127.0.0.1","port":8002)") != std::string::npos);
  REQUIRE(j.find(R"("rate_limiting":{"requests_per_minute":20)") != std::string::npos);
  REQUIRE(j.find("secret-key-123") == std::string::npos);
  REQUIRE(j.find(R"("api_keys":"***")") != std::string::npos);
}

TEST_CASE("config: every schema key has a distinct MP_ environment name", "[config]") {
  std::map<std::string, int> seen;
  for (const auto& k : schema()) {
    REQUIRE(k.env.rfind("MP_", 0) == 0);
    REQUIRE(++seen[k.env] == 1);
  }
}
