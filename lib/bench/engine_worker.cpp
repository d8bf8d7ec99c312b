// The epoll load generator's worker thread (engine.hpp has the design): its connections,
// its share of the arrivals or users, its windows.

#include "bench/engine_impl.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace mp::bench {

namespace {

constexpr std::int64_t k_ns = 1'000'000'000;
constexpr std::size_t k_read_chunk = std::size_t{64} * 1024;
constexpr std::size_t k_max_backlog = 1u << 20;
constexpr std::int64_t k_sweep_ns = 50'000'000;         // timeouts are checked this often
constexpr std::int64_t k_connect_retry_ns = 10'000'000; // a closed-model user after a connect error

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * k_ns + ts.tv_nsec;
}

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * k_ns + static_cast<std::uint64_t>(ts.tv_nsec);
}

enum class ConnState : std::uint8_t { closed, connecting, idle, busy };

struct Conn {
  ResponseParser parser;
  std::string out; // request bytes the socket has not taken yet
  std::int64_t intended = 0;
  std::int64_t sent = 0;
  std::size_t index = 0;
  int fd = -1;
  ConnState state = ConnState::closed;
  bool has_request = false; // connecting with a request to send once connected
  bool got_bytes = false;   // some of the current response arrived
  bool active = true;       // closed model: this user is part of the current stage
  bool want_out = false;
};

} // namespace

namespace {

class Worker {
public:
  Worker(Engine::Impl& e, int index)
      : m_e(e), m_index(index), m_source(e.opt.source->clone(static_cast<std::uint64_t>(index))),
        m_head(m_source->head()), m_buf(k_read_chunk) {
    const int n = e.opt.threads;
    std::size_t count = 0;
    if (e.opt.plan.model == Model::open) {
      const int c = e.opt.connections;
      const int share = c / n + (index < c % n ? 1 : 0);
      count = static_cast<std::size_t>(share);
    } else {
      double max_users = 0;
      for (const auto& s : e.opt.plan.stages) {
        max_users = std::max({max_users, s.users, s.end_users});
      }
      count = users_share(max_users);
    }
    m_conns.resize(std::max<std::size_t>(count, 1));
    for (std::size_t i = 0; i < m_conns.size(); ++i) {
      m_conns[i].index = i;
    }
    m_timeout_ns = static_cast<std::int64_t>(e.opt.timeout_s * 1e9);
    m_think_ns = static_cast<std::int64_t>(e.opt.think_s * 1e9);
    m_window = std::make_unique<Window>();
  }
  ~Worker() {
    for (auto& c : m_conns) {
      if (c.fd >= 0) {
        ::close(c.fd);
      }
    }
    if (m_epoll >= 0) {
      ::close(m_epoll);
    }
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();

private:
  [[nodiscard]] std::size_t users_share(double users) const {
    const auto total = static_cast<std::int64_t>(std::llround(users));
    const int n = m_e.opt.threads;
    return static_cast<std::size_t>(total * (m_index + 1) / n - total * m_index / n);
  }
  std::int64_t due_ns(double k) const {
    const double t = m_e.opt.plan.arrival_time(k);
    return std::isfinite(t) ? m_e.t0 + static_cast<std::int64_t>(t * 1e9) : INT64_MAX;
  }
  void schedule_arrivals(std::int64_t now);
  void dispatch(std::int64_t now);
  void send_request(Conn& c, std::int64_t intended, std::int64_t now);
  void start_connect(Conn& c, std::int64_t now);
  void write_out(Conn& c, std::int64_t now);
  void on_event(Conn& c, std::uint32_t events);
  void on_readable(Conn& c);
  void complete(Conn& c, int status, std::int64_t now);
  void fail_request(Conn& c, ErrorKind kind, std::int64_t now, bool record_latency);
  void close_conn(Conn& c);
  void set_out(Conn& c, bool on);
  void became_idle(Conn& c, std::int64_t now);
  void sweep(std::int64_t now, bool all = false);
  void update_users(std::int64_t now);
  void publish(std::size_t cut);
  bool busy_left() const;

  Engine::Impl& m_e;
  int m_index;
  std::unique_ptr<RequestSource> m_source;
  bool m_head;
  std::vector<Conn> m_conns;
  std::vector<std::size_t> m_idle;    // LIFO of idle (or closed) connections
  std::deque<std::int64_t> m_backlog; // open model: due times waiting for a connection
  std::deque<std::pair<std::int64_t, std::size_t>> m_thinking; // closed model: (next send, conn)
  std::vector<char> m_buf;
  std::unique_ptr<Window> m_window;
  std::int64_t m_timeout_ns = 0, m_think_ns = 0, m_next_due = INT64_MAX, m_next_sweep = 0, m_next_users = 0;
  double m_next_k = 0;
  std::uint64_t m_cpu_mark = 0;
  std::size_t m_cut = 0, m_active_users = 0;
  int m_epoll = -1;
  bool m_ending = false;
};

void Worker::set_out(Conn& c, bool on) {
  if (c.want_out == on || c.fd < 0) {
    return;
  }
  c.want_out = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.u64 = c.index;
  epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
}

void Worker::close_conn(Conn& c) {
  if (c.fd >= 0) {
    epoll_ctl(m_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
  }
  c.state = ConnState::closed;
  c.out.clear();
  c.want_out = false;
  c.has_request = false;
}

void Worker::start_connect(Conn& c, std::int64_t now) {
  const int fd = ::socket(m_e.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail_request(c, ErrorKind::connect_error, now, false);
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.fd = fd;
  c.state = ConnState::connecting;
  c.want_out = true;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = c.index;
  epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&m_e.addr), m_e.addr_len) != 0 &&
      errno != EINPROGRESS) {
    fail_request(c, errno == ECONNREFUSED ? ErrorKind::connect_refused : ErrorKind::connect_error, now,
                 false);
  }
}

void Worker::send_request(Conn& c, std::int64_t intended, std::int64_t now) {
  c.intended = intended;
  c.sent = now;
  c.got_bytes = false;
  c.parser.reset(m_head);
  c.has_request = true;
  const std::string_view bytes = m_source->next();
  ++m_window->sent;
  if (now - intended > k_late_ns) {
    ++m_window->late;
  }
  m_window->bytes_out += bytes.size();
  if (c.state == ConnState::closed) {
    c.out.assign(bytes);
    start_connect(c, now);
    return;
  }
  c.state = ConnState::busy;
  const ssize_t n = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(bytes.size())) {
    return;
  }
  if (n < 0 && errno != EAGAIN) {
    fail_request(c, ErrorKind::read_error, now, false);
    return;
  }
  c.out.assign(bytes.substr(n < 0 ? 0 : static_cast<std::size_t>(n)));
  set_out(c, true);
}

