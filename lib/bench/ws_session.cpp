#include "bench/ws_session.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace mp::bench::ws {

std::string broadcast_body(const std::string& topic, int pad_bytes) {
  return fmt::format(R"({{"topic":"{}","type":"bench","data":{{"pad":"{}"}},"priority":"normal"}})", topic,
                     std::string(static_cast<std::size_t>(std::max(pad_bytes, 0)), 'x'));
}

bool raise_fd_limit(std::size_t connections) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= static_cast<rlim_t>(connections) + 64;
}

Session::Session(const WorkerOptions& opt, Url url, std::size_t connections)
    : m_shared{opt, std::move(url)}, m_connections(connections) {
  m_shared.opt.threads = static_cast<int>(std::clamp<std::size_t>(
      static_cast<std::size_t>(std::max(opt.threads, 1)), 1, std::max<std::size_t>(connections, 1)));
  m_shared.upgrade_tail =
      "\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
}

Session::~Session() {
  if (!m_finished) {
    finish();
  }
}

void Session::start() {
  const auto threads = static_cast<std::size_t>(m_shared.opt.threads);
  const std::size_t per = m_connections / threads, extra = m_connections % threads;
  const auto seed = static_cast<std::uint64_t>(real_ns());
  for (std::size_t i = 0; i < threads; ++i) {
    m_workers.push_back(std::make_unique<Worker>(m_shared, per + (i < extra ? 1 : 0), seed + i * 7919));
  }
  for (auto& w : m_workers) {
    m_threads.emplace_back([worker = w.get()] { worker->run(); });
  }
}

bool Session::wait_until(std::int64_t deadline_ns, const std::function<bool()>& pred) {
  for (;;) {
    if (pred && pred()) {
      return true;
    }
    const std::int64_t now = mono_ns();
    if (now >= deadline_ns || is_stopped()) {
      return false;
    }
    if (on_tick) {
      on_tick();
    }
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<std::int64_t>(deadline_ns - now, 1'000'000)));
  }
}

double Session::connect_all(double timeout_s) {
  const std::int64_t t0 = mono_ns();
  const auto n = static_cast<int>(m_connections);
  int last_report = 0;
  wait_until(t0 + static_cast<std::int64_t>(timeout_s * 1e9), [&] {
    const int done = resolved();
    if (log && done - last_report >= std::max(1000, n / 10)) {
      log(fmt::format("{}/{} resolved, {} open", done, n, open()));
      last_report = done;
    }
    return done >= n;
  });
  // Workers open only while connecting: a wait that gave up stops the ramp.
  if (m_shared.phase.load() == Phase::connecting) {
    set_phase(Phase::warming);
  }
  const double took = seconds(mono_ns() - t0);
  if (log) {
    log(fmt::format("{}/{} connected in {:.2f} s", open(), n, took));
  }
  return took;
}

namespace {

void post_one(Publisher& publisher, const std::string& body, PublishStats& stats) {
  if (stats.first_real_ns == 0) {
    stats.first_real_ns = real_ns();
  }
  const std::int64_t t = mono_ns();
  const int status = publisher.post(body);
  stats.rtt.record_ns(static_cast<std::uint64_t>(mono_ns() - t));
  ++stats.attempts;
  ++stats.statuses[status];
  if (status == 200) {
    ++stats.published;
  } else {
    ++stats.errors;
  }
}

} // namespace

void Session::publish_paced(Publisher& publisher, const std::string& body, double rate, std::uint64_t count,
                            std::int64_t until_ns, PublishStats& stats) {
  const std::int64_t start = mono_ns();
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto due = start + static_cast<std::int64_t>(1e9 * static_cast<double>(i) / rate);
    if (due >= until_ns) {
      return;
    }
    if (due > mono_ns()) {
      wait_until(due, {});
    }
    if (is_stopped()) {
      return;
    }
    post_one(publisher, body, stats);
  }
}

bool Session::publish_bursts(Publisher& publisher, const std::string& body, int burst, std::uint64_t count,
                             std::int64_t until_ns, double drain_timeout_s, PublishStats& stats) {
  std::uint64_t attempts = 0;
  while (attempts < count && mono_ns() < until_ns && !is_stopped()) {
    // As fast as the server takes them, then until every subscriber has them all, so a
    // bounded send queue never has to drop and the figure is the delivery rate.
    for (int i = 0; i < burst && attempts < count; ++i, ++attempts) {
      post_one(publisher, body, stats);
    }
    if (!drain(stats.published, drain_timeout_s)) {
      if (log) {
        log(fmt::format("a burst did not fully arrive within {} s", drain_timeout_s));
      }
      return false;
    }
  }
  return true;
}

bool Session::drain(std::uint64_t published, double timeout_s) {
  return wait_until(mono_ns() + static_cast<std::int64_t>(timeout_s * 1e9),
                    [&] { return events() >= static_cast<std::uint64_t>(std::max(open(), 0)) * published; });
}

bool Session::drain_warm(std::uint64_t published, double timeout_s) {
  return wait_until(mono_ns() + static_cast<std::int64_t>(timeout_s * 1e9), [&] {
    return warm_events() >= static_cast<std::uint64_t>(std::max(open(), 0)) * published;
  });
}

IntervalCounts Session::take_interval() {
  if (!m_finished) {
    const std::uint64_t want = m_shared.rotation.fetch_add(1, std::memory_order_relaxed) + 1;
    // A worker answers at the end of its loop turn, which waits at most 10 ms.
    const std::int64_t deadline = mono_ns() + 50'000'000;
    for (const auto& w : m_workers) {
      while (w->rotation_done() < want && mono_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  }
  IntervalCounts sum;
  for (const auto& w : m_workers) {
    sum.merge(w->take_interval());
  }
  return sum;
}

void Session::finish() {
  if (m_finished) {
    return;
  }
  set_phase(Phase::closing);
  for (auto& t : m_threads) {
    t.join();
  }
  m_finished = true;
}

std::uint64_t Session::events() const {
  std::uint64_t sum = 0;
  for (const auto& w : m_workers) {
    sum += w->events();
  }
  return sum;
}

std::uint64_t Session::warm_events() const {
  std::uint64_t sum = 0;
  for (const auto& w : m_workers) {
    sum += w->warm_events();
  }
  return sum;
}

Stats Session::merged() const {
  Stats all;
  for (const auto& w : m_workers) {
    all.merge(w->stats());
    all.received.insert(all.received.end(), w->stats().received.begin(), w->stats().received.end());
  }
  return all;
}

} // namespace mp::bench::ws
