#pragma once
// Where Redis is: `redis://[user:password@]host:port/db`, or the seed's host, port and db.

#include "config/config.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::redis {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;     ///< empty: AUTH with the password alone (or no AUTH)
  std::string password; ///< empty: no AUTH
  /// The URL with the password as `***`, for logs and errors.
  [[nodiscard]] std::string redacted() const;
  /// A pub/sub channel of this database: `mp:req:done` -> `mp:<db>:req:done`. Channels are
  /// server-wide in Redis, unlike keys, so deployments on two databases of one server
  /// would otherwise hear each other's broadcasts, completions and invalidations.
  [[nodiscard]] std::string channel(std::string_view name) const;
};

/// Parses `redis://[user:password@]host[:port][/db]` (also `[::1]` hosts and a password
/// alone as `redis://:pw@host`); Errc::config naming `field` otherwise.
Expected<RedisUrl> parse_url(std::string_view text, std::string_view field);

/// Where Redis is for this config, or nullopt in embedded mode: redis.url when set, else
/// the seed's ai_processing.cache.redis_host/port/db when ai_processing.cache.redis_enabled
/// or websocket.redis_enabled is true. Errc::config naming redis.url for a bad URL.
Expected<std::optional<RedisUrl>> from_config(const config::Config& cfg);

} // namespace mp::redis
