// WebSocket connections (RFC 6455, server side) on the HTTP server's I/O threads.
//
// Callbacks rather than coroutines: an idle connection then holds one pending
// readiness wait (no buffer, no coroutine frame), which is what keeps 10,000 of them
// within a few KiB each (bench/RESULTS.md). Reads go into a per-thread buffer; only a
// partial frame is copied into the connection. Writes gather up to `batch_size` shared
// frames into one system call.

#include "net/server_impl.hpp"
#include "net/ws_frames.hpp"
#include "util/json.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/detail/sha1.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <vector>

namespace mp::net {

namespace {

using Clock = std::chrono::steady_clock;

WsFramePtr control_frame(unsigned char opcode, std::string_view payload) {
  auto f = std::make_shared<WsFrame>();
  f->bytes = ws_encode_frame(opcode, payload);
  f->priority = -1; // ahead of every event
  f->droppable = false;
  return f;
}

WsFramePtr close_frame(int code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>((code >> 8) & 0xff);
  payload += static_cast<char>(code & 0xff);
  payload.append(reason.substr(0, 123)); // control frames carry at most 125 bytes
  return control_frame(ws_opcode::close, payload);
}

std::atomic<std::uint64_t> g_next_id{1};

thread_local int t_cork_depth = 0;

/// Where reads land: one buffer per I/O thread, so idle connections hold none.
constexpr std::size_t k_read_buffer = std::size_t{64} << 10;
std::array<char, k_read_buffer>& read_buffer() {
  thread_local std::array<char, k_read_buffer> buf;
  return buf;
}

} // namespace

WsFramePtr make_ws_text(std::string_view payload, int priority, bool droppable, std::string topic,
                        std::chrono::steady_clock::time_point published) {
  auto f = std::make_shared<WsFrame>();
  f->bytes = ws_encode_frame(ws_opcode::text, payload);
  f->priority = priority;
  f->droppable = droppable;
  f->topic = std::move(topic);
  f->published = published;
  return f;
}

std::string ws_accept_key(std::string_view client_key) {
  static constexpr std::string_view k_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  beast::detail::sha1_context ctx{};
  beast::detail::init(ctx);
  beast::detail::update(ctx, client_key.data(), client_key.size());
  beast::detail::update(ctx, k_guid.data(), k_guid.size());
  std::array<char, beast::detail::sha1_context::digest_size> digest{};
  beast::detail::finish(ctx, digest.data());
  std::string out(beast::detail::base64::encoded_size(digest.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), digest.data(), digest.size()));
  return out;
}

class WsSession final : public WsConnection, public std::enable_shared_from_this<WsSession> {
public:
  WsSession(Worker& w, tcp::socket socket, WsAccept accept)
      : m_worker(w), m_socket(std::move(socket)), m_accept(std::move(accept)), m_opts(m_accept.options),
        m_id(g_next_id.fetch_add(1, std::memory_order_relaxed)), m_reader(m_opts.max_message_bytes) {
    m_worker.server.active.fetch_add(1, std::memory_order_relaxed);
    m_worker.ws_sessions.insert(this);
    const auto now = Clock::now();
    m_last_heard = now;
    m_tokens = 2 * m_opts.inbound_per_second;
    m_tokens_at = now;
    if (auto* c = m_opts.counters) {
      c->open.fetch_add(1, std::memory_order_relaxed);
      c->opened.fetch_add(1, std::memory_order_relaxed);
    }
  }

  ~WsSession() override {
    finish("error"); // a no-op unless something ended us without a reason
    m_worker.server.active.fetch_sub(1, std::memory_order_relaxed);
  }

  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  void start(const std::string& pending) {
    beast::error_code ec;
    m_socket.non_blocking(true, ec);
    m_accept.handler->on_open(*this);
    if (!pending.empty() && !m_finished) {
      consume(pending);
    }
    if (!m_finished) {
      wait_readable();
    }
  }

  // --- WsConnection

  void send(const WsFramePtr& f) override {
    if (m_finished || m_close_queued || !f) {
      return;
    }
    // In priority order; equal priorities keep their order (events of a topic stay in
    // sequence).
    auto at = std::upper_bound(m_queue.begin(), m_queue.end(), f->priority,
                               [](int p, const WsFramePtr& q) { return p < q->priority; });
    m_queue.insert(at, f);
    add_queued(static_cast<std::int64_t>(f->bytes.size()));
    enforce_bounds();
    if (t_cork_depth > 0) {
      hold_back();
      return;
    }
    write_more();
  }

  /// Under a WsCork: write when it ends.
  void hold_back();
  /// The cork ended.
  void release_cork() {
    m_corked = false;
    write_more();
  }

  void close(int code, std::string_view reason) override { close_with(code, reason, "server"); }

