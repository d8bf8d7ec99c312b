#pragma once
// The bytes ws_load speaks besides WebSocket frames: URLs, the upgrade key, the two numbers
// it reads out of an event, and the HTTP/1.1 publisher. Used by bench/ws_load.cpp and
// ws_load_worker.cpp only.

#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ws_load {

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

/// Parses and resolves `text`; nullopt when it is not `scheme://...` or the host does not resolve.
std::optional<Url> parse_url(std::string_view text, std::string_view scheme);

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

} // namespace ws_load