void Worker::write_out(Conn& c, std::int64_t now) {
  if (c.state == ConnState::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail_request(c, err == ECONNREFUSED ? ErrorKind::connect_refused : ErrorKind::connect_error, now,
                   false);
      return;
    }
    c.state = ConnState::busy;
  }
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_out(c, true);
        return;
      }
      fail_request(c, ErrorKind::read_error, now, false);
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  set_out(c, false);
}

void Worker::fail_request(Conn& c, ErrorKind kind, std::int64_t now, bool record_latency) {
  close_conn(c);
  m_window->record_failure(kind);
  ++m_window->completed;
  if (record_latency) {
    m_window->latency.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - c.intended)));
    m_window->service.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - c.sent)));
  }
  if (m_e.opt.plan.model == Model::closed &&
      (kind == ErrorKind::connect_refused || kind == ErrorKind::connect_error)) {
    // A user whose server is down retries after a pause, not in a tight loop.
    m_thinking.emplace_back(now + std::max(m_think_ns, k_connect_retry_ns), c.index);
    return;
  }
  if (m_e.opt.plan.model == Model::open) {
    // Back to the pool, not straight to the backlog: a refused connect fails at once, and
    // taking the next due request here would recurse once per waiting request.
    m_idle.push_back(c.index);
    return;
  }
  became_idle(c, now);
}

void Worker::complete(Conn& c, int status, std::int64_t now) {
  c.has_request = false;
  m_window->record_status(status);
  ++m_window->completed;
  if (status < 400) {
    ++m_window->ok;
  }
  m_window->latency.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - c.intended)));
  m_window->service.record_ns(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - c.sent)));
  if (!c.parser.keep_alive()) {
    close_conn(c);
  } else {
    c.state = ConnState::idle;
  }
  if (m_e.opt.plan.model == Model::closed && m_think_ns > 0) {
    m_thinking.emplace_back(now + m_think_ns, c.index);
    return;
  }
  became_idle(c, now);
}

