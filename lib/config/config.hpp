#pragma once
// The effective configuration of every mp tool, and where it comes from.
//
// Precedence, lowest first: the embedded defaults below, the TOML file (`--config` or
// MP_CONFIG), the environment, then flags (`--port`, `--set key=value`). Every key is
// declared once in a schema (config.cpp) that drives parsing, validation, environment
// names, `--print-config` and the test that keeps mp.toml.example complete. An unknown
// key or a bad value is an Errc::config error whose `field` names the key.

#include "util/error.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::config {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::int64_t port = 8002;
  std::int64_t threads = 0; ///< 0: one I/O thread per core
  std::int64_t max_body_bytes = 1 << 20;
  std::int64_t max_header_bytes = 16 << 10;
  std::int64_t read_timeout_ms = 10'000;  ///< a whole request, from its first byte
  std::int64_t idle_timeout_ms = 60'000;  ///< a keep-alive connection between requests
  std::int64_t write_timeout_ms = 10'000; ///< one response
  std::int64_t max_pipelined_requests = 16;
  std::int64_t max_connections = 20'000;
  std::int64_t shutdown_timeout_ms = 10'000;
  bool insecure = false; ///< allow a non-loopback bind with no API keys
};

struct AuthConfig {
  std::string keys_file;
  std::string api_keys; ///< `KEY[:SCOPE[:USER]]`, comma-separated; secret
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";
};

struct CacheConfig {
  bool redis_enabled = false; ///< Redis mode with the host, port and db below
  std::string redis_host = "localhost";
  std::int64_t redis_port = 6379;
  std::int64_t redis_db = 0;
  std::int64_t ttl_seconds = 86'400;
  std::int64_t max_bytes = 256 << 20; ///< L1 budget over compressed values
  std::int64_t compression_level = 3; ///< zstd
};

struct QueueConfig {
  std::int64_t max_per_level = 10'000;
  std::int64_t aging_ms = 10'000; ///< each period waited lifts a request one level
};

struct RecordsConfig {
  std::int64_t ttl_seconds = 3600;
  std::int64_t max_entries = 100'000;
};

struct RetryConfig {
  std::int64_t max_attempts = 4;
  std::int64_t base_delay_ms = 500;
  std::int64_t max_delay_ms = 20'000;
  std::int64_t max_total_wait_ms = 60'000;
};

struct BreakerConfig {
  std::int64_t failure_threshold = 5;
  std::int64_t open_ms = 10'000;
};

struct OpenAiConfig {
  std::string base_url = "https://api.openai.com/v1";
  std::int64_t timeout_ms = 30'000;
  std::int64_t connect_timeout_ms = 5'000;
  std::int64_t max_output_tokens = 800;
  double temperature = -1; ///< < 0: not sent (gpt-5 models accept only their default)
};

struct ModelsConfig {
  std::string classification = "gpt-5-nano";
  std::string summary = "gpt-5-mini";
  std::string action_items = "gpt-5-mini";
  std::string analysis = "gpt-5-mini";
};

/// Dollars per million tokens.
struct ModelPrice {
  double input_per_million = 0;
  double output_per_million = 0;
};

struct PricingConfig {
  double default_input_per_million = 1.0; ///< for models missing from `models`
  double default_output_per_million = 4.0;
  /// [ai_processing.pricing.models."gpt-5-nano"] input_per_million = 0.05 ...
  std::map<std::string, ModelPrice> models = {{"gpt-5-nano", {0.05, 0.40}}, {"gpt-5-mini", {0.25, 2.00}}};
};

struct RateLimitConfig {
  std::int64_t requests_per_minute = 20;
  std::int64_t requests_per_hour = 1000;
  double cost_limit_per_hour = 10.0;
  std::int64_t window_margin_ms = 1000; ///< slack for the delay between grant and arrival upstream
};

struct AiProcessingConfig {
  std::string provider = "local";
  std::string prompt_version = "v1";
  std::int64_t num_workers = 4; ///< the most workers
  std::int64_t min_workers = 1;
  std::int64_t max_wait_ms = 30'000; ///< cap on a request's wait_ms
  std::int64_t max_batch = 1000;
  CacheConfig cache;
  RateLimitConfig rate_limiting;
  QueueConfig queue;
  RecordsConfig records;
  RetryConfig retry;
  BreakerConfig circuit_breaker;
  OpenAiConfig openai;
  ModelsConfig models;
  PricingConfig pricing;
};

