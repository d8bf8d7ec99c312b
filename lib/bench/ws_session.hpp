#pragma once
// A WebSocket load run as the main thread drives it: start the workers (ws_worker.hpp), wait
// for the connections, switch phases, publish broadcasts, drain, close, and gather the
// workers' figures. run_ws (ws_run.cpp) and bench/ws_load.cpp are its two users; each adds
// what it reports.
//
// The main thread only sleeps, posts and reads atomics: every wait is in steps of at most
// 1 ms and calls `on_tick` each step (run_ws emits its intervals there), and ends early once
// `stopped()` is true.

#include "bench/ws_wire.hpp"
#include "bench/ws_worker.hpp"
#include "util/histogram.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mp::bench::ws {

/// What the publisher did (main thread only).
struct PublishStats {
  mp::util::Histogram rtt;
  std::uint64_t attempts = 0, published = 0, errors = 0;
  std::map<int, std::uint64_t> statuses; // HTTP status (0: no connection) -> count
  std::int64_t first_real_ns = 0;        // CLOCK_REALTIME of the first post
};

/// The broadcast body the publisher posts: `{"topic":..,"type":"bench","data":{"pad":"xxx.."},
/// "priority":"normal"}` with `pad_bytes` x's (what mp-serve's POST /api/ws/broadcast takes).
std::string broadcast_body(const std::string& topic, int pad_bytes);

/// Raises RLIMIT_NOFILE to its hard limit; false when that is still too low for `connections`.
bool raise_fd_limit(std::size_t connections);

class Session {
public:
  /// Nothing starts until start(); `connections` are spread over `opt.threads` workers.
  Session(const WorkerOptions& opt, Url url, std::size_t connections);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Closes and joins if finish() was not called.
  ~Session();

  /// Called every wait step (about every millisecond) from the waiting thread.
  std::function<void()> on_tick;
  /// Ends every wait early when it returns true.
  std::function<bool()> stopped;
  /// Progress lines (none when empty).
  std::function<void(const std::string&)> log;

  /// Starts the worker threads; the ramp begins.
  void start();
  /// Waits until every connection is ready or has failed, or `timeout_s`; returns the time
  /// it took. Connections not opened by then are never opened.
  double connect_all(double timeout_s);
  void set_phase(Phase phase) { m_shared.phase.store(phase, std::memory_order_release); }
  /// Posts `body` at `rate` per second until `until_ns` (monotonic) or `count` posts.
  void publish_paced(Publisher& publisher, const std::string& body, double rate, std::uint64_t count,
                     std::int64_t until_ns, PublishStats& stats);
  /// Posts in bursts of `burst`, each waited for until every open connection has it (at most
  /// `drain_timeout_s`), until `until_ns` or `count`. False when a burst did not arrive.
  bool publish_bursts(Publisher& publisher, const std::string& body, int burst, std::uint64_t count,
                      std::int64_t until_ns, double drain_timeout_s, PublishStats& stats);
  /// Waits until the measured events reach open connections x `published` (at most
  /// `timeout_s`); true when they did.
  bool drain(std::uint64_t published, double timeout_s);
  /// As drain, for the events read in the warm-up.
  bool drain_warm(std::uint64_t published, double timeout_s);
  /// Sleeps in steps of at most 1 ms until `pred()`, `deadline_ns` (monotonic) or stopped();
  /// true when pred() held.
  bool wait_until(std::int64_t deadline_ns, const std::function<bool()>& pred);
  /// Asks every worker for its hand-off and sums them (waits at most ~50 ms for the
  /// workers' answers; after finish() it reads their last hand-off).
  IntervalCounts take_interval();
  /// Closes every connection and joins the workers (the close handshakes take at most ~2 s).
  void finish();

  [[nodiscard]] std::uint64_t events() const;
  [[nodiscard]] std::uint64_t warm_events() const;
  [[nodiscard]] int open() const { return m_shared.open.load(std::memory_order_relaxed); }
  [[nodiscard]] int resolved() const { return m_shared.resolved.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t connections() const { return m_connections; }
  [[nodiscard]] int threads() const { return m_shared.opt.threads; }
  /// The workers (their stats() and per-worker figures only after finish()).
  [[nodiscard]] const std::vector<std::unique_ptr<Worker>>& workers() const { return m_workers; }
  /// Every worker's Stats merged, with `received` concatenated; after finish().
  [[nodiscard]] Stats merged() const;

private:
  bool is_stopped() const { return stopped && stopped(); }

  Shared m_shared;
  std::size_t m_connections;
  std::vector<std::unique_ptr<Worker>> m_workers;
  std::vector<std::thread> m_threads;
  bool m_finished = false;
};

} // namespace mp::bench::ws