  [[nodiscard]] std::uint64_t id() const override { return m_id; }
  [[nodiscard]] unsigned thread() const override { return m_worker.index; }
  [[nodiscard]] void* context() const override { return m_accept.context.get(); }

  // --- the worker's sweeper and drain

  void sweep(Clock::time_point now) {
    if (m_finished) {
      return;
    }
    if (m_close_deadline != Clock::time_point{}) {
      if (now >= m_close_deadline) {
        finish(m_close_label); // the peer never answered our close
      }
      return;
    }
    if (m_over_since != Clock::time_point{} && now - m_over_since >= m_opts.slow_consumer) {
      if (auto* c = m_opts.counters) {
        c->slow_closes.fetch_add(1, std::memory_order_relaxed);
      }
      close_with(
          ws_close::slow_consumer,
          fmt::format("slow consumer: send queue over its bound for {} ms", m_opts.slow_consumer.count()),
          "slow_consumer");
      return;
    }
    if (m_ping_sent != Clock::time_point{}) {
      if (now - m_ping_sent >= m_opts.ping_timeout) {
        finish("ping_timeout"); // a dead peer cannot read a close frame
      }
    } else if (m_opts.ping_interval.count() > 0 && now - m_last_heard >= m_opts.ping_interval) {
      static const WsFramePtr k_ping = control_frame(ws_opcode::ping, "");
      m_ping_sent = now;
      send(k_ping);
    }
  }

  void drain() { close_with(ws_close::going_away, "server shutting down", "shutdown"); }

  void kill() { finish("shutdown"); }

private:
  void close_with(int code, std::string_view reason, std::string_view label) {
    if (m_finished || m_close_queued) {
      return;
    }
    m_close_label = label;
    // Nothing queued goes out after the close; what is being written finishes first.
    std::int64_t dropped_bytes = 0;
    for (const auto& f : m_queue) {
      dropped_bytes += static_cast<std::int64_t>(f->bytes.size());
    }
    m_queue.clear();
    m_dropped.clear();
    add_queued(-dropped_bytes);
    auto frame = close_frame(code, reason);
    m_queue.push_back(frame);
    add_queued(static_cast<std::int64_t>(frame->bytes.size()));
    m_close_queued = true;
    m_over_since = {};
    m_close_deadline = Clock::now() + std::chrono::seconds(2);
    write_more();
  }

  void add_queued(std::int64_t delta) {
    m_queued_bytes += delta;
    if (auto* c = m_opts.counters) {
      c->queued_bytes.fetch_add(delta, std::memory_order_relaxed);
    }
  }

  // Over the bound: drop the lowest-priority droppable frames, newest first.
  void enforce_bounds() {
    while (m_queue.size() > m_opts.queue_max_messages ||
           static_cast<std::size_t>(m_queued_bytes) > m_opts.queue_max_bytes) {
      auto victim =
          std::find_if(m_queue.rbegin(), m_queue.rend(), [](const WsFramePtr& f) { return f->droppable; });
      if (victim == m_queue.rend()) {
        break; // only replies and notices: let them through
      }
      const WsFramePtr& f = *victim;
      auto counted = std::find_if(m_dropped.begin(), m_dropped.end(),
                                  [&](const auto& p) { return p.first == f->topic; });
      if (counted == m_dropped.end()) {
        m_dropped.emplace_back(f->topic, 1);
      } else {
        ++counted->second;
      }
      if (auto* c = m_opts.counters) {
        c->dropped.fetch_add(1, std::memory_order_relaxed);
      }
      add_queued(-static_cast<std::int64_t>(f->bytes.size()));
      m_queue.erase(std::next(victim).base());
      if (m_over_since == Clock::time_point{}) {
        m_over_since = Clock::now();
      }
    }
  }

  WsFramePtr dropped_notice() {
    std::string json = R"({"type":"dropped","count":)";
    std::uint64_t total = 0;
    std::string topics;
    for (const auto& [topic, n] : m_dropped) {
      total += n;
      topics += topics.empty() ? "" : ",";
      topics += util::json_quote(topic);
      topics += ':';
      topics += std::to_string(n);
    }
    json += std::to_string(total);
    json += R"(,"topics":{)";
    json += topics;
    json += "}}";
    m_dropped.clear();
    return make_ws_text(json, -1, false);
  }

