// The HTTP server's life: binding (one SO_REUSEPORT acceptor per I/O thread), the
// accept loops, the deadline sweeper, signals and the drain. The connections themselves
// are in http_server.cpp (HTTP) and websocket.cpp.

#include "net/server_impl.hpp"
#include "util/json.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace mp::net {

// ---------------------------------------------------------------------------------------
// Accepting, running, draining

namespace {

asio::awaitable<void> refuse(tcp::socket socket) {
  // Over max_connections: a complete answer, then close. Cheap: no session is created.
  static const std::string k_body = util::error_body("unavailable", "too many open connections");
  static const std::string k_resp =
      fmt::format("HTTP/1.1 503 Service Unavailable\r\nServer: {}\r\nContent-Type: application/json\r\n"
                  "Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
                  server_header(), k_body.size(), k_body);
  co_await asio::async_write(socket, asio::buffer(k_resp), k_nothrow);
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

// Timeouts without a timer per operation: each session keeps deadlines, and this loop
// closes the ones that have passed. 100 ms of slack on timeouts of seconds.
asio::awaitable<void> sweep_loop(Worker& w) {
  for (;;) {
    w.sweeper.expires_after(std::chrono::milliseconds(100));
    auto [ec] = co_await w.sweeper.async_wait(k_nothrow);
    if (ec || (!w.acceptor.is_open() && w.sessions.empty() && w.ws_sessions.empty())) {
      co_return;
    }
    const auto now = Clock::now();
    sweep_websockets(w, now);
    sweep_sessions(w, now);
  }
}

asio::awaitable<void> accept_loop(Worker& w) {
  auto& server = w.server;
  for (;;) {
    auto [ec, socket] = co_await w.acceptor.async_accept(k_nothrow);
    if (ec) {
      if (!w.acceptor.is_open() || ec == asio::error::operation_aborted) {
        co_return;
      }
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(w.ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(k_nothrow);
      continue;
    }
    server.accepted.fetch_add(1, std::memory_order_relaxed);
    if (server.active.load(std::memory_order_relaxed) >= server.options.max_connections) {
      server.protocol_error(503);
      asio::co_spawn(w.ioc, refuse(std::move(socket)), asio::detached);
      continue;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    server.active.fetch_add(1, std::memory_order_relaxed);
    start_session(w, std::move(socket));
  }
}

} // namespace

void HttpServer::Impl::begin_drain() {
  if (draining.exchange(true)) {
    return;
  }
  spdlog::info("draining: {} connection(s) open", active.load());
  for (auto& hook : drain_hooks) {
    hook();
  }
  for (auto& w : workers) {
    asio::post(w->ioc, [wp = w.get()] {
      beast::error_code ec;
      wp->acceptor.close(ec);
      drain_sessions(*wp);
      drain_websockets(*wp);
    });
  }
}

void HttpServer::Impl::force_close() {
  for (auto& w : workers) {
    asio::post(w->ioc, [wp = w.get()] {
      close_sessions(*wp);
      close_websockets(*wp);
    });
  }
}

HttpServer::HttpServer(ServerOptions options, Handler handler, ProtocolErrorHook on_error)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->options = std::move(options);
  m_impl->handler = std::move(handler);
  m_impl->on_error = std::move(on_error);
  unsigned n = m_impl->options.threads;
  if (n == 0) {
    n = std::max(1u, std::thread::hardware_concurrency());
  }
  for (unsigned i = 0; i < n; ++i) {
    m_impl->workers.push_back(std::make_unique<Worker>(*m_impl));
    m_impl->workers.back()->index = i;
  }
}

HttpServer::~HttpServer() {
  for (auto& w : m_impl->workers) {
    w->ioc.stop();
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
}

Expected<void> HttpServer::listen() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(m_impl->options.host, ec);
  if (ec) {
    return fail(Errc::config, fmt::format("server.host: '{}' is not an IP address", m_impl->options.host),
                "server.host");
  }
  std::uint16_t port = m_impl->options.port;
  // SO_REUSEPORT would let a second mp-serve join this port and silently take half the
  // connections. A plain bind first fails if anyone already listens there.
  if (port != 0) {
    tcp::acceptor probe(m_impl->control);
    tcp::endpoint ep(address, port);
    probe.open(ep.protocol(), ec);
    if (!ec) {
      probe.set_option(asio::socket_base::reuse_address(true), ec);
      probe.bind(ep, ec);
    }
    if (ec) {
      return fail(Errc::unavailable,
                  fmt::format("cannot listen on {}:{}: {}", m_impl->options.host, port, ec.message()),
                  "server.port");
    }
  }
  for (auto& w : m_impl->workers) {
    tcp::endpoint ep(address, port);
    auto& a = w->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) {
      a.set_option(asio::socket_base::reuse_address(true), ec);
      using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
      a.set_option(reuse_port(true), ec);
      a.bind(ep, ec);
    }
    if (!ec) {
      a.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return fail(Errc::unavailable,
                  fmt::format("cannot listen on {}:{}: {}", m_impl->options.host, port, ec.message()),
                  "server.port");
    }
    port = a.local_endpoint().port(); // port 0: every acceptor shares the first one's
  }
  m_impl->bound_port = port;
  m_impl->signals.emplace(m_impl->control, SIGINT, SIGTERM);
  return {};
}

std::uint16_t HttpServer::port() const {
  return m_impl->bound_port;
}
bool HttpServer::draining() const {
  return m_impl->draining.load();
}
std::size_t HttpServer::active_connections() const {
  return m_impl->active.load();
}
std::uint64_t HttpServer::connections_accepted() const {
  return m_impl->accepted.load();
}
unsigned HttpServer::threads() const {
  return static_cast<unsigned>(m_impl->workers.size());
}

void HttpServer::on_drain(std::function<void()> hook) {
  m_impl->drain_hooks.push_back(std::move(hook));
}

namespace {
thread_local int t_io_thread = -1;
}

void HttpServer::post(unsigned thread, std::function<void()> fn) {
  if (thread < m_impl->workers.size()) {
    asio::post(m_impl->workers[thread]->ioc, std::move(fn));
  }
}

int HttpServer::current_thread() {
  return t_io_thread;
}

void HttpServer::stop() {
  asio::post(m_impl->control, [impl = m_impl.get()] { impl->begin_drain(); });
}

void HttpServer::run() {
  auto& impl = *m_impl;
  for (auto& w : impl.workers) {
    asio::co_spawn(w->ioc, accept_loop(*w), asio::detached);
    asio::co_spawn(w->ioc, sweep_loop(*w), asio::detached);
    w->thread = std::thread([wp = w.get()] {
      t_io_thread = static_cast<int>(wp->index);
      wp->ioc.run();
    });
  }
  if (!impl.signals) {
    impl.signals.emplace(impl.control, SIGINT, SIGTERM);
  }
  asio::signal_set& signals = *impl.signals;
  asio::steady_timer poll(impl.control);
  std::chrono::steady_clock::time_point deadline{};
  bool forced = false;
  bool finished = false;

  // Drain watch: poll every 20 ms until the connections are gone or the deadline passes.
  std::function<void()> watch = [&] {
    if (impl.active.load() == 0) {
      finished = true;
      signals.cancel();
      return;
    }
    if (!forced && std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("shutdown timeout: closing {} connection(s)", impl.active.load());
      impl.force_close();
      forced = true;
    }
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](beast::error_code ec) {
      if (!ec) {
        watch();
      }
    });
  };
  auto start_drain = [&] {
    if (deadline != std::chrono::steady_clock::time_point{}) {
      return;
    }
    deadline = std::chrono::steady_clock::now() + impl.options.shutdown_timeout;
    impl.begin_drain();
    watch();
  };
  std::function<void(beast::error_code, int)> on_signal = [&](beast::error_code ec, int sig) {
    if (ec) {
      return;
    }
    if (impl.draining.load()) {
      spdlog::warn("second signal {}: closing now", sig);
      impl.force_close();
      forced = true;
    } else {
      spdlog::info("signal {}: shutting down", sig);
      start_drain();
    }
    if (!finished) {
      signals.async_wait(on_signal);
    }
  };
  signals.async_wait(on_signal);
  // stop() posts begin_drain directly; route it through start_drain so the watch runs.
  impl.drain_hooks.insert(impl.drain_hooks.begin(), [&] {
    if (deadline == std::chrono::steady_clock::time_point{}) {
      deadline = std::chrono::steady_clock::now() + impl.options.shutdown_timeout;
      asio::post(impl.control, watch);
    }
  });
  impl.control.run();
  for (auto& w : impl.workers) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
  spdlog::info("stopped");
}

} // namespace mp::net
