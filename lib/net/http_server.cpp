// The Beast HTTP/1.1 server behind net/http.hpp.
//
// Threads: one io_context per I/O thread, each with its own acceptor on the same port
// (SO_REUSEPORT), so the kernel spreads connections and a connection lives its whole
// life on one thread: no strands, no locks on the per-connection path. A control
// io_context on the thread that called run() owns the signals and the drain.
//
// A connection is two coroutines sharing one Session: the reader parses requests and
// hands each to the handler, queueing a slot for its response; the writer sends the
// slots in order as they complete. The reader stops reading while `max_pipelined`
// responses are outstanding, so one connection's memory is bounded. The two wake each
// other with steady_timers used as events (cancel() wakes a waiter); both run on the
// same single-threaded io_context, so the state between them needs no lock.
//
// Timeouts: a keep-alive connection waits at most `idle_timeout` for the first byte of
// its next request; from that byte, the whole request must arrive within
// `read_timeout` (no slowloris); each response must be written within `write_timeout`.

#include "net/server_impl.hpp"
#include "util/json.hpp"

#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <fmt/format.h>

namespace mp::net {

namespace http = beast::http;

namespace {
using Message = http::request<http::string_body>;
const std::string k_server_header = "mp/" MP_VERSION;

// "HTTP/1.1 200 OK\r\nServer: mp/x.y.z\r\n" for every status, built once: the response
// head is appended by hand because formatting it was 12% of a request's instructions.
bool wants_continue(const Message& m) {
  auto it = m.find(http::field::expect);
  return it != m.end() && beast::iequals(it->value(), "100-continue") && m.version() >= 11;
}

// `Upgrade: websocket` on a GET (the Connection header's "upgrade" token is not checked:
// some proxies rewrite it, and the Upgrade header alone is unambiguous).
bool is_upgrade(const Message& m) {
  if (m.method() != http::verb::get) {
    return false;
  }
  auto it = m.find(http::field::upgrade);
  return it != m.end() && beast::iequals(it->value(), "websocket");
}

const std::string& status_prefix(int status) {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(600);
    for (int code = 100; code < 600; ++code) {
      const auto reason = http::obsolete_reason(static_cast<http::status>(code));
      t[static_cast<std::size_t>(code)] = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) +
                                          "\r\nServer: " + k_server_header + "\r\n";
    }
    return t;
  }();
  return table[static_cast<std::size_t>(status >= 100 && status < 600 ? status : 500)];
}

void append_head(std::string& out, const Response& r, unsigned version) {
  const std::size_t at = out.size();
  out += status_prefix(r.status);
  if (version == 10) {
    out[at + 7] = '0'; // "HTTP/1.0"
  }
  out += "Content-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.body.size());
  out.append(digits, end);
  out += "\r\n";
}
} // namespace

// ---------------------------------------------------------------------------------------
// Request / Response

