#pragma once
// A thread that runs functions at given times: long-poll timeouts, retry back-offs,
// periodic housekeeping. Functions run one at a time on the timer thread and must be
// short; a function scheduled in the past runs at once.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace mp::util {

class TimerQueue {
public:
  using Time = std::chrono::steady_clock::time_point;

  TimerQueue();
  /// Stops the thread; pending functions are dropped.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Runs `fn` at `when`; returns a handle for cancel(). Thread-safe.
  std::uint64_t schedule(Time when, std::function<void()> fn);
  std::uint64_t schedule_after(std::chrono::nanoseconds delay, std::function<void()> fn) {
    return schedule(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  /// True when the function had not run yet and now never will.
  bool cancel(std::uint64_t handle);
  /// Stops the thread now (idempotent); pending functions are dropped.
  void stop();

private:
  void run();

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::multimap<Time, std::uint64_t> m_by_time;
  std::map<std::uint64_t, std::pair<Time, std::function<void()>>> m_tasks;
  std::uint64_t m_next = 1;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace mp::util
