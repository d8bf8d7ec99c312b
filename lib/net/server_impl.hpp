#pragma once
// The HTTP server's per-thread state, shared by http_server.cpp and websocket.cpp only
// (it includes Asio: never include it from a header of its own).

#include "net/http.hpp"
#include "net/websocket.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>

#include <atomic>
#include <functional>
#include <thread>
#include <unordered_set>

namespace mp::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto k_nothrow = asio::as_tuple(asio::use_awaitable);

class WsSession;

// ---------------------------------------------------------------------------------------
// Per-thread state

class Session;
using Clock = std::chrono::steady_clock;

struct Worker {
  explicit Worker(HttpServer::Impl& s) : server(s), ioc(1), acceptor(ioc), sweeper(ioc) {}
  HttpServer::Impl& server;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer sweeper;            ///< closes sessions past their deadline
  std::unordered_set<Session*> sessions; ///< touched only on this worker's thread
  std::unordered_set<WsSession*> ws_sessions;
  unsigned index = 0;
  std::thread thread;
};

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  ProtocolErrorHook on_error;
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context control{1};
  /// Installed by listen(), so a signal that arrives once the port is announced is
  /// already a graceful stop.
  std::optional<asio::signal_set> signals;
  std::uint16_t bound_port = 0;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> active{0};
  std::atomic<std::uint64_t> accepted{0};
  std::vector<std::function<void()>> drain_hooks;

  void protocol_error(int status) const {
    if (on_error) {
      on_error(status);
    }
  }
  void begin_drain();
  void force_close();
};

/// The `Server:` header's value, "mp/<version>".
const std::string& server_header();
/// HTTP sessions (http_server.cpp): one per accepted connection, and what the sweeper
/// and the drain (http_run.cpp) do with them.
void start_session(Worker& w, tcp::socket socket);
void sweep_sessions(Worker& w, std::chrono::steady_clock::time_point now);
void drain_sessions(Worker& w);
void close_sessions(Worker& w);
/// Starts a WebSocket connection on `w`'s thread over an upgraded socket; `pending` is
/// what the client sent after its upgrade request (websocket.cpp).
void start_websocket(Worker& w, tcp::socket socket, const std::string& pending, WsAccept accept);
/// Called by the sweeper and the drain for WebSocket sessions (websocket.cpp).
void sweep_websockets(Worker& w, std::chrono::steady_clock::time_point now);
void drain_websockets(Worker& w);
void close_websockets(Worker& w);

} // namespace mp::net