std::string_view Request::header(std::string_view name) const {
  const auto& msg = *static_cast<const Message*>(m_message);
  auto it = msg.find(name);
  return it == msg.end() ? std::string_view{} : std::string_view(it->value());
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  std::string_view q = m_query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Response Response::error(int status, std::string_view code, std::string_view message,
                         std::string_view field) {
  return Response{status, util::error_body(code, message, field), "application/json", {}, {}};
}

Response Response::json(std::string body, int status) {
  return Response{status, std::move(body), "application/json", {}, {}};
}

Response Response::upgrade(WsAccept accept) {
  Response r;
  r.status = 101;
  r.websocket = std::make_shared<WsAccept>(std::move(accept));
  return r;
}

/// One request's place in its connection's response order, and the state its
/// Responders share (one allocation per request for both).
struct Slot {
  Message message;
  Request request;
  std::optional<Response> response;
  bool close_after = false; ///< the connection ends after this response
  bool linger = false;      ///< the client may still be sending: read and discard before closing
  std::weak_ptr<Session> session;
  asio::any_io_executor executor;
  std::atomic<int> responders{0}; ///< live Responder copies
  std::atomic<bool> sent{false};

  /// Hands `r` to the session on its own thread (inline when already there); only the
  /// first call counts.
  static void deliver(const std::shared_ptr<Slot>& slot, Response r);
};

// ---------------------------------------------------------------------------------------
// Session

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(Worker& worker, tcp::socket socket)
      : m_worker(worker), m_options(worker.server.options), m_socket(std::move(socket)),
        m_buffer(m_options.max_header_bytes + m_options.max_body_bytes + 4096),
        m_writer_wake(m_socket.get_executor()), m_reader_wake(m_socket.get_executor()) {
    beast::error_code ec;
    auto ep = m_socket.remote_endpoint(ec);
    m_remote = ec ? std::string("?") : ep.address().to_string();
    m_worker.sessions.insert(this);
  }

  ~Session() {
    m_worker.sessions.erase(this);
    m_worker.server.active.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(m_socket.get_executor(), reader(self), asio::detached);
    asio::co_spawn(m_socket.get_executor(), writer(self), asio::detached);
  }

  /// The server began draining: an idle connection closes now, a busy one after its
  /// outstanding responses.
  void drain() {
    if (m_idle && m_pending.empty()) {
      close();
    }
    m_writer_wake.cancel();
    m_reader_wake.cancel();
  }

  /// Closes the socket if a read or write has run past its deadline. A connection
  /// waiting for its next request while an answer is still being computed (a long
  /// poll) is not idle: its idle clock starts when the answer has been written.
  void sweep(Clock::time_point now) {
    const bool waiting_on_us = m_idle && !m_pending.empty();
    if ((now >= m_read_deadline && !waiting_on_us) || now >= m_write_deadline) {
      close();
    }
  }

  void close() {
    if (m_closed) {
      return;
    }
    m_closed = true;
    beast::error_code ec;
    m_socket.shutdown(tcp::socket::shutdown_both, ec);
    m_socket.close(ec);
    m_writer_wake.cancel();
    m_reader_wake.cancel();
  }

  /// Called on this session's thread when a handler answers.
  void complete(const std::shared_ptr<Slot>& slot, Response r) {
    slot->response = std::move(r);
    // Inside dispatch the reader flushes by itself; later answers wake the writer.
    if (!m_in_dispatch && !m_writing) {
      m_writer_wake.cancel();
    }
  }

private:
  static asio::awaitable<void> wait(asio::steady_timer& t) {
    t.expires_at(asio::steady_timer::time_point::max());
    co_await t.async_wait(k_nothrow);
  }

  bool draining() const { return m_worker.server.draining.load(std::memory_order_relaxed); }
  bool front_ready() const { return !m_pending.empty() && m_pending.front()->response.has_value(); }

  asio::awaitable<void> reader(std::shared_ptr<Session> self);
  asio::awaitable<void> writer(std::shared_ptr<Session> self);
  asio::awaitable<bool> read_request(http::request_parser<http::string_body>& parser);
  asio::awaitable<void> flush();
  asio::awaitable<void> switch_protocols(std::shared_ptr<Slot> slot);
  asio::awaitable<void> linger_close();
  void push_error(int status, std::string_view code, std::string_view message);
  void dispatch(const std::shared_ptr<Slot>& slot);

  Worker& m_worker;
  const ServerOptions& m_options;
  tcp::socket m_socket;
  beast::flat_buffer m_buffer;
  asio::steady_timer m_writer_wake;
  asio::steady_timer m_reader_wake;
  std::deque<std::shared_ptr<Slot>> m_pending;
  std::string m_remote;
  std::string m_wire; ///< serialised responses of the write in progress
  Clock::time_point m_read_deadline = Clock::time_point::max();
  Clock::time_point m_write_deadline = Clock::time_point::max();
  bool m_idle = false;         ///< the reader waits for the first byte of a request
  bool m_reading_done = false; ///< no more requests will be queued
  bool m_in_dispatch = false;
  bool m_writing = false;
  bool m_closed = false;
};

void Slot::deliver(const std::shared_ptr<Slot>& slot, Response r) {
  if (slot->sent.exchange(true)) {
    return;
  }
  asio::dispatch(slot->executor, [slot, r = std::move(r)]() mutable {
    if (auto s = slot->session.lock()) {
      s->complete(slot, std::move(r));
    }
  });
}

