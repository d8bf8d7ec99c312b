#include "bench/ws_worker.hpp"

#include <fmt/format.h>

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace mp::bench::ws {

void Stats::merge(const Stats& other) {
  latency.merge(other.latency);
  handshake.merge(other.handshake);
  welcome.merge(other.welcome);
  for (const auto& [k, v] : other.failures) {
    failures[k] += v;
  }
  for (const auto& [k, v] : other.close_codes) {
    close_codes[k] += v;
  }
  for (auto [mine, theirs] : {std::pair{&connected, other.connected},
                              {&lost, other.lost},
                              {&closed_by_server, other.closed_by_server},
                              {&dropped_notices, other.dropped_notices},
                              {&dropped_events, other.dropped_events},
                              {&gaps, other.gaps},
                              {&seq_gaps, other.seq_gaps},
                              {&other_frames, other.other_frames},
                              {&outside_window_events, other.outside_window_events},
                              {&no_welcome, other.no_welcome},
                              {&bytes, other.bytes},
                              {&reads, other.reads},
                              {&waits, other.waits},
                              {&wait_events, other.wait_events},
                              {&pings, other.pings},
                              {&per_conn_counted, other.per_conn_counted}}) {
    *mine += theirs;
  }
  per_conn_min = std::min(per_conn_min, other.per_conn_min);
  per_conn_max = std::max(per_conn_max, other.per_conn_max);
}

void IntervalCounts::merge(const IntervalCounts& other) {
  latency.merge(other.latency);
  events += other.events;
  warm_events += other.warm_events;
  failures += other.failures;
  cpu_ns += other.cpu_ns;
}

std::string failure_kind(std::string_view reason) {
  if (reason.starts_with("after_ready_")) {
    reason.remove_prefix(12);
  }
  if (reason == "connect_ECONNREFUSED") {
    return "connect_refused";
  }
  if (reason.starts_with("connect_") || reason.starts_with("socket_")) {
    return "connect_error";
  }
  if (reason.starts_with("status_")) {
    return "handshake_" + std::string(reason);
  }
  if (reason.starts_with("timeout_") || reason == "not_ready_at_end") {
    return "timeout";
  }
  if (reason == "eof_before_ready" || reason.starts_with("closed_")) {
    return "closed";
  }
  if (reason == "read_error_before_ready") {
    return "read_error";
  }
  if (reason == "not_opened") {
    return "not_opened";
  }
  return "protocol"; // bad_status_line, no_accept_header, bad_accept, masked_server_frame, ...
}

void Worker::run() {
  const WorkerOptions& opt = m_shared.opt;
  m_epoll = epoll_create1(EPOLL_CLOEXEC);
  const double per_thread_rate = opt.ramp / opt.threads;
  const auto interval = static_cast<std::int64_t>(1e9 / per_thread_rate);
  std::int64_t next_open = mono_ns(), next_sweep = next_open, close_deadline = 0;
  std::vector<epoll_event> events(1024);
  for (;;) {
    const std::int64_t now = mono_ns();
    const Phase phase = m_shared.phase.load(std::memory_order_acquire);
    if (phase == Phase::closing && !m_closing) {
      start_closing();
      close_deadline = now + 2 * k_ns;
    }
    if (m_closing && (m_live == 0 || now > close_deadline)) {
      break;
    }
    // The connect phase opens the share at the paced rate; a main thread that gave up
    // waiting (measuring already) means no more connections.
    while (phase == Phase::connecting && m_opened < m_conns.size() && now >= next_open) {
      open_one(m_opened++);
      next_open += interval;
    }
    if (m_unresolved > 0 && now >= next_sweep) {
      sweep_timeouts(now);
      next_sweep = now + 100'000'000;
    }
    int timeout_ms = 10;
    std::swap(m_pending, m_again);
    if (!m_again.empty()) {
      timeout_ms = 0;
    } else if (phase == Phase::connecting && m_opened < m_conns.size()) {
      // At least 1 ms: a fast ramp opens a millisecond's worth at a time instead of spinning.
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>((next_open - now) / 1'000'000, 1, 10));
    }
    const int n = epoll_wait(m_epoll, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      Conn& c = m_conns[events[i].data.u64];
      if ((events[i].events & (EPOLLOUT | EPOLLERR)) != 0 && c.fd >= 0) {
        on_writable(c);
      }
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && c.fd >= 0 &&
          c.state != State::connecting) {
        on_readable(c);
      }
    }
    for (const std::size_t index : m_again) {
      if (m_conns[index].fd >= 0) {
        on_readable(m_conns[index]);
      }
    }
    m_again.clear();
    m_events_pub.store(m_events, std::memory_order_relaxed);
    m_warm_events_pub.store(m_warm_events, std::memory_order_relaxed);
    m_last_event_pub.store(m_last_event, std::memory_order_relaxed);
    if (m_shared.rotation.load(std::memory_order_relaxed) != m_rotation_seen) {
      rotate();
    }
    ++m_stats.waits;
    m_stats.wait_events += static_cast<std::uint64_t>(std::max(n, 0));
    if (opt.coalesce_us > 0 && n < static_cast<int>(events.size())) {
      std::this_thread::sleep_for(std::chrono::microseconds(opt.coalesce_us));
    }
  }
  finish();
}

