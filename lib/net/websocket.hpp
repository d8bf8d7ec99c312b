#pragma once
// WebSocket connections (RFC 6455, server side) behind the HTTP server, free of Boost
// headers like net/http.hpp; websocket.cpp has the Asio code.
//
// A route accepts an upgrade by answering with Response::websocket(accept): the server
// writes the 101, hands the socket to a WsConnection on the same I/O thread, and from
// then on calls the WsHandler there. A connection lives its whole life on one thread,
// and its methods may only be called on that thread (HttpServer::post reaches it).
//
// What the connection does itself: framing, masking, fragments, UTF-8 checks, ping and
// pong, the close handshake, an inbound rate limit, and a bounded outbound queue in
// priority order. Frames are encoded once (WsFrame) and shared by every connection they
// go to; each connection writes up to `batch_size` of them per system call. On overflow
// it drops the lowest-priority droppable frames, tells the client with a `dropped`
// notice, and closes with 4000 when the queue stays over its bound for `slow_consumer`.
// An idle connection holds no read or write buffer.

#include "util/histogram.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mp::net {

/// Close codes (RFC 6455 section 7.4, plus ours in the 4000 range).
namespace ws_close {
constexpr int normal = 1000;
constexpr int going_away = 1001;
constexpr int protocol_error = 1002;
constexpr int unsupported_data = 1003;
constexpr int invalid_payload = 1007;
constexpr int policy = 1008;
constexpr int too_big = 1009;
constexpr int internal_error = 1011;
constexpr int slow_consumer = 4000;
} // namespace ws_close

/// One encoded server frame, shared by all its recipients.
struct WsFrame {
  std::string bytes;                                 ///< the whole frame: header and payload
  int priority = 2;                                  ///< 0 (urgent) .. 4 (background): the queue's order
  bool droppable = true;                             ///< events are; replies and notices are not
  std::string topic;                                 ///< named in the `dropped` notice
  std::chrono::steady_clock::time_point published{}; ///< for the delivery latency; epoch: none
};
using WsFramePtr = std::shared_ptr<const WsFrame>;

/// A text frame carrying `payload`.
WsFramePtr make_ws_text(std::string_view payload, int priority = 0, bool droppable = false,
                        std::string topic = {}, std::chrono::steady_clock::time_point published = {});

/// Counters every connection adds to; read by the metrics layer.
struct WsCounters {
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::uint64_t> sent{0};    ///< frames written
  std::atomic<std::uint64_t> dropped{0}; ///< frames discarded on overflow
  std::atomic<std::uint64_t> slow_closes{0};
  std::atomic<std::int64_t> queued_bytes{0};
  util::AtomicHistogram* delivery = nullptr; ///< publish to write completion
};

struct WsOptions {
  std::size_t max_message_bytes = 64 << 10;
  std::size_t queue_max_bytes = 1 << 20;
  std::size_t queue_max_messages = 1024;
  std::size_t batch_size = 50;
  std::chrono::milliseconds slow_consumer{10'000};
  std::chrono::milliseconds ping_interval{20'000};
  std::chrono::milliseconds ping_timeout{10'000};
  double inbound_per_second = 50; ///< sustained client messages; bursts of twice that
  WsCounters* counters = nullptr; ///< must outlive the server
};

class WsConnection;

/// The application side of a connection. Called on the connection's thread.
class WsHandler {
public:
  virtual ~WsHandler() = default;
  virtual void on_open(WsConnection& c) = 0;
  virtual void on_text(WsConnection& c, std::string_view text) = 0;
  /// Once, when the connection ends; `reason` is a metric label ("client", "ping_timeout",
  /// "slow_consumer", "rate_limit", "too_big", "protocol", "shutdown", "error").
  virtual void on_close(WsConnection& c, std::string_view reason) = 0;
};

/// What a route hands the server to accept an upgrade.
struct WsAccept {
  std::shared_ptr<WsHandler> handler;
  WsOptions options;
  std::shared_ptr<void> context; ///< the application's state for this connection
};

class WsConnection {
public:
  virtual ~WsConnection() = default;
  /// Queues a frame (in priority order, dropping on overflow as described above).
  virtual void send(const WsFramePtr& frame) = 0;
  /// Sends a close frame with `code` and `reason`, then ends the connection.
  virtual void close(int code, std::string_view reason) = 0;
  [[nodiscard]] virtual std::uint64_t id() const = 0;
  /// The I/O thread it lives on (0-based), for HttpServer::post.
  [[nodiscard]] virtual unsigned thread() const = 0;
  [[nodiscard]] virtual void* context() const = 0;
};

/// While one exists on an I/O thread, WsConnection::send() there only queues; when the
/// last one ends, every connection it held back writes its queue in one batch. Fan-out
/// holds one around a burst of events, so the burst costs one system call per
/// connection rather than one per event.
class WsCork {
public:
  WsCork();
  ~WsCork();
  WsCork(const WsCork&) = delete;
  WsCork& operator=(const WsCork&) = delete;
};

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
std::string ws_accept_key(std::string_view client_key);

} // namespace mp::net