Responder::Responder(std::shared_ptr<Slot> slot) : m_slot(std::move(slot)) {
  m_slot->responders.fetch_add(1);
}

Responder::Responder(const Responder& other) : m_slot(other.m_slot) {
  if (m_slot) {
    m_slot->responders.fetch_add(1);
  }
}

Responder& Responder::operator=(const Responder& other) {
  if (this != &other) {
    release();
    m_slot = other.m_slot;
    if (m_slot) {
      m_slot->responders.fetch_add(1);
    }
  }
  return *this;
}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    release();
    m_slot = std::move(other.m_slot);
  }
  return *this;
}

Responder::~Responder() {
  release();
}

void Responder::release() {
  if (m_slot && m_slot->responders.fetch_sub(1) == 1 && !m_slot->sent.load()) {
    Slot::deliver(m_slot, Response::error(500, "internal", "the handler did not answer"));
  }
  m_slot.reset();
}

void Responder::send(Response response) const {
  Slot::deliver(m_slot, std::move(response));
}

void Session::push_error(int status, std::string_view code, std::string_view message) {
  auto slot = std::make_shared<Slot>();
  slot->response = Response::error(status, code, message);
  slot->close_after = true;
  slot->linger = true;
  m_pending.push_back(std::move(slot));
  m_worker.server.protocol_error(status);
}

void Session::dispatch(const std::shared_ptr<Slot>& slot) {
  Message& m = slot->message;
  Request& r = slot->request;
  r.m_message = &m;
  r.m_method = m.method_string();
  r.m_target = m.target();
  const auto q = r.m_target.find('?');
  r.m_path = r.m_target.substr(0, q);
  r.m_query = q == std::string_view::npos ? std::string_view{} : r.m_target.substr(q + 1);
  r.m_body = &m.body();
  r.m_remote = &m_remote;
  r.m_upgrade = is_upgrade(m);

  slot->session = weak_from_this();
  slot->executor = m_socket.get_executor();
  m_in_dispatch = true;
  if (r.m_upgrade) {
    // RFC 6455 4.2.1: a key, and version 13 (426 tells the client which one we speak).
    const auto key = r.header("Sec-WebSocket-Key");
    if (r.header("Sec-WebSocket-Version") != "13") {
      Response e = Response::error(426, "upgrade_required", "Sec-WebSocket-Version must be 13",
                                   "Sec-WebSocket-Version");
      e.headers.emplace_back("Sec-WebSocket-Version", "13");
      Slot::deliver(slot, std::move(e));
      m_in_dispatch = false;
      return;
    }
    if (key.size() != 24) {
      Slot::deliver(slot, Response::error(400, "bad_request", "Sec-WebSocket-Key must be 16 bytes in base64",
                                          "Sec-WebSocket-Key"));
      m_in_dispatch = false;
      return;
    }
  }
  try {
    m_worker.server.handler(r, Responder(slot));
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} threw: {}", r.method(), r.path(), e.what());
    Slot::deliver(slot, Response::error(500, "internal", "internal error"));
  }
  m_in_dispatch = false;
}