void Worker::open_one(std::size_t index) {
  Conn& c = m_conns[index];
  ++m_unresolved;
  c.started_ns = mono_ns();
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    fail(c, std::string("socket_") + strerrorname_np(errno));
    return;
  }
  ++m_live;
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const auto& addr = m_shared.url.addr;
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    fail(c, std::string("connect_") + strerrorname_np(errno));
    return;
  }
  c.state = State::connecting;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = index;
  epoll_ctl(m_epoll, EPOLL_CTL_ADD, c.fd, &ev);
}

void Worker::want_write(Conn& c, bool on) {
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT | EPOLLET) : (EPOLLIN | EPOLLET);
  ev.data.u64 = static_cast<std::uint64_t>(&c - m_conns.data());
  epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
}

void Worker::on_writable(Conn& c) {
  if (c.state != State::connecting) {
    const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) {
      drop(c);
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(std::max<ssize_t>(w, 0)));
    if (c.out.empty()) {
      want_write(c, false);
    }
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail(c, std::string("connect_") + strerrorname_np(err));
    return;
  }
  unsigned char nonce[16];
  for (int i = 0; i < 16; i += 8) {
    const std::uint64_t r = next_random();
    std::memcpy(nonce + i, &r, 8);
  }
  const std::string key = base64(nonce, 16);
  c.accept = accept_for(key);
  const std::string request = "GET " + m_shared.url.target + " HTTP/1.1\r\nHost: " + m_shared.url.host + ":" +
                              std::to_string(m_shared.url.port) + "\r\nSec-WebSocket-Key: " + key +
                              m_shared.upgrade_tail;
  c.state = State::upgrading;
  want_write(c, false);
  send_bytes(c, request.data(), request.size());
}

void Worker::on_readable(Conn& c) {
  const std::size_t carried = c.carry.size();
  if (m_buf.size() < carried + k_chunk) {
    m_buf.resize(carried + k_chunk);
  }
  std::memcpy(m_buf.data(), c.carry.data(), carried);
  const ssize_t r = ::recv(c.fd, m_buf.data() + carried, k_chunk, 0);
  if (r <= 0) {
    if (r < 0 && errno == EAGAIN) {
      return;
    }
    if (c.state == State::upgrading || (c.state == State::open && !c.ready)) {
      fail(c, r == 0 ? "eof_before_ready" : "read_error_before_ready");
    } else {
      drop(c);
    }
    return;
  }
  m_now_real = real_ns();
  if (!c.ready) {
    m_now_mono = mono_ns(); // for the handshake and welcome times only
  }
  m_stats.bytes += static_cast<std::uint64_t>(r);
  ++m_stats.reads;
  if (static_cast<std::size_t>(r) == k_chunk) {
    m_pending.push_back(static_cast<std::size_t>(&c - m_conns.data()));
  }
  const std::size_t n = carried + static_cast<std::size_t>(r);
  std::size_t used = 0;
  if (c.state == State::upgrading) {
    used = on_handshake(c, m_buf.data(), n);
  }
  if (c.fd >= 0 && (c.state == State::open || c.state == State::closing)) {
    used += scan_frames(c, m_buf.data() + used, n - used);
  }
  if (c.fd >= 0) {
    c.carry.assign(m_buf.data() + used, n - used);
  }
}

