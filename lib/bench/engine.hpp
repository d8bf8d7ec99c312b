#pragma once
// The HTTP load generator: worker threads with their own epoll sets and connections, driven
// by a Plan, counting into Windows that the caller collects interval by interval.
//
// Open model (default): worker i of n owns arrivals i, i+n, i+2n, ... of the plan's schedule.
// A due arrival goes to an idle connection at once, or waits in the worker's backlog (FIFO)
// until one is free. Its latency is measured from the time it was due, not from when it was
// written, so a server that stalls for a second shows a second in the percentiles (wrk2's
// correction for coordinated omission); the time from the write is kept apart as service time.
// A request written more than 10 ms after it was due is "late"; one still waiting when the
// run ends, or beyond the backlog bound, is "dropped".
//
// Closed model: each virtual user is one connection that sends, waits for the answer, thinks
// for --think-time and sends again; the stage's user count (ramped) says how many are active.
// Latency is from the write: a closed model cannot measure from an intended time.
//
// Connections are opened when first needed and kept alive; a worker takes the most recently
// idle one (LIFO), so a low rate uses few connections however many are allowed.
//
// Intervals: the run is cut at every --interval tick and at every stage boundary, so a window
// belongs to exactly one stage. Each worker hands its window over at each cut; `next()`
// returns the windows of all workers merged, in order.

#include "bench/http_wire.hpp"
#include "bench/plan.hpp"
#include "bench/stats.hpp"
#include "bench/workload.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace mp::bench {

struct EngineOptions {
  HttpUrl url;
  Plan plan;
  int threads = 1;
  int connections = 100; ///< open model: the pool, spread over the threads
  double think_s = 0;    ///< closed model
  double timeout_s = 10; ///< per request
  double interval_s = 1;
  const RequestSource* source = nullptr;
};

class Engine {
public:
  /// Resolves the host; Errc::unavailable when it does not resolve.
  static Expected<std::unique_ptr<Engine>> create(EngineOptions opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The cut times (seconds since the start), ascending; the last is the plan's end.
  [[nodiscard]] const std::vector<double>& cuts() const { return m_cuts; }

  /// Starts the workers; the run's time 0 is now.
  void start();
  /// The merged window ending at cuts()[i] for i = 0, 1, ... in turn (the last one includes
  /// what completed while in-flight requests drained); nullopt once the run is over or stopped.
  std::optional<Window> next();
  /// Ends the run early: workers stop sending and `next()` returns nullopt. Thread-safe.
  void stop();
  /// Joins the workers (also done by the destructor).
  void join();

  struct Impl;

private:
  explicit Engine(std::unique_ptr<Impl> impl, std::vector<double> cuts);
  std::unique_ptr<Impl> m_impl;
  std::vector<double> m_cuts;
  std::size_t m_next = 0;
};

/// The cut times of a plan at `interval_s` ticks and stage ends (exposed for tests).
std::vector<double> plan_cuts(const Plan& plan, double interval_s);

} // namespace mp::bench
