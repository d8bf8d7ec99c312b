#include "util/timer_queue.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <vector>

using mp::util::TimerQueue;
using namespace std::chrono_literals;

TEST_CASE("timer queue: functions run in time order, cancelled ones never", "[timer]") {
  TimerQueue timers;
  std::mutex m;
  std::vector<int> order;
  std::promise<void> done;
  const auto now = std::chrono::steady_clock::now();
  timers.schedule(now + 30ms, [&] {
    std::lock_guard l(m);
    order.push_back(3);
    done.set_value();
  });
  timers.schedule(now + 10ms, [&] {
    std::lock_guard l(m);
    order.push_back(1);
  });
  const auto cancelled = timers.schedule(now + 20ms, [&] {
    std::lock_guard l(m);
    order.push_back(2);
  });
  REQUIRE(timers.cancel(cancelled));
  REQUIRE_FALSE(timers.cancel(cancelled));
  done.get_future().wait();
  std::lock_guard l(m);
  REQUIRE(order == std::vector<int>{1, 3});
}

TEST_CASE("timer queue: a time in the past runs at once; stop drops the rest", "[timer]") {
  auto timers = std::make_unique<TimerQueue>();
  std::promise<void> ran;
  timers->schedule(std::chrono::steady_clock::now() - 1s, [&] { ran.set_value(); });
  ran.get_future().wait();
  bool late = false;
  timers->schedule_after(1h, [&] { late = true; });
  timers->stop();
  timers.reset();
  REQUIRE_FALSE(late);
}