// Reads one request into `parser`. Returns false when the connection should stop reading
// (EOF, timeout, drain, or an error answer queued).
asio::awaitable<bool> Session::read_request(http::request_parser<http::string_body>& parser) {
  parser.header_limit(static_cast<std::uint32_t>(m_options.max_header_bytes));
  parser.body_limit(m_options.max_body_bytes);
  parser.eager(true);
  bool started = false;
  bool continued = false;
  for (;;) {
    if (m_buffer.size() > 0) {
      if (!started) {
        started = true;
        m_read_deadline = Clock::now() + m_options.read_timeout;
      }
      beast::error_code ec;
      const std::size_t used = parser.put(m_buffer.data(), ec);
      m_buffer.consume(used);
      if (!ec && parser.is_done()) {
        m_read_deadline = Clock::time_point::max();
        co_return true;
      }
      if (ec == http::error::body_limit) {
        push_error(413, "payload_too_large",
                   fmt::format("request body exceeds {} bytes", m_options.max_body_bytes));
        co_return false;
      }
      if (ec == http::error::header_limit) {
        push_error(431, "headers_too_large",
                   fmt::format("request headers exceed {} bytes", m_options.max_header_bytes));
        co_return false;
      }
      if (ec && ec != http::error::need_more) {
        push_error(400, "bad_request", fmt::format("malformed HTTP request: {}", ec.message()));
        co_return false;
      }
      if (used > 0 && m_buffer.size() > 0) {
        continue; // the parser took part of the buffer; offer it the rest
      }
      if (parser.is_header_done() && !continued && wants_continue(parser.get())) {
        // curl and most clients wait up to a second for this before sending a body.
        continued = true;
        if (!m_writing) {
          static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
          m_write_deadline = Clock::now() + m_options.write_timeout;
          auto [wec, wn] = co_await asio::async_write(m_socket, asio::buffer(k_continue), k_nothrow);
          m_write_deadline = Clock::time_point::max();
          if (wec) {
            co_return false;
          }
        }
      }
    }
    if (!started) {
      if (draining()) {
        co_return false;
      }
      m_idle = true;
      m_read_deadline = Clock::now() + m_options.idle_timeout;
    }
    // About to wait for input: answer what is ready first. Pipelined requests already
    // in the buffer never get here, so their answers go out together in one write.
    if (front_ready() && !m_writing) {
      co_await flush();
      if (m_closed) {
        co_return false;
      }
    }
    if (m_buffer.size() >= m_buffer.max_size()) {
      push_error(431, "headers_too_large", "request does not fit the read buffer");
      co_return false;
    }
    const std::size_t room =
        std::min<std::size_t>(std::size_t{16} * 1024, m_buffer.max_size() - m_buffer.size());
    auto [ec, n] = co_await m_socket.async_read_some(m_buffer.prepare(room), k_nothrow);
    m_idle = false;
    if (ec) {
      // EOF between requests is the normal end; EOF or a timeout mid-request leaves
      // nobody to answer.
      co_return false;
    }
    m_buffer.commit(n);
  }
}

asio::awaitable<void> Session::reader(std::shared_ptr<Session> /*keeps us alive*/) {
  while (!m_closed) {
    while (m_pending.size() >= m_options.max_pipelined && !m_closed) {
      if (front_ready() && !m_writing) {
        co_await flush();
      } else {
        co_await wait(m_reader_wake);
      }
    }
    if (m_closed) {
      break;
    }
    http::request_parser<http::string_body> parser;
    if (!co_await read_request(parser)) {
      break;
    }
    auto slot = std::make_shared<Slot>();
    slot->message = parser.release();
    // After an upgrade request the bytes that follow are the new protocol's: stop
    // reading; a refusal closes the connection.
    slot->close_after = !slot->message.keep_alive() || is_upgrade(slot->message);
    m_pending.push_back(slot);
    dispatch(slot);
    if (slot->close_after) {
      if (front_ready() && !m_writing) {
        co_await flush();
      }
      break;
    }
  }
  m_reading_done = true;
  m_writer_wake.cancel();
}

// Writes every ready response at the head of the queue, in one gathered write; closes
// the connection after a response that ends it.
asio::awaitable<void> Session::flush() {
  m_writing = true;
  while (front_ready() && !m_closed) {
    m_wire.clear();
    std::size_t count = 0;
    bool last = false;
    bool linger = false;
    for (const auto& slot : m_pending) {
      if (!slot->response || last) {
        break;
      }
      Response& r = *slot->response;
      if (r.websocket) {
        if (count > 0) {
          break; // the answers before it go out first
        }
        if (r.status == 101 && slot->request.is_websocket_upgrade()) {
          co_await switch_protocols(slot);
          m_writing = false;
          co_return;
        }
        r = Response::error(500, "internal", "WebSocket upgrade answered for a request that is not one");
      }
      const unsigned version = slot->message.version() == 10 ? 10 : 11;
      last = slot->close_after || (draining() && m_reading_done && count + 1 == m_pending.size());
      linger = slot->linger;
      append_head(m_wire, r, version);
      if (last) {
        m_wire += "Connection: close\r\n";
      } else if (version == 10) {
        m_wire += "Connection: keep-alive\r\n";
      }
      for (const auto& [k, v] : r.headers) {
        m_wire += k;
        m_wire += ": ";
        m_wire += v;
        m_wire += "\r\n";
      }
      m_wire += "\r\n";
      if (slot->message.method() != http::verb::head) {
        m_wire += r.body;
      }
      ++count;
    }
    m_write_deadline = Clock::now() + m_options.write_timeout;
    auto [ec, n] = co_await asio::async_write(m_socket, asio::buffer(m_wire), k_nothrow);
    m_write_deadline = Clock::time_point::max();
    for (std::size_t i = 0; i < count && !m_pending.empty(); ++i) {
      m_pending.pop_front();
    }
    if (m_idle) {
      m_read_deadline = Clock::now() + m_options.idle_timeout;
    }
    m_reader_wake.cancel();
    if (ec) {
      close();
      break;
    }
    if (last) {
      if (linger) {
        co_await linger_close();
      }
      close();
      break;
    }
  }
  m_writing = false;
}

