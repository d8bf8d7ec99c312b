#include "config/config.hpp"
#include "config/tables.hpp"
#include "util/json.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

namespace mp::config {

namespace {

using Ref = std::variant<std::int64_t*, double*, bool*, std::string*>;

struct KeyDef {
  KeyInfo info;
  Ref (*ref)(Config&) = nullptr;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string_view> choices; ///< allowed strings; empty: any
};

std::string env_name(std::string_view key) {
  std::string out = "MP_";
  for (char c : key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

Kind kind_of(const Ref& r) {
  return static_cast<Kind>(r.index());
}

// The schema: one line a key. The lambdas turn a Config into the field's address.
#define MP_KEY(path, field) path, [](Config& c) -> Ref { return &c.field; }

std::vector<KeyDef> make_schema() {
  struct Row {
    std::string_view key;
    Ref (*ref)(Config&);
    std::string_view help;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    std::vector<std::string_view> choices = {};
    std::vector<std::string_view> aliases = {};
    bool secret = false;
  };
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<Row> rows = {
      {MP_KEY("server.host", server.host), "address to bind (loopback by default)"},
      {MP_KEY("server.port", server.port), "TCP port; 0 picks a free one", 0, 65535},
      {MP_KEY("server.threads", server.threads), "I/O threads; 0 means one per core", 0, 256},
      {MP_KEY("server.max_body_bytes", server.max_body_bytes), "largest request body (413 past it)", 1,
       1 << 30},
      {MP_KEY("server.max_header_bytes", server.max_header_bytes), "largest request header block", 1024,
       1 << 20},
      {MP_KEY("server.read_timeout_ms", server.read_timeout_ms),
       "time to receive a whole request from its first byte", 1, 3'600'000},
      {MP_KEY("server.idle_timeout_ms", server.idle_timeout_ms),
       "time a keep-alive connection may wait for its next request", 1, 86'400'000},
      {MP_KEY("server.write_timeout_ms", server.write_timeout_ms), "time to send one response", 1, 3'600'000},
      {MP_KEY("server.max_pipelined_requests", server.max_pipelined_requests),
       "requests read ahead of their responses on one connection", 1, 1024},
      {MP_KEY("server.max_connections", server.max_connections),
       "open HTTP connections; past it new ones get 503", 1, 10'000'000},
      {MP_KEY("server.shutdown_timeout_ms", server.shutdown_timeout_ms),
       "time SIGTERM waits for in-flight requests", 0, 3'600'000},
      {MP_KEY("server.insecure", server.insecure), "allow a non-loopback bind with no API keys configured"},
      {MP_KEY("auth.keys_file", auth.keys_file), "file of API keys, one KEY[:SCOPE[:USER]] a line"},
      {MP_KEY("auth.api_keys", auth.api_keys),
       "API keys, comma-separated KEY[:SCOPE[:USER]]",
       -inf,
       inf,
       {},
       {"MP_API_KEYS"},
       true},
      {MP_KEY("log.level", log.level),
       "log level",
       -inf,
       inf,
       {"trace", "debug", "info", "warn", "error", "off"}},
      {MP_KEY("log.format", log.format), "log line format", -inf, inf, {"text", "json"}},
      {MP_KEY("ai_processing.provider", ai_processing.provider),
       "AI provider",
       -inf,
       inf,
       {"local", "openai"}},
      {MP_KEY("ai_processing.prompt_version", ai_processing.prompt_version),
       "prompt version; part of every cache key"},
      {MP_KEY("ai_processing.num_workers", ai_processing.num_workers), "most AI worker threads", 1, 1024},
      {MP_KEY("ai_processing.min_workers", ai_processing.min_workers), "fewest AI worker threads", 1, 1024},
      {MP_KEY("ai_processing.max_wait_ms", ai_processing.max_wait_ms), "cap on a request's wait_ms", 0,
       600'000},
      {MP_KEY("ai_processing.max_batch", ai_processing.max_batch), "most requests in one batch call", 1,
       100'000},
      {MP_KEY("ai_processing.cache.redis_host", ai_processing.cache.redis_host),
       "Redis host",
       -inf,
       inf,
       {},
       {"REDIS_HOST"}},
      {MP_KEY("ai_processing.cache.redis_port", ai_processing.cache.redis_port),
       "Redis port",
       1,
       65535,
       {},
       {"REDIS_PORT"}},
      {MP_KEY("ai_processing.cache.redis_db", ai_processing.cache.redis_db), "Redis database", 0, 15},
      {MP_KEY("ai_processing.cache.ttl_seconds", ai_processing.cache.ttl_seconds), "cached result lifetime",
       1, 31'536'000},
      {MP_KEY("ai_processing.cache.max_bytes", ai_processing.cache.max_bytes), "L1 cache byte budget", 0,
       1e12},
      {MP_KEY("ai_processing.cache.compression_level", ai_processing.cache.compression_level),
       "zstd level of cached values", 1, 19},
      {MP_KEY("ai_processing.queue.max_per_level", ai_processing.queue.max_per_level),
       "queued requests per priority level; past it 429", 1, 10'000'000},
      {MP_KEY("ai_processing.queue.aging_ms", ai_processing.queue.aging_ms),
       "each period waited lifts a request one level; 0 disables aging", 0, 86'400'000},
      {MP_KEY("ai_processing.records.ttl_seconds", ai_processing.records.ttl_seconds),
       "how long finished request records stay readable", 1, 604'800},
      {MP_KEY("ai_processing.records.max_entries", ai_processing.records.max_entries),
       "most finished request records kept", 1, 100'000'000},
      {MP_KEY("ai_processing.retry.max_attempts", ai_processing.retry.max_attempts),
       "upstream attempts per request, the first included", 1, 100},
      {MP_KEY("ai_processing.retry.base_delay_ms", ai_processing.retry.base_delay_ms),
       "back-off base (full jitter)", 0, 3'600'000},
      {MP_KEY("ai_processing.retry.max_delay_ms", ai_processing.retry.max_delay_ms),
       "longest single back-off", 0, 3'600'000},
      {MP_KEY("ai_processing.retry.max_total_wait_ms", ai_processing.retry.max_total_wait_ms),
       "cap on all back-offs of one request", 0, 86'400'000},
      {MP_KEY("ai_processing.circuit_breaker.failure_threshold",
              ai_processing.circuit_breaker.failure_threshold),
       "consecutive failed attempts that open the breaker; 0 never", 0, 1'000'000},
      {MP_KEY("ai_processing.circuit_breaker.open_ms", ai_processing.circuit_breaker.open_ms),
       "time the breaker stays open before a probe", 1, 3'600'000},
      {MP_KEY("ai_processing.openai.base_url", ai_processing.openai.base_url),
       "OpenAI-compatible API base (Ollama, llama.cpp, vLLM too)"},
      {MP_KEY("ai_processing.openai.timeout_ms", ai_processing.openai.timeout_ms), "one upstream attempt", 1,
       3'600'000},
      {MP_KEY("ai_processing.openai.connect_timeout_ms", ai_processing.openai.connect_timeout_ms),
       "connecting to the upstream", 1, 600'000},
      {MP_KEY("ai_processing.openai.max_output_tokens", ai_processing.openai.max_output_tokens),
       "answer size cap; also the cost estimate reserved", 1, 1'000'000},
      {MP_KEY("ai_processing.openai.temperature", ai_processing.openai.temperature),
       "sampling temperature; negative: not sent (gpt-5 models refuse any but their default)", -1, 2},
      {MP_KEY("ai_processing.models.classification", ai_processing.models.classification),
       "model for classification"},
      {MP_KEY("ai_processing.models.summary", ai_processing.models.summary), "model for summary"},
      {MP_KEY("ai_processing.models.action_items", ai_processing.models.action_items),
       "model for action_items"},
      {MP_KEY("ai_processing.models.analysis", ai_processing.models.analysis), "model for analysis"},
      {MP_KEY("ai_processing.pricing.default_input_per_million",
              ai_processing.pricing.default_input_per_million),
       "dollars per million input tokens of an unpriced model", 0, 1e6},
      {MP_KEY("ai_processing.pricing.default_output_per_million",
              ai_processing.pricing.default_output_per_million),
       "dollars per million output tokens of an unpriced model", 0, 1e6},
      {MP_KEY("ai_processing.rate_limiting.requests_per_minute",
              ai_processing.rate_limiting.requests_per_minute),
       "upstream requests per minute", 0, 1e9},
      {MP_KEY("ai_processing.rate_limiting.requests_per_hour", ai_processing.rate_limiting.requests_per_hour),
       "upstream requests per hour", 0, 1e12},
      {MP_KEY("ai_processing.rate_limiting.cost_limit_per_hour",
              ai_processing.rate_limiting.cost_limit_per_hour),
       "upstream spend per hour, in dollars", 0, 1e9},
      {MP_KEY("ai_processing.rate_limiting.window_margin_ms", ai_processing.rate_limiting.window_margin_ms),
       "added to the windows: grants arrive upstream a little later, and not all equally", 0, 60'000},
      {MP_KEY("websocket.max_total_connections", websocket.max_total_connections),
       "WebSocket connections in all", 1, 10'000'000},
      {MP_KEY("websocket.max_connections_per_pool", websocket.max_connections_per_pool),
       "WebSocket connections per I/O shard", 1, 10'000'000},
      {MP_KEY("websocket.broadcast_batch_size", websocket.broadcast_batch_size),
       "messages written per socket in one batch", 1, 100'000},
      {MP_KEY("websocket.redis_enabled", websocket.redis_enabled), "fan out through Redis"},
      {MP_KEY("websocket.max_connections_per_user", websocket.max_connections_per_user),
       "WebSocket connections one user may hold; past it 429", 1, 10'000'000},
      {MP_KEY("websocket.max_topics_per_connection", websocket.max_topics_per_connection),
       "topics one connection may subscribe", 1, 100'000},
      {MP_KEY("websocket.max_message_bytes", websocket.max_message_bytes),
       "largest client message; past it close 1009", 125, 64 << 20},
      {MP_KEY("websocket.max_inbound_per_second", websocket.max_inbound_per_second),
       "client messages per second (bursts of twice); past it close 1008; 0: no limit", 0, 1e6},
      {MP_KEY("websocket.send_queue_max_bytes", websocket.send_queue_max_bytes),
       "bytes queued for one connection before events are dropped", 1024, std::int64_t{1} << 32},
      {MP_KEY("websocket.send_queue_max_messages", websocket.send_queue_max_messages),
       "messages queued for one connection before events are dropped", 1, 10'000'000},
      {MP_KEY("websocket.slow_consumer_ms", websocket.slow_consumer_ms),
       "a connection over its queue bound this long is closed with 4000", 1, 3'600'000},
      {MP_KEY("websocket.ping_interval_seconds", websocket.ping_interval_seconds),
       "silence before the server pings; 0: never", 0, 86'400},
      {MP_KEY("websocket.ping_timeout_seconds", websocket.ping_timeout_seconds),
       "a ping unanswered this long cuts the connection", 1, 86'400},
      {MP_KEY("websocket.history_size", websocket.history_size), "events kept per topic for resume", 0,
       10'000'000},
      {MP_KEY("websocket.history_max_age_seconds", websocket.history_max_age_seconds),
       "how long events stay in a topic's history", 1, 604'800},
      {MP_KEY("monitoring.collection_interval_seconds", monitoring.collection_interval_seconds),
       "seconds between metric samples", 1, 86'400},
      {MP_KEY("monitoring.alert_evaluation_interval_seconds", monitoring.alert_evaluation_interval_seconds),
       "seconds between alert evaluations", 1, 86'400},
      {MP_KEY("monitoring.redis_enabled", monitoring.redis_enabled), "share metrics through Redis"},
      {MP_KEY("monitoring.enabled", monitoring.enabled), "collect metrics into the history database"},
      {MP_KEY("monitoring.db_path", monitoring.db_path),
       "the SQLite history file (relative: to the working directory)"},
      {MP_KEY("monitoring.raw_retention_hours", monitoring.raw_retention_hours),
       "how long every sample is kept", 1, 24 * 366},
      {MP_KEY("monitoring.minute_retention_days", monitoring.minute_retention_days),
       "how long minute rollups are kept", 1, 3'660},
      {MP_KEY("monitoring.hour_retention_days", monitoring.hour_retention_days),
       "how long hour rollups are kept", 1, 36'600},
      {MP_KEY("monitoring.apdex_t_ms", monitoring.apdex_t_ms),
       "Apdex threshold T: satisfied within T, tolerating within 4T", 1, 3'600'000},
      {MP_KEY("monitoring.sla.urgent_ms", monitoring.sla.urgent_ms), "urgent requests answered within", 1,
       3.6e6},
      {MP_KEY("monitoring.sla.p50_ms", monitoring.sla.p50_ms), "AI response time P50 bound", 1, 3.6e6},
      {MP_KEY("monitoring.sla.p95_ms", monitoring.sla.p95_ms), "AI response time P95 bound", 1, 3.6e6},
      {MP_KEY("monitoring.sla.p99_ms", monitoring.sla.p99_ms), "AI response time P99 bound", 1, 3.6e6},
      {MP_KEY("monitoring.sla.error_rate_percent", monitoring.sla.error_rate_percent),
       "error rate objective (also the burn-rate alerts' budget)", 0.001, 100},
      {MP_KEY("monitoring.sla.cache_hit_rate_percent", monitoring.sla.cache_hit_rate_percent),
       "cache hit rate objective", 0, 100},
      {MP_KEY("monitoring.webhooks", monitoring.webhooks),
       "comma-separated URLs POSTed every alert notification"},
      {MP_KEY("monitoring.webhook_timeout_ms", monitoring.webhook_timeout_ms), "per webhook attempt", 100,
       600'000},
      {MP_KEY("monitoring.webhook_retries", monitoring.webhook_retries), "attempts after the first", 0, 20},
  };
  std::vector<KeyDef> out;
  Config probe;
  for (auto& r : rows) {
    KeyDef d;
    d.info = KeyInfo{r.key, kind_of(r.ref(probe)), env_name(r.key), r.aliases, r.help, r.secret};
    d.ref = r.ref;
    d.min = r.min;
    d.max = r.max;
    d.choices = r.choices;
    out.push_back(std::move(d));
  }
  return out;
}
#undef MP_KEY

const std::vector<KeyDef>& defs() {
  static const std::vector<KeyDef> d = make_schema();
  return d;
}

const KeyDef* find_def(std::string_view key) {
  for (const auto& d : defs()) {
    if (d.info.key == key) {
      return &d;
    }
  }
  return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_key_message(std::string_view key, std::string_view where) {
  std::string best;
  std::size_t best_d = 4; // suggest only near misses
  for (const auto& d : defs()) {
    const std::size_t dist = edit_distance(key, d.info.key);
    if (dist < best_d) {
      best_d = dist;
      best = d.info.key;
    }
  }
  std::string msg = fmt::format("unknown config key '{}'{}", key, where);
  if (!best.empty()) {
    msg += fmt::format(" (did you mean '{}'?)", best);
  }
  return msg;
}

std::string_view kind_name(Kind k) {
  switch (k) {
  case Kind::integer: return "an integer";
  case Kind::real: return "a number";
  case Kind::boolean: return "a boolean";
  case Kind::string: return "a string";
  }
  return "a value";
}

Expected<void> check_range(const KeyDef& d, double v, std::string_view where) {
  if (v < d.min || v > d.max) {
    return fail(Errc::config,
                fmt::format("{}: {} is out of range [{}, {}]{}", d.info.key, v, d.min, d.max, where),
                std::string(d.info.key));
  }
  return {};
}

Expected<void> check_choice(const KeyDef& d, std::string_view v, std::string_view where) {
  if (d.choices.empty() || std::find(d.choices.begin(), d.choices.end(), v) != d.choices.end()) {
    return {};
  }
  std::string list;
  for (auto c : d.choices) {
    list += list.empty() ? "" : ", ";
    list += c;
  }
  return fail(Errc::config, fmt::format("{}: '{}' is not one of {}{}", d.info.key, v, list, where),
              std::string(d.info.key));
}

Expected<void> type_error(const KeyDef& d, std::string_view got, std::string_view where) {
  return fail(Errc::config,
              fmt::format("{}: expected {}, got {}{}", d.info.key, kind_name(d.info.kind), got, where),
              std::string(d.info.key));
}

// Typed assignment shared by TOML and text sources: range and choice checks live here once.
struct Assign {
  const KeyDef& d;
  Config& cfg;
  std::string_view where;

  Expected<void> integer(std::int64_t v) const {
    Ref r = d.ref(cfg);
    if (std::holds_alternative<double*>(r)) {
      return real(static_cast<double>(v));
    }
    auto* p = std::get_if<std::int64_t*>(&r);
    if (!p) {
      return type_error(d, "an integer", where);
    }
    if (auto ok = check_range(d, static_cast<double>(v), where); !ok) {
      return ok;
    }
    **p = v;
    return {};
  }
  Expected<void> real(double v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<double*>(&r);
    if (!p) {
      return type_error(d, "a number", where);
    }
    if (!std::isfinite(v)) {
      return fail(Errc::config, fmt::format("{}: must be finite{}", d.info.key, where),
                  std::string(d.info.key));
    }
    if (auto ok = check_range(d, v, where); !ok) {
      return ok;
    }
    **p = v;
    return {};
  }
  Expected<void> boolean(bool v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<bool*>(&r);
    if (!p) {
      return type_error(d, "a boolean", where);
    }
    **p = v;
    return {};
  }
  Expected<void> string(std::string_view v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<std::string*>(&r);
    if (!p) {
      return type_error(d, "a string", where);
    }
    if (auto ok = check_choice(d, v, where); !ok) {
      return ok;
    }
    **p = std::string(v);
    return {};
  }
};

Expected<void> apply_node(Config& cfg, const KeyDef& d, const toml::node& node, const std::string& where) {
  Assign a{d, cfg, where};
  if (auto v = node.as_integer()) {
    return a.integer(v->get());
  }
  if (auto v = node.as_floating_point()) {
    return a.real(v->get());
  }
  if (auto v = node.as_boolean()) {
    return a.boolean(v->get());
  }
  if (auto v = node.as_string()) {
    return a.string(v->get());
  }
  return type_error(d, node.is_array() ? "an array" : "a date or time", where);
}

constexpr std::string_view k_price_table = "ai_processing.pricing.models";

// [ai_processing.pricing.models."<model>"] input_per_million = .., output_per_million = ..
// Model names are the user's, so this table is read here rather than from the schema.
Expected<void> apply_prices(Config& cfg, const toml::table& models, std::string_view source) {
  for (auto&& [name, node] : models) {
    const std::string key = fmt::format("{}.{}", k_price_table, name.str());
    const auto& src = node.source();
    const std::string where = fmt::format(" ({}:{}:{})", source, src.begin.line, src.begin.column);
    const auto* t = node.as_table();
    if (!t) {
      return fail(Errc::config,
                  fmt::format("{}: expected a table of input_per_million, output_per_million{}", key, where),
                  key);
    }
    ModelPrice price;
    for (auto&& [field, value] : *t) {
      const std::string fkey = key + "." + std::string(field.str());
      const auto v = value.value<double>();
      if (!v || *v < 0 || !std::isfinite(*v)) {
        return fail(Errc::config, fmt::format("{}: expected a number >= 0{}", fkey, where), fkey);
      }
      if (field.str() == "input_per_million") {
        price.input_per_million = *v;
      } else if (field.str() == "output_per_million") {
        price.output_per_million = *v;
      } else {
        return fail(
            Errc::config,
            fmt::format("unknown config key '{}'{} (input_per_million, output_per_million)", fkey, where),
            fkey);
      }
    }
    cfg.ai_processing.pricing.models[std::string(name.str())] = price;
  }
  return {};
}

Expected<void> apply_table(Config& cfg, const toml::table& table, const std::string& prefix,
                           std::string_view source) {
  for (auto&& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto& src = node.source();
    const std::string where = fmt::format(" ({}:{}:{})", source, src.begin.line, src.begin.column);
    if (const auto* rules = node.as_array(); rules && key == "monitoring.alerts") {
      if (auto ok = apply_alert_rules(cfg, *rules, source); !ok) {
        return ok;
      }
      continue;
    }
    if (const auto* sub = node.as_table(); sub && key == k_price_table) {
      if (auto ok = apply_prices(cfg, *sub, source); !ok) {
        return ok;
      }
      continue;
    }
    if (const auto* sub = node.as_table()) {
      if (find_def(key)) {
        return fail(Errc::config, fmt::format("{}: expected a value, got a table{}", key, where), key);
      }
      if (auto ok = apply_table(cfg, *sub, key, source); !ok) {
        return ok;
      }
      continue;
    }
    const KeyDef* d = find_def(key);
    if (!d) {
      return fail(Errc::config, unknown_key_message(key, where), key);
    }
    if (auto ok = apply_node(cfg, *d, node, where); !ok) {
      return ok;
    }
  }
  return {};
}

Expected<bool> parse_bool(std::string_view t) {
  std::string s;
  for (char c : t) {
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    return true;
  }
  if (s == "false" || s == "0" || s == "no" || s == "off") {
    return false;
  }
  return fail(Errc::config, "not a boolean");
}

} // namespace

const std::vector<KeyInfo>& schema() {
  static const std::vector<KeyInfo> infos = [] {
    std::vector<KeyInfo> v;
    for (const auto& d : defs()) {
      v.push_back(d.info);
    }
    return v;
  }();
  return infos;
}

EnvLookup process_env() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

Expected<void> apply_toml(Config& cfg, std::string_view text, std::string_view source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return fail(Errc::config, fmt::format("{}:{}:{}: {}", source, b.line, b.column, e.description()));
  }
  return apply_table(cfg, table, "", source);
}

Expected<void> apply_toml_file(Config& cfg, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::config, fmt::format("cannot read config file '{}'", path), "--config");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return apply_toml(cfg, ss.str(), path);
}

Expected<void> set_value(Config& cfg, std::string_view key, std::string_view text, std::string_view origin) {
  const KeyDef* d = find_def(key);
  const std::string where = fmt::format(" (from {})", origin);
  if (!d) {
    return fail(Errc::config, unknown_key_message(key, where), std::string(key));
  }
  Assign a{*d, cfg, where};
  switch (d->info.kind) {
  case Kind::integer: {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.integer(v);
  }
  case Kind::real: {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.real(v);
  }
  case Kind::boolean: {
    auto b = parse_bool(text);
    if (!b) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.boolean(*b);
  }
  case Kind::string: return a.string(text);
  }
  return {};
}

Expected<void> apply_assignment(Config& cfg, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return fail(Errc::usage, fmt::format("--set: expected KEY=VALUE, got '{}'", assignment), "--set");
  }
  return set_value(cfg, assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
}

Expected<void> apply_env(Config& cfg, const EnvLookup& env) {
  for (const auto& d : defs()) {
    // Seed aliases first, so the MP_* name wins when both are set.
    for (auto alias : d.info.env_aliases) {
      const std::string name(alias);
      if (const char* v = env(name.c_str())) {
        if (auto ok = set_value(cfg, d.info.key, v, name); !ok) {
          return ok;
        }
      }
    }
    if (const char* v = env(d.info.env.c_str())) {
      if (auto ok = set_value(cfg, d.info.key, v, d.info.env); !ok) {
        return ok;
      }
    }
  }
  return {};
}

std::string to_json(const Config& cfg_in, bool pretty) {
  Config cfg = cfg_in;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  for (const auto& d : defs()) {
    rapidjson::Value* obj = &doc;
    std::string_view key = d.info.key;
    for (auto dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.')) {
      const std::string section(key.substr(0, dot));
      auto it = obj->FindMember(section.c_str());
      if (it == obj->MemberEnd()) {
        obj->AddMember(rapidjson::Value(section.c_str(), alloc), rapidjson::Value(rapidjson::kObjectType),
                       alloc);
        it = obj->FindMember(section.c_str());
      }
      obj = &it->value;
      key = key.substr(dot + 1);
    }
    rapidjson::Value name(std::string(key).c_str(), alloc);
    rapidjson::Value value;
    Ref r = d.ref(cfg);
    if (auto* i = std::get_if<std::int64_t*>(&r)) {
      value.SetInt64(**i);
    } else if (auto* f = std::get_if<double*>(&r)) {
      value.SetDouble(**f);
    } else if (auto* b = std::get_if<bool*>(&r)) {
      value.SetBool(**b);
    } else if (auto* s = std::get_if<std::string*>(&r)) {
      const std::string shown = d.info.secret && !(*s)->empty() ? "***" : **s;
      value.SetString(shown.c_str(), static_cast<rapidjson::SizeType>(shown.size()), alloc);
    }
    obj->AddMember(name, value, alloc);
  }
  rapidjson::Value prices(rapidjson::kObjectType);
  for (const auto& [model, price] : cfg.ai_processing.pricing.models) {
    rapidjson::Value p(rapidjson::kObjectType);
    p.AddMember("input_per_million", price.input_per_million, alloc);
    p.AddMember("output_per_million", price.output_per_million, alloc);
    prices.AddMember(rapidjson::Value(model.c_str(), alloc), p, alloc);
  }
  doc["ai_processing"]["pricing"].AddMember("models", prices, alloc);
  doc["monitoring"].AddMember("alerts", alert_rules_json(cfg, alloc), alloc);
  return util::to_json(doc, pretty);
}

Expected<Config> load(const std::string& file, const std::vector<std::string>& assignments,
                      const EnvLookup& env) {
  Config cfg;
  std::string path = file;
  if (path.empty()) {
    if (const char* p = env("MP_CONFIG"); p && *p) {
      path = p;
    }
  }
  if (!path.empty()) {
    if (auto ok = apply_toml_file(cfg, path); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = apply_env(cfg, env); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& a : assignments) {
    if (auto ok = apply_assignment(cfg, a); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return cfg;
}

} // namespace mp::config
