#pragma once
// Internal to lib/bench/engine*.cpp: the engine's shared state, and the worker thread body
// (engine_worker.cpp) that the engine (engine.cpp) starts.

#include "bench/engine.hpp"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace mp::bench {

struct Engine::Impl {
  EngineOptions opt;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::vector<double> cuts;
  std::int64_t t0 = 0;
  std::atomic<bool> stopping{false};

  // Handed-over windows: [cut][worker].
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::size_t, std::vector<std::unique_ptr<Window>>> ready;
  int finished = 0;
  std::vector<std::thread> threads;

  void hand_over(std::size_t cut, std::unique_ptr<Window> w) {
    std::lock_guard lock(mu);
    auto& slot = ready[cut];
    slot.push_back(std::move(w));
    if (slot.size() == static_cast<std::size_t>(opt.threads)) {
      cv.notify_all();
    }
  }
  void worker_done() {
    std::lock_guard lock(mu);
    ++finished;
    cv.notify_all();
  }
};

/// CLOCK_MONOTONIC in nanoseconds: the time base of the run (Impl::t0).
std::int64_t engine_now_ns();

/// The body of worker thread `index`: runs its share of the plan, hands over its windows.
void run_worker(Engine::Impl& impl, int index);

} // namespace mp::bench