// Writes the 101 and hands the socket, with whatever the client sent after its upgrade
// request, to a WebSocket connection on this thread. This session then ends.
asio::awaitable<void> Session::switch_protocols(std::shared_ptr<Slot> slot) {
  std::string head = "HTTP/1.1 101 Switching Protocols\r\nServer: " + k_server_header +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                     ws_accept_key(slot->request.header("Sec-WebSocket-Key")) + "\r\n\r\n";
  m_write_deadline = Clock::now() + m_options.write_timeout;
  auto [ec, n] = co_await asio::async_write(m_socket, asio::buffer(head), k_nothrow);
  m_write_deadline = Clock::time_point::max();
  if (ec || m_closed) {
    close();
    co_return;
  }
  std::string pending = beast::buffers_to_string(m_buffer.data());
  m_buffer.consume(m_buffer.size());
  WsAccept accept = std::move(*slot->response->websocket);
  m_pending.clear();
  m_closed = true; // the socket is the WebSocket's now
  m_writer_wake.cancel();
  m_reader_wake.cancel();
  start_websocket(m_worker, std::move(m_socket), pending, std::move(accept));
}

asio::awaitable<void> Session::writer(std::shared_ptr<Session> /*keeps us alive*/) {
  while (!m_closed) {
    if (front_ready() && !m_writing) {
      co_await flush();
      continue;
    }
    if (m_pending.empty() && !m_writing && (m_reading_done || (draining() && m_idle))) {
      close();
      break;
    }
    co_await wait(m_writer_wake);
  }
}

// After an error answer the client may still be sending the request we refused; closing
// with unread data makes the kernel send RST, which can destroy our response before the
// client reads it. So, as nginx's lingering_close does, stop sending, then read and
// discard for a short while.
asio::awaitable<void> Session::linger_close() {
  beast::error_code ec;
  m_socket.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, std::size_t{16} * 1024> sink{};
  std::size_t total = 0;
  m_read_deadline = Clock::now() + std::chrono::seconds(2);
  while (total < (4u << 20)) {
    auto [rec, n] = co_await m_socket.async_read_some(asio::buffer(sink), k_nothrow);
    if (rec) {
      break;
    }
    total += n;
  }
}

// ---------------------------------------------------------------------------------------
// What http_run.cpp's accept loop, sweeper and drain do with sessions

const std::string& server_header() {
  return k_server_header;
}

void start_session(Worker& w, tcp::socket socket) {
  std::make_shared<Session>(w, std::move(socket))->start();
}

namespace {
// Copy first: a session that closes erases itself from the set.
template <class F> void for_each_session(Worker& w, F&& f) {
  std::vector<Session*> sessions(w.sessions.begin(), w.sessions.end());
  for (auto* s : sessions) {
    if (w.sessions.contains(s)) {
      f(*s);
    }
  }
}
} // namespace

void sweep_sessions(Worker& w, std::chrono::steady_clock::time_point now) {
  for_each_session(w, [now](Session& s) { s.sweep(now); });
}

void drain_sessions(Worker& w) {
  for_each_session(w, [](Session& s) { s.drain(); });
}

void close_sessions(Worker& w) {
  for_each_session(w, [](Session& s) { s.close(); });
}

} // namespace mp::net