std::size_t Worker::on_handshake(Conn& c, const char* p, std::size_t n) {
  const void* end = memmem(p, n, "\r\n\r\n", 4);
  if (end == nullptr) {
    if (n > std::size_t{16} * 1024) {
      fail(c, "response_too_long");
    }
    return 0;
  }
  const auto head_len = static_cast<std::size_t>(static_cast<const char*>(end) - p) + 4;
  std::string head(p, head_len);
  std::ranges::transform(head, head.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  int status = 0;
  if (!head.starts_with("http/1.1 ") ||
      std::from_chars(head.data() + 9, head.data() + head.size(), status).ec != std::errc{}) {
    fail(c, "bad_status_line");
    return 0;
  }
  if (status != 101) {
    fail(c, "status_" + std::to_string(status));
    return 0;
  }
  std::string accept = c.accept;
  std::ranges::transform(accept, accept.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const auto at = head.find("\r\nsec-websocket-accept:");
  if (at == std::string::npos) {
    fail(c, "no_accept_header");
    return 0;
  }
  auto value_start = head.find_first_not_of(' ', at + 23);
  if (head.compare(value_start, accept.size(), accept) != 0) {
    fail(c, "bad_accept");
    return 0;
  }
  c.accept.clear();
  c.accept.shrink_to_fit();
  c.state = State::open;
  m_stats.handshake.record_ns(static_cast<std::uint64_t>(m_now_mono - c.started_ns));
  return head_len;
}

std::size_t Worker::scan_frames(Conn& c, const char* p, std::size_t n) {
  std::size_t pos = 0;
  while (n - pos >= 2 && c.fd >= 0) {
    const auto b0 = static_cast<unsigned char>(p[pos]);
    const auto b1 = static_cast<unsigned char>(p[pos + 1]);
    std::size_t header = 2;
    std::uint64_t len = b1 & 0x7fu;
    if (len == 126) {
      if (n - pos < 4) {
        break;
      }
      len = (std::uint64_t{static_cast<unsigned char>(p[pos + 2])} << 8) |
            static_cast<unsigned char>(p[pos + 3]);
      header = 4;
    } else if (len == 127) {
      if (n - pos < 10) {
        break;
      }
      len = 0;
      for (int i = 0; i < 8; ++i) {
        len = (len << 8) | static_cast<unsigned char>(p[pos + 2 + static_cast<std::size_t>(i)]);
      }
      header = 10;
    }
    if ((b1 & 0x80u) != 0) {
      fail(c, "masked_server_frame");
      return n;
    }
    if (n - pos - header < len) {
      break;
    }
    on_frame(c, b0 & 0x0fu, p + pos + header, static_cast<std::size_t>(len));
    pos += header + static_cast<std::size_t>(len);
  }
  return pos;
}

void Worker::on_frame(Conn& c, unsigned op, const char* payload, std::size_t len) {
  switch (op) {
  case 0x1: on_text(c, payload, len); break; // a fragmented message is judged by its first frame
  case 0x0: break;
  case 0x8: on_close_frame(c, payload, len); break;
  case 0x9:
    ++m_stats.pings;
    send_frame(c, 0xA, std::string_view(payload, std::min<std::size_t>(len, 125)));
    break;
  case 0xA: break;
  case 0x2: ++m_stats.other_frames; break;
  default: fail(c, "bad_opcode"); break;
  }
}

void Worker::on_text(Conn& c, const char* p, std::size_t len) {
  const char* end = p + len;
  if (!c.welcomed) {
    c.welcomed = true;
    m_stats.welcome.record_ns(static_cast<std::uint64_t>(m_now_mono - c.started_ns));
    const bool is_welcome = memmem(p, len, R"("type":"welcome")", 16) != nullptr;
    if (!m_shared.opt.subscribe.empty()) {
      std::string topics;
      for (std::string_view rest = m_shared.opt.subscribe; !rest.empty();) {
        const auto comma = rest.find(',');
        topics += fmt::format(R"({}"{}")", topics.empty() ? "" : ",", rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
      send_frame(c, 0x1, fmt::format(R"({{"op":"subscribe","topics":[{}],"ref":"ws_load"}})", topics));
    } else {
      on_ready(c);
    }
    if (is_welcome) {
      return;
    }
    ++m_stats.no_welcome;
  }
  const void* ts_at = memmem(p, len, "\"ts\":", 5);
  if (ts_at == nullptr) {
    if (memmem(p, len, R"("type":"dropped")", 16) != nullptr) {
      ++m_stats.dropped_notices;
      m_stats.dropped_events += number_after(p, end, "\"count\":").value_or(0);
    } else if (memmem(p, len, R"("type":"gap")", 12) != nullptr) {
      ++m_stats.gaps;
    } else if (!c.ready && memmem(p, len, R"("type":"subscribed")", 19) != nullptr) {
      on_ready(c);
    } else {
      ++m_stats.other_frames;
    }
    return;
  }
  // An event has "seq" before "ts"; a pong has "ts" and no "seq".
  const char* ts = static_cast<const char*>(ts_at);
  const auto seq = number_after(p, ts, "\"seq\":");
  if (!seq) {
    ++m_stats.other_frames;
    return;
  }
  const Phase phase = m_shared.phase.load(std::memory_order_relaxed);
  if (phase != Phase::measuring || !c.ready) {
    ++m_stats.outside_window_events;
    if (phase == Phase::warming && c.ready) {
      ++m_warm_events;
      if (const auto sent = parse_ts(ts + 5, end)) {
        m_warm.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(m_now_real - *sent, 0)));
      }
    }
    return;
  }
  if (c.received > 0 && *seq != c.last_seq + 1) {
    ++m_stats.seq_gaps;
  }
  c.last_seq = *seq;
  ++c.received;
  if (m_events++ == 0) {
    m_first_event = m_now_real;
  }
  m_last_event = m_now_real;
  if (const auto sent = parse_ts(ts + 5, end)) {
    m_interval.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(m_now_real - *sent, 0)));
  }
}