struct WebsocketConfig {
  std::int64_t max_total_connections = 10'000;
  std::int64_t max_connections_per_pool = 100;
  std::int64_t broadcast_batch_size = 50;
  bool redis_enabled = false;
  std::int64_t max_connections_per_user = 1'000;
  std::int64_t max_topics_per_connection = 64;
  std::int64_t max_message_bytes = 65'536;
  double max_inbound_per_second = 50;
  std::int64_t send_queue_max_bytes = 1 << 20;
  std::int64_t send_queue_max_messages = 1'024;
  std::int64_t slow_consumer_ms = 10'000;
  std::int64_t ping_interval_seconds = 20;
  std::int64_t ping_timeout_seconds = 10;
  std::int64_t history_size = 1'000;
  std::int64_t history_max_age_seconds = 300;
};

/// One `[[monitoring.alerts]]` entry (the seed's AlertThreshold plus timing), checked
/// when the config is read; the monitor turns it into a rule.
struct AlertRuleConfig {
  std::string name; ///< default: metric_name, condition and value
  std::string metric_name;
  std::string condition = ">"; ///< > < >= <= == !=
  double value = 0;
  std::string severity = "warning"; ///< info, warning, critical
  std::string description;
  double for_seconds = 0;
  double cooldown_seconds = 300;
  std::optional<double> clear_value;
  double escalate_after_seconds = 0;
  std::string no_data = "keep"; ///< keep, resolve, alert
};

struct SlaConfig {
  double urgent_ms = 2'000;
  double p50_ms = 500;
  double p95_ms = 1'500;
  double p99_ms = 2'000;
  double error_rate_percent = 1.0;
  double cache_hit_rate_percent = 90;
};

struct MonitoringConfig {
  std::int64_t collection_interval_seconds = 30;
  std::int64_t alert_evaluation_interval_seconds = 60;
  bool redis_enabled = false;
  bool enabled = true;
  std::string db_path = "mp-metrics.db";
  std::int64_t raw_retention_hours = 24;
  std::int64_t minute_retention_days = 7;
  std::int64_t hour_retention_days = 90;
  double apdex_t_ms = 500;
  SlaConfig sla;
  std::string webhooks; ///< comma-separated URLs that get every alert notification
  std::int64_t webhook_timeout_ms = 5'000;
  std::int64_t webhook_retries = 3;
  std::vector<AlertRuleConfig> alerts;
};

/// Shared state for several instances (DESIGN.md section 4). Redis mode is on when `url`
/// is set, or when ai_processing.cache.redis_enabled or websocket.redis_enabled is true
/// (then the seed's redis_host, redis_port and redis_db say where).
struct RedisConfig {
  std::string url; ///< redis://[user:password@]host:port/db; empty: embedded
  std::int64_t connect_timeout_ms = 1'000;
  std::int64_t command_timeout_ms = 1'000;
  std::int64_t pool_size = 8;
  bool shared_queue = true;                    ///< one queue for every instance (Redis Streams)
  std::int64_t visibility_timeout_ms = 15'000; ///< a claim not renewed this long is reclaimed
  std::int64_t max_deliveries = 5;             ///< a request handed out more often fails
};

struct Config {
  ServerConfig server;
  RedisConfig redis;
  AuthConfig auth;
  LogConfig log;
  AiProcessingConfig ai_processing;
  WebsocketConfig websocket;
  MonitoringConfig monitoring;
};

enum class Kind { integer, real, boolean, string };

/// A key of the schema, for documentation and tests.
struct KeyInfo {
  std::string_view key; ///< dotted: "server.port"
  Kind kind = Kind::string;
  std::string env;                           ///< MP_SERVER_PORT
  std::vector<std::string_view> env_aliases; ///< seed names (REDIS_HOST), lower precedence
  std::string_view help;
  bool secret = false; ///< redacted by to_json
};

/// Every key, in documentation order.
const std::vector<KeyInfo>& schema();

/// Reads environment variables; tests pass a fake.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup process_env();

/// Applies a TOML document. `source` names it in errors ("mp.toml").
Expected<void> apply_toml(Config& cfg, std::string_view text, std::string_view source);
/// Reads and applies a TOML file; Errc::config when it cannot be read.
Expected<void> apply_toml_file(Config& cfg, const std::string& path);
/// Applies every MP_* (and seed-alias) variable that is set.
Expected<void> apply_env(Config& cfg, const EnvLookup& env);
/// Sets one key from text, as a flag or `--set` gives it. `origin` names the source
/// in errors ("--port", "--set", "MP_SERVER_PORT").
Expected<void> set_value(Config& cfg, std::string_view key, std::string_view text, std::string_view origin);
/// Parses `key=value` and sets it.
Expected<void> apply_assignment(Config& cfg, std::string_view assignment);

/// The effective configuration as nested JSON, secrets shown as "***" when set.
std::string to_json(const Config& cfg, bool pretty = true);

/// The whole load: defaults, file (explicit path, else MP_CONFIG), environment,
/// assignments. Flags the caller owns are applied after this with set_value.
Expected<Config> load(const std::string& file, const std::vector<std::string>& assignments,
                      const EnvLookup& env);

} // namespace mp::config
