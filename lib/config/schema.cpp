// The config schema: one line a key (config/schema.hpp).

#include "config/schema.hpp"

#include <cctype>

namespace mp::config::detail {

namespace {
Kind kind_of(const Ref& r) {
  return static_cast<Kind>(r.index());
}
} // namespace

std::string env_name(std::string_view key) {
  std::string out = "MP_";
  for (char c : key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
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
      {MP_KEY("redis.url", redis.url),
       "Redis for shared state: redis://[user:password@]host:port/db (empty: embedded)",
       -inf,
       inf,
       {},
       {"REDIS_URL"},
       true},
      {MP_KEY("redis.connect_timeout_ms", redis.connect_timeout_ms), "Redis connect timeout", 1, 60'000},
      {MP_KEY("redis.command_timeout_ms", redis.command_timeout_ms), "Redis command timeout", 1, 60'000},
      {MP_KEY("redis.pool_size", redis.pool_size), "idle Redis connections kept per instance", 1, 256},
      {MP_KEY("redis.shared_queue", redis.shared_queue),
       "one request queue for every instance (Redis Streams); false: each instance queues its own"},
      {MP_KEY("redis.visibility_timeout_ms", redis.visibility_timeout_ms),
       "a claimed request whose instance stops renewing it this long is run by another", 500, 3'600'000},
      {MP_KEY("redis.max_deliveries", redis.max_deliveries),
       "a request handed out more often than this fails instead (it keeps killing its instances)", 1, 1000},
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
      {MP_KEY("ai_processing.cache.redis_enabled", ai_processing.cache.redis_enabled),
       "Redis mode at redis_host, redis_port, redis_db (when redis.url is empty)"},
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

} // namespace mp::config::detail