  // Writes the queue, a batch per system call: first straight away on the non-blocking
  // socket (the common case, without Asio's operation machinery), and what the kernel
  // would not take yet through async_write.
  void write_more() {
    while (!m_writing && !m_finished) {
      if (!m_dropped.empty() && !m_close_queued) {
        auto notice = dropped_notice();
        add_queued(static_cast<std::int64_t>(notice->bytes.size()));
        m_queue.insert(m_queue.begin(), std::move(notice));
      }
      if (m_queue.empty()) {
        return;
      }
      const std::size_t n = std::min(m_queue.size(), std::max<std::size_t>(1, m_opts.batch_size));
      m_batch.assign(std::make_move_iterator(m_queue.begin()),
                     std::make_move_iterator(m_queue.begin() + static_cast<std::ptrdiff_t>(n)));
      m_queue.erase(m_queue.begin(), m_queue.begin() + static_cast<std::ptrdiff_t>(n));
      m_buffers.clear();
      std::size_t total = 0;
      for (const auto& f : m_batch) {
        m_buffers.emplace_back(f->bytes.data(), f->bytes.size());
        total += f->bytes.size();
      }
      beast::error_code ec;
      const std::size_t written = m_socket.write_some(m_buffers, ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        batch_done(ec);
        return;
      }
      if (!ec && written == total) {
        if (!batch_done({})) {
          return;
        }
        continue;
      }
      // The rest when the socket can take it.
      std::size_t skip = ec ? 0 : written;
      std::size_t first = 0;
      while (skip >= m_buffers[first].size()) {
        skip -= m_buffers[first].size();
        ++first;
      }
      m_buffers.erase(m_buffers.begin(), m_buffers.begin() + static_cast<std::ptrdiff_t>(first));
      m_buffers.front() += skip;
      m_writing = true;
      asio::async_write(m_socket, m_buffers, [self = shared_from_this()](beast::error_code wec, std::size_t) {
        self->m_writing = false;
        if (self->batch_done(wec)) {
          self->write_more();
        }
      });
      return;
    }
  }

  // Accounts for the batch just written; false when the connection is done writing.
  bool batch_done(beast::error_code ec) {
    if (m_finished) {
      return false;
    }
    const auto now = Clock::now();
    std::int64_t bytes = 0;
    for (const auto& f : m_batch) {
      bytes += static_cast<std::int64_t>(f->bytes.size());
      if (f->published != Clock::time_point{} && m_opts.counters && m_opts.counters->delivery) {
        m_opts.counters->delivery->record(now - f->published);
      }
    }
    // Nothing is queued behind a close frame: the batch that empties the queue sent it.
    const bool close_sent = m_close_queued && m_queue.empty();
    if (auto* c = m_opts.counters) {
      c->sent.fetch_add(m_batch.size(), std::memory_order_relaxed);
    }
    add_queued(-bytes);
    m_batch.clear();
    if (ec) {
      finish(m_close_queued ? m_close_label : "error");
      return false;
    }
    if (m_queue.empty() && m_batch.capacity() > 8) {
      // Idle again after a big batch: give its memory back (small ones are reused).
      m_batch.shrink_to_fit();
      m_buffers.clear();
      m_buffers.shrink_to_fit();
    }
    if (m_over_since != Clock::time_point{} &&
        static_cast<std::size_t>(m_queued_bytes) <= m_opts.queue_max_bytes / 2 &&
        m_queue.size() <= m_opts.queue_max_messages / 2) {
      m_over_since = {};
    }
    if (close_sent) {
      m_close_sent = true;
      if (m_close_received) {
        finish(m_close_label);
      }
      return false; // wait (up to m_close_deadline) for the peer's close
    }
    return true;
  }

