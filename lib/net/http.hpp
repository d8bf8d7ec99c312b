#pragma once
// The HTTP server's interface, free of Boost headers so the rest of mp compiles fast;
// only http_server.cpp includes Beast.
//
// A handler gets a Request and a Responder and answers by calling Responder::send
// exactly once, now or later from any thread; the connection's next responses wait in
// order (HTTP/1.1 pipelining). A Responder dropped unanswered sends a 500, so a
// forgotten path cannot hang a client.

#include "util/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mp::net {

struct WsAccept; // net/websocket.hpp

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8002;
  unsigned threads = 0; ///< 0: one per core
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_pipelined = 16;
  std::size_t max_connections = 20'000;
  std::chrono::milliseconds shutdown_timeout{10'000};
};

/// One parsed request. It, and every view it returns, stays valid until its response
/// has been sent.
class Request {
public:
  [[nodiscard]] std::string_view method() const { return m_method; }
  [[nodiscard]] std::string_view target() const { return m_target; }
  [[nodiscard]] std::string_view path() const { return m_path; }
  [[nodiscard]] std::string_view query() const { return m_query; }
  [[nodiscard]] const std::string& body() const { return *m_body; }
  [[nodiscard]] const std::string& remote() const { return *m_remote; }
  /// A header's value; empty when absent. Names are case-insensitive.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  /// The value of query parameter `name` (not percent-decoded); nullopt when absent.
  [[nodiscard]] std::optional<std::string_view> query_param(std::string_view name) const;
  /// A GET asking to switch to WebSocket (`Upgrade: websocket`).
  [[nodiscard]] bool is_websocket_upgrade() const { return m_upgrade; }

private:
  friend class Session;
  const void* m_message = nullptr; ///< the Beast message
  std::string_view m_method, m_target, m_path, m_query;
  const std::string* m_body = nullptr;
  const std::string* m_remote = nullptr;
  bool m_upgrade = false;
};

struct Response {
  int status = 200;
  std::string body;
  /// Must outlive the response: a literal, as every caller uses.
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// Set by upgrade(): the server answers 101 and hands the connection over.
  std::shared_ptr<WsAccept> websocket;

  /// A JSON error object `{"error":{"code","message","field"?}}`.
  static Response error(int status, std::string_view code, std::string_view message,
                        std::string_view field = {});
  static Response json(std::string body, int status = 200);
  /// Accepts a WebSocket upgrade (only for a request with is_websocket_upgrade()).
  static Response upgrade(WsAccept accept);
};

struct Slot;

/// Answers one request. Copyable; the first send() wins, later ones are ignored; when
/// the last copy is destroyed unanswered, the client gets a 500. Thread-safe.
class Responder {
public:
  explicit Responder(std::shared_ptr<Slot> slot);
  Responder(const Responder& other);
  Responder(Responder&& other) noexcept = default;
  Responder& operator=(const Responder& other);
  Responder& operator=(Responder&& other) noexcept;
  ~Responder();
  void send(Response response) const;

private:
  void release();
  std::shared_ptr<Slot> m_slot;
};

using Handler = std::function<void(const Request&, Responder)>;

/// Called on every request the server itself answers (400, 413, 431, 503) before a
/// handler sees it: for metrics.
using ProtocolErrorHook = std::function<void(int status)>;

/// The HTTP/1.1 server: N I/O threads, each with its own io_context and SO_REUSEPORT
/// acceptor, C++20 coroutines per connection, keep-alive, pipelining up to
/// `max_pipelined` requests, limits and timeouts on every read and write.
class HttpServer {
public:
  HttpServer(ServerOptions options, Handler handler, ProtocolErrorHook on_error = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and listens; Errc::unavailable when the address cannot be bound.
  Expected<void> listen();
  /// The bound port (useful after listening on port 0).
  [[nodiscard]] std::uint16_t port() const;
  /// Serves until stopped by SIGTERM/SIGINT or stop(), then drains: stops accepting,
  /// finishes in-flight requests (up to `shutdown_timeout`), closes idle keep-alive
  /// connections, and returns. A second signal cuts the drain short.
  void run();
  /// Starts the drain from any thread.
  void stop();
  /// Called once, on the control thread, when the drain begins (before connections close).
  void on_drain(std::function<void()> hook);
  /// Runs `fn` on I/O thread `thread` (0 .. threads()-1), e.g. to reach its WebSocket
  /// connections. Safe from any thread; dropped once the server has stopped.
  void post(unsigned thread, std::function<void()> fn);
  /// The index of the I/O thread calling this, or -1 on any other thread.
  static int current_thread();

  [[nodiscard]] bool draining() const;
  [[nodiscard]] std::size_t active_connections() const;
  [[nodiscard]] std::uint64_t connections_accepted() const;
  [[nodiscard]] unsigned threads() const;

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

} // namespace mp::net
