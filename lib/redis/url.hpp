#pragma once
// Where Redis is: `redis://[user:password@]host:port/db`, or the seed's host, port and db.

#include "util/error.hpp"

#include <cstdint>
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
};

/// Parses `redis://[user:password@]host[:port][/db]` (also `[::1]` hosts and a password
/// alone as `redis://:pw@host`); Errc::config naming `field` otherwise.
Expected<RedisUrl> parse_url(std::string_view text, std::string_view field);

} // namespace mp::redis