  void wait_readable() {
    m_socket.async_wait(tcp::socket::wait_read,
                        [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
  }

  void on_readable(beast::error_code ec) {
    if (m_finished) {
      return;
    }
    if (ec) {
      finish(m_close_queued ? m_close_label : "error");
      return;
    }
    auto& buf = read_buffer();
    const std::size_t n = m_socket.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait_readable();
      return;
    }
    if (ec) {
      // EOF: the peer went away, with or without a close frame.
      finish(m_close_queued ? m_close_label : "client");
      return;
    }
    m_last_heard = Clock::now();
    m_ping_sent = {};
    consume(std::string_view(buf.data(), n));
    if (!m_finished) {
      wait_readable();
    }
  }

  void protocol_close(int code, std::string_view reason, std::string_view label) {
    m_stop_reading = true;
    close_with(code, reason, label);
  }

  void consume(std::string_view data) {
    if (!m_stop_reading && !m_reader.feed(data, [this](const WsInbound& in) { return on_inbound(in); })) {
      m_stop_reading = true;
    }
  }

  // What the reader found; false stops reading.
  bool on_inbound(const WsInbound& in) {
    switch (in.kind) {
    case WsInbound::Kind::violation: protocol_close(in.code, in.reason, in.label); return false;
    case WsInbound::Kind::pong: return true; // any frame proves the peer alive (on_readable)
    case WsInbound::Kind::close: on_close_frame(in.payload); return false;
    case WsInbound::Kind::ping:
      if (!take_token()) {
        rate_close();
        return false;
      }
      send(control_frame(ws_opcode::pong, in.payload));
      return true;
    case WsInbound::Kind::text:
      if (!take_token()) {
        rate_close();
        return false;
      }
      m_accept.handler->on_text(*this, in.payload);
      return !m_finished && !m_stop_reading;
    }
    return false;
  }

  bool take_token() {
    if (m_opts.inbound_per_second <= 0) {
      return true;
    }
    const auto now = Clock::now();
    const double burst = 2 * m_opts.inbound_per_second;
    m_tokens = std::min(burst, m_tokens + std::chrono::duration<double>(now - m_tokens_at).count() *
                                              m_opts.inbound_per_second);
    m_tokens_at = now;
    if (m_tokens < 1) {
      return false;
    }
    m_tokens -= 1;
    return true;
  }

  void rate_close() {
    protocol_close(ws_close::policy,
                   fmt::format("rate limit: more than {:g} messages per second", m_opts.inbound_per_second),
                   "rate_limit");
  }

  void on_close_frame(std::string_view payload) {
    m_close_received = true;
    m_stop_reading = true;
    if (m_close_sent) {
      finish(m_close_label); // the handshake we began is complete
      return;
    }
    int code = ws_close::normal;
    if (payload.size() >= 2) {
      code = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
    }
    if (!m_close_queued) {
      close_with(code == 1005 || code == 1006 || code == 1015 ? ws_close::normal : code, "", "client");
    }
  }

  void finish(std::string_view label) {
    if (m_finished) {
      return;
    }
    m_finished = true;
    beast::error_code ec;
    m_socket.shutdown(tcp::socket::shutdown_both, ec);
    m_socket.close(ec);
    add_queued(-m_queued_bytes);
    m_queue.clear();
    m_worker.ws_sessions.erase(this);
    if (auto* c = m_opts.counters) {
      c->open.fetch_sub(1, std::memory_order_relaxed);
    }
    m_accept.handler->on_close(*this, label);
  }

  Worker& m_worker;
  tcp::socket m_socket;
  WsAccept m_accept;
  const WsOptions& m_opts;
  std::uint64_t m_id;
  WsReader m_reader;
  std::vector<WsFramePtr> m_queue;
  std::vector<WsFramePtr> m_batch; ///< being written
  std::vector<asio::const_buffer> m_buffers;
  std::vector<std::pair<std::string, std::uint64_t>> m_dropped; ///< since the last notice, by topic
  std::int64_t m_queued_bytes = 0;                              ///< queue and batch
  Clock::time_point m_last_heard{};
  Clock::time_point m_ping_sent{};  ///< the outstanding ping, if any
  Clock::time_point m_over_since{}; ///< first drop since the queue was last below half
  Clock::time_point m_close_deadline{};
  Clock::time_point m_tokens_at{};
  double m_tokens = 0;
  std::string_view m_close_label = "server";
  bool m_writing = false;
  bool m_corked = false;
  bool m_close_queued = false;
  bool m_close_sent = false;
  bool m_close_received = false;
  bool m_stop_reading = false;
  bool m_finished = false;
};

namespace {
thread_local std::vector<std::shared_ptr<WsSession>> t_held_back;
}

void WsSession::hold_back() {
  if (!m_corked) {
    m_corked = true;
    t_held_back.push_back(shared_from_this());
  }
}

WsCork::WsCork() {
  ++t_cork_depth;
}

WsCork::~WsCork() {
  if (--t_cork_depth > 0) {
    return;
  }
  auto held = std::move(t_held_back);
  t_held_back.clear();
  for (auto& s : held) {
    s->release_cork();
  }
  if (t_held_back.capacity() < held.capacity()) {
    held.clear();
    t_held_back.swap(held); // keep the capacity for the next burst
  }
}

void start_websocket(Worker& w, tcp::socket socket, const std::string& pending, WsAccept accept) {
  auto s = std::make_shared<WsSession>(w, std::move(socket), std::move(accept));
  s->start(pending);
}

namespace {
// A session that ends during `f` leaves the set but lives on until its pending
// operations have run, so the raw pointers stay valid for this loop.
template <class F> void for_each_ws(Worker& w, F&& f) {
  thread_local std::vector<WsSession*> all;
  all.assign(w.ws_sessions.begin(), w.ws_sessions.end());
  for (auto* s : all) {
    if (w.ws_sessions.contains(s)) {
      f(*s);
    }
  }
}
} // namespace

void sweep_websockets(Worker& w, std::chrono::steady_clock::time_point now) {
  if (!w.ws_sessions.empty()) {
    for_each_ws(w, [now](WsSession& s) { s.sweep(now); });
  }
}

void drain_websockets(Worker& w) {
  for_each_ws(w, [](WsSession& s) { s.drain(); });
}

void close_websockets(Worker& w) {
  for_each_ws(w, [](WsSession& s) { s.kill(); });
}

} // namespace mp::net