void Worker::on_ready(Conn& c) {
  c.ready = true;
  --m_unresolved;
  ++m_stats.connected;
  m_shared.open.fetch_add(1, std::memory_order_relaxed);
  m_shared.resolved.fetch_add(1, std::memory_order_release);
}

void Worker::on_close_frame(Conn& c, const char* p, std::size_t len) {
  if (c.state == State::closing) { // the answer to ours
    drop(c);
    return;
  }
  const int code =
      len >= 2 ? (static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1]) : 1005;
  ++m_stats.close_codes[code];
  if (c.ready) {
    ++m_stats.closed_by_server;
  }
  send_frame(c, 0x8, std::string_view(p, std::min<std::size_t>(len, 2)));
  if (c.ready) {
    drop(c);
  } else {
    fail(c, "closed_" + std::to_string(code));
  }
}

void Worker::send_frame(Conn& c, unsigned op, std::string_view payload) {
  char frame[14 + 256];
  std::string big;
  char* out = frame;
  if (payload.size() > 256) {
    big.resize(14 + payload.size());
    out = big.data();
  }
  std::size_t header = 2;
  out[0] = static_cast<char>(0x80u | op);
  if (payload.size() < 126) {
    out[1] = static_cast<char>(0x80u | payload.size());
  } else {
    out[1] = static_cast<char>(0x80u | 126u); // client frames here stay under 64 KiB
    out[2] = static_cast<char>((payload.size() >> 8) & 0xffu);
    out[3] = static_cast<char>(payload.size() & 0xffu);
    header = 4;
  }
  const auto mask = static_cast<std::uint32_t>(next_random());
  std::memcpy(out + header, &mask, 4);
  const auto* key = reinterpret_cast<const unsigned char*>(out + header);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out[header + 4 + i] = static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i & 3]);
  }
  send_bytes(c, out, header + 4 + payload.size());
}

