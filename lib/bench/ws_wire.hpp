#pragma once
// The bytes the WebSocket load generator speaks besides WebSocket frames: URLs, the upgrade
// key, the two numbers it reads out of an event, and the HTTP/1.1 publisher of broadcasts.
// Used by ws_worker.cpp, ws_session.cpp and ws_run.cpp (and bench/ws_load.cpp).

#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mp::bench::ws {

inline constexpr std::int64_t k_ns = 1'000'000'000;

inline std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return ts.tv_sec * k_ns + ts.tv_nsec;
}
inline std::int64_t mono_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}
inline std::int64_t real_ns() {
  return clock_ns(CLOCK_REALTIME);
}
inline double seconds(std::int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

/// `SCHEME://HOST[:PORT][/TARGET]`, resolved once (IPv4).
struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  sockaddr_in addr{};
};

/// Splits `SCHEME://HOST[:PORT][/TARGET]` without resolving; nullopt when it is not
/// `scheme://...`, the host is empty or the port is not a number. Pure.
std::optional<Url> split_url(std::string_view text, std::string_view scheme);

/// split_url, then resolves the host (IPv4); nullopt when either fails.
std::optional<Url> parse_url(std::string_view text, std::string_view scheme);

/// True when the query of `url` has a parameter `name` (`?name=` or `&name=`).
bool has_query_param(std::string_view url, std::string_view name);

/// `url` with `name=value` appended to its query (value percent-encoded).
std::string with_query_param(std::string_view url, std::string_view name, std::string_view value);

/// The POST /api/ws/broadcast URL: `publish` when it has a path, `publish` + /api/ws/broadcast
/// when it is a bare `http://host:port`, and `http://` + the host and port of `ws_url` when
/// `publish` is empty. Empty when `ws_url` is needed and is not a ws:// URL.
std::string broadcast_url(std::string_view ws_url, std::string_view publish);

/// Standard base64 of `len` bytes.
std::string base64(const unsigned char* data, int len);

/// The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 section 4.2.2).
std::string accept_for(const std::string& key);

/// The unsigned integer after `key` (and any spaces) in [p, end), or nullopt.
std::optional<std::uint64_t> number_after(const char* p, const char* end, std::string_view key);

/// The number at `q` (as after `"ts":`, e.g. 1796123563.261) as Unix nanoseconds; digits past
/// the ninth decimal are ignored.
std::optional<std::int64_t> parse_ts(const char* q, const char* end);

/// One keep-alive HTTP/1.1 connection for POST /api/ws/broadcast; blocking.
class Publisher {
public:
  Publisher(Url url, std::string token) : m_url(std::move(url)), m_token(std::move(token)) {}
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  ~Publisher() { disconnect(); }

  /// POSTs `body`; returns the HTTP status, 0 when the connection failed (it reconnects
  /// on the next call).
  int post(std::string_view body);

private:
  bool connect_once();
  void disconnect() {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }
  Url m_url;
  std::string m_token;
  std::string m_in;
  int m_fd = -1;
};

} // namespace mp::bench::ws