void Worker::became_idle(Conn& c, std::int64_t now) {
  if (m_e.opt.plan.model == Model::closed) {
    if (c.active && !m_ending) {
      send_request(c, now, now);
    }
    return;
  }
  if (!m_backlog.empty() && !m_ending) {
    const std::int64_t due = m_backlog.front();
    m_backlog.pop_front();
    send_request(c, due, now);
    return;
  }
  m_idle.push_back(c.index);
}

void Worker::on_readable(Conn& c) {
  for (;;) {
    const ssize_t n = ::recv(c.fd, m_buf.data(), m_buf.size(), 0);
    const std::int64_t now = mono_ns();
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      if (c.state == ConnState::busy && c.has_request) {
        if (c.parser.on_eof() == ResponseParser::Result::done) {
          complete(c, c.parser.status(), now);
        } else {
          fail_request(c, n == 0 ? ErrorKind::closed : ErrorKind::read_error, now, false);
        }
      } else {
        // An idle keep-alive connection the server closed: reopen it when next needed.
        const bool was_idle = c.state == ConnState::idle;
        close_conn(c);
        (void)was_idle;
      }
      return;
    }
    if (n < 0) {
      return;
    }
    m_window->bytes_in += static_cast<std::uint64_t>(n);
    if (c.state != ConnState::busy || !c.has_request) {
      // Bytes nobody asked for: the connection is out of step, so drop it.
      close_conn(c);
      return;
    }
    c.got_bytes = true;
    const char* p = m_buf.data();
    const char* end = p + n;
    const auto r = c.parser.feed(p, end);
    if (r == ResponseParser::Result::error) {
      fail_request(c, ErrorKind::protocol, now, false);
      return;
    }
    if (r == ResponseParser::Result::done) {
      complete(c, c.parser.status(), now);
      return;
    }
    if (static_cast<std::size_t>(n) < m_buf.size()) {
      return;
    }
  }
}