void Worker::send_bytes(Conn& c, const char* data, std::size_t len) {
  if (!c.out.empty()) {
    c.out.append(data, len);
    return;
  }
  ssize_t w = ::send(c.fd, data, len, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN) {
      return; // the read side sees the error and drops the connection
    }
    w = 0;
  }
  if (static_cast<std::size_t>(w) < len) {
    c.out.append(data + w, len - static_cast<std::size_t>(w));
    want_write(c, true);
  }
}

void Worker::fail(Conn& c, const std::string& reason) {
  ++m_failed;
  if (c.ready) {
    ++m_stats.failures["after_ready_" + reason];
  } else {
    ++m_stats.failures[reason];
    --m_unresolved;
    m_shared.resolved.fetch_add(1, std::memory_order_release);
  }
  drop(c);
}

void Worker::drop(Conn& c) {
  if (c.ready && c.state != State::closing) {
    ++m_stats.lost;
    m_shared.open.fetch_sub(1, std::memory_order_relaxed);
  }
  if (c.fd >= 0) {
    ::close(c.fd); // also leaves the epoll set
    c.fd = -1;
    --m_live;
  }
  c.state = State::closed;
  c.carry = {};
  c.out = {};
}

void Worker::sweep_timeouts(std::int64_t now) {
  const auto limit = static_cast<std::int64_t>(m_shared.opt.connect_timeout * 1e9);
  for (auto& c : m_conns) {
    if (c.fd >= 0 && !c.ready && now - c.started_ns > limit) {
      fail(c, c.state == State::connecting  ? "timeout_connect"
              : c.state == State::upgrading ? "timeout_upgrade"
                                            : "timeout_welcome");
    }
  }
}

void Worker::start_closing() {
  m_closing = true;
  if (m_opened < m_conns.size()) {
    m_stats.failures["not_opened"] += m_conns.size() - m_opened;
  }
  for (auto& c : m_conns) {
    if (c.fd < 0) {
      continue;
    }
    if (c.ready) {
      // The per-connection counts are final once the measured phase is over.
      m_stats.received.push_back(c.received);
      send_frame(c, 0x8, std::string_view("\x03\xe8", 2)); // 1000, normal closure
      c.state = State::closing;
    } else {
      fail(c, "not_ready_at_end");
    }
  }
}

void Worker::rotate() {
  m_rotation_seen = m_shared.rotation.load(std::memory_order_relaxed);
  m_stats.latency.merge(m_interval);
  {
    std::lock_guard lock(m_slot_mutex);
    m_slot.latency.merge(m_interval);
    m_slot.latency.merge(m_warm);
    m_slot.events = m_events;
    m_slot.warm_events = m_warm_events;
    m_slot.failures = m_failed;
    m_slot.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  }
  m_interval.reset();
  m_warm.reset();
  m_rotation_done.store(m_rotation_seen, std::memory_order_release);
}

IntervalCounts Worker::take_interval() {
  std::lock_guard lock(m_slot_mutex);
  IntervalCounts out = m_slot;
  m_slot.latency.reset();
  return out;
}

void Worker::finish() {
  rotate(); // the last latencies into the totals and the final hand-off
  for (auto& c : m_conns) {
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }
  for (const std::uint32_t r : m_stats.received) {
    m_stats.per_conn_min = std::min<std::uint64_t>(m_stats.per_conn_min, r);
    m_stats.per_conn_max = std::max<std::uint64_t>(m_stats.per_conn_max, r);
  }
  m_stats.per_conn_counted = m_stats.received.size();
}

} // namespace mp::bench::ws