void Worker::on_event(Conn& c, std::uint32_t events) {
  const std::int64_t now = mono_ns();
  if (c.state == ConnState::connecting && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    fail_request(c, err == ECONNREFUSED || err == 0 ? ErrorKind::connect_refused : ErrorKind::connect_error,
                 now, false);
    return;
  }
  if (events & EPOLLOUT) {
    write_out(c, now);
    if (c.fd < 0) {
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    on_readable(c);
  }
}

void Worker::schedule_arrivals(std::int64_t now) {
  const int n = m_e.opt.threads;
  while (m_next_due <= now) {
    if (m_backlog.size() < k_max_backlog) {
      m_backlog.push_back(m_next_due);
    } else {
      ++m_window->dropped;
    }
    m_next_k += n;
    m_next_due = due_ns(m_next_k);
  }
}

void Worker::dispatch(std::int64_t now) {
  while (!m_backlog.empty() && !m_idle.empty()) {
    Conn& c = m_conns[m_idle.back()];
    m_idle.pop_back();
    const std::int64_t due = m_backlog.front();
    m_backlog.pop_front();
    send_request(c, due, now);
  }
}

void Worker::update_users(std::int64_t now) {
  if (now >= m_next_users) {
    // The stage's user count follows ramps at 10 Hz: walking every user each turn of the
    // loop would cost more than the requests.
    m_next_users = now + 100'000'000;
    const double t = static_cast<double>(now - m_e.t0) / 1e9;
    const std::size_t want = m_ending ? 0 : std::min(users_share(m_e.opt.plan.level_at(t)), m_conns.size());
    if (want != m_active_users) {
      for (std::size_t i = 0; i < m_conns.size(); ++i) {
        Conn& c = m_conns[i];
        const bool active = i < want;
        const bool starts = active && !c.active;
        c.active = active;
        if (starts && !c.has_request) {
          send_request(c, now, now);
        }
      }
      m_active_users = want;
    }
  }
  // Thinkers whose time has come send again (if still active).
  while (!m_thinking.empty() && m_thinking.front().first <= now) {
    Conn& c = m_conns[m_thinking.front().second];
    m_thinking.pop_front();
    if (c.active && !c.has_request && !m_ending) {
      send_request(c, now, now);
    }
  }
}

void Worker::sweep(std::int64_t now, bool all) {
  for (auto& c : m_conns) {
    if (c.has_request && (all || now - c.sent > m_timeout_ns)) {
      fail_request(c, ErrorKind::timeout, now, true);
    }
  }
}

bool Worker::busy_left() const {
  return std::any_of(m_conns.begin(), m_conns.end(), [](const Conn& c) { return c.has_request; });
}

void Worker::publish(std::size_t cut) {
  const std::uint64_t cpu = thread_cpu_ns();
  m_window->cpu_ns = cpu - m_cpu_mark;
  m_cpu_mark = cpu;
  m_window->threads = 1;
  m_window->connections = static_cast<std::uint64_t>(
      std::count_if(m_conns.begin(), m_conns.end(), [](const Conn& c) { return c.fd >= 0; }));
  m_window->users = m_e.opt.plan.model == Model::closed ? m_active_users : 0;
  m_e.hand_over(cut, std::move(m_window));
  m_window = std::make_unique<Window>();
}

void Worker::run() {
  // The default 50 us timer slack may delay each wake-up for a due request by that much,
  // counted as latency; none at all (1 ns) cost a third more CPU per request on the VM at
  // 10k req/s. 10 us keeps the error small next to any server's latency.
  prctl(PR_SET_TIMERSLACK, 10'000UL, 0, 0, 0);
  m_epoll = epoll_create1(EPOLL_CLOEXEC);
  m_cpu_mark = thread_cpu_ns();
  const bool open = m_e.opt.plan.model == Model::open;
  for (std::size_t i = m_conns.size(); i-- > 0;) {
    m_conns[i].active = false;
    if (open) {
      m_idle.push_back(i);
    }
  }
  m_next_k = m_index;
  m_next_due = open ? due_ns(m_next_k) : INT64_MAX;
  const auto& cuts = m_e.cuts;
  const std::int64_t end_ns = m_e.t0 + static_cast<std::int64_t>(cuts.back() * 1e9);
  std::int64_t drain_until = 0;
  std::vector<epoll_event> events(512);
  for (;;) {
    std::int64_t now = mono_ns();
    if (m_e.stopping.load(std::memory_order_relaxed)) {
      publish(cuts.size()); // the last, partial window: the caller discards it
      return;
    }
    if (!m_ending && now >= end_ns) {
      m_ending = true;
      m_window->dropped += m_backlog.size();
      m_backlog.clear();
      drain_until = now + std::min<std::int64_t>(m_timeout_ns, 10 * k_ns);
    }
    if (!m_ending) {
      if (open) {
        schedule_arrivals(now);
        dispatch(now);
      } else {
        update_users(now);
      }
      while (m_cut + 1 < cuts.size() && now >= m_e.t0 + static_cast<std::int64_t>(cuts[m_cut] * 1e9)) {
        publish(m_cut++);
      }
    } else if (!busy_left() || now >= drain_until) {
      sweep(now, true); // what is still in flight after the drain timed out
      publish(m_cut);
      return;
    }
    if (now >= m_next_sweep) {
      sweep(now);
      m_next_sweep = now + k_sweep_ns;
    }
    std::int64_t wake = std::min(m_next_sweep, m_ending ? drain_until : end_ns);
    if (!m_ending) {
      wake = std::min(wake, m_e.t0 + static_cast<std::int64_t>(cuts[m_cut] * 1e9));
      if (open && (m_backlog.empty() || !m_idle.empty())) {
        wake = std::min(wake, m_next_due);
      }
      if (!m_thinking.empty()) {
        wake = std::min(wake, m_thinking.front().first);
      }
      if (!open) {
        wake = std::min(wake, m_next_users);
      }
    }
    now = mono_ns();
    const std::int64_t wait = std::max<std::int64_t>(0, wake - now);
    timespec ts{wait / k_ns, wait % k_ns};
    const int n = epoll_pwait2(m_epoll, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int i = 0; i < n; ++i) {
      Conn& c = m_conns[events[static_cast<std::size_t>(i)].data.u64];
      if (c.fd >= 0) {
        on_event(c, events[static_cast<std::size_t>(i)].events);
      }
    }
  }
}

} // namespace

std::int64_t engine_now_ns() {
  return mono_ns();
}

void run_worker(Engine::Impl& impl, int index) {
  Worker w(impl, index);
  w.run();
}

} // namespace mp::bench
