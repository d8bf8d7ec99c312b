#include "ai/limiter.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;
using namespace std::chrono_literals;

TEST_CASE("limiter: requests per minute is a sliding window", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{3, 0, 0, 0ms}, clock);
  const auto start = clock.steady_now();
  REQUIRE(l.try_acquire(0).granted);
  clock.advance(10s);
  REQUIRE(l.try_acquire(0).granted);
  clock.advance(10s);
  REQUIRE(l.try_acquire(0).granted);
  auto denied = l.try_acquire(0);
  REQUIRE_FALSE(denied.granted);
  REQUIRE(denied.retry_at == start + 60s); // when the first one leaves the window
  clock.advance(39s);                      // t = 59 s
  REQUIRE_FALSE(l.try_acquire(0).granted);
  clock.advance(1s); // t = 60 s: the first has left
  REQUIRE(l.try_acquire(0).granted);
  REQUIRE_FALSE(l.try_acquire(0).granted);
}

TEST_CASE("limiter: no 60 s window ever holds more than the limit", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{30, 0, 0, 0ms}, clock);
  std::vector<mp::util::Clock::SteadyTime> grants;
  for (int step = 0; step < 6000; ++step) { // 10 minutes in 100 ms steps, always asking
    while (l.try_acquire(0).granted) {
      grants.push_back(clock.steady_now());
    }
    clock.advance(100ms);
  }
  std::size_t most = 0;
  for (std::size_t i = 0; i < grants.size(); ++i) {
    std::size_t j = i;
    while (j < grants.size() && grants[j] < grants[i] + 60s) {
      ++j;
    }
    most = std::max(most, j - i);
  }
  REQUIRE(most == 30);
  REQUIRE(grants.size() == 300); // and it uses the whole allowance: 30 per minute
}

TEST_CASE("limiter: requests per hour", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{0, 2, 0, 0ms}, clock);
  const auto start = clock.steady_now();
  REQUIRE(l.try_acquire(0).granted);
  REQUIRE(l.try_acquire(0).granted);
  auto d = l.try_acquire(0);
  REQUIRE_FALSE(d.granted);
  REQUIRE(d.retry_at == start + 1h);
}

TEST_CASE("limiter: the budget counts reservations, so it is never exceeded", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{0, 0, 1.0, 0ms}, clock);
  std::vector<std::uint64_t> held;
  for (int i = 0; i < 10; ++i) {
    auto g = l.try_acquire(0.10);
    REQUIRE(g.granted);
    held.push_back(g.reservation);
  }
  REQUIRE_FALSE(l.try_acquire(0.10).granted); // 10 x 0.10 reserved: nothing left
  REQUIRE(l.snapshot().budget_left == Approx(0.0).margin(1e-9));
  // Real costs come in lower than the estimates: the difference is freed.
  for (auto r : held) {
    l.reconcile(r, 0.05);
  }
  REQUIRE(l.snapshot().spent_hour == Approx(0.5));
  REQUIRE(l.snapshot().reserved == Approx(0.0).margin(1e-9));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(l.try_acquire(0.10).granted);
  }
  REQUIRE_FALSE(l.try_acquire(0.10).granted);
}

TEST_CASE("limiter: spend leaves the budget window after an hour", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{0, 0, 1.0, 0ms}, clock);
  const auto start = clock.steady_now();
  auto g = l.try_acquire(0.8);
  l.reconcile(g.reservation, 0.8);
  clock.advance(30min);
  auto d = l.try_acquire(0.5);
  REQUIRE_FALSE(d.granted);
  REQUIRE(d.retry_at == start + 1h);
  clock.advance(30min);
  REQUIRE(l.try_acquire(0.5).granted);
}

TEST_CASE("limiter: an estimate larger than the whole budget is impossible", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{0, 0, 1.0, 0ms}, clock);
  auto g = l.try_acquire(1.5);
  REQUIRE_FALSE(g.granted);
  REQUIRE(g.impossible);
}

TEST_CASE("limiter: the window margin spaces grants a minute plus the margin apart", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{1, 0, 0, 500ms}, clock);
  const auto start = clock.steady_now();
  REQUIRE(l.try_acquire(0).granted);
  auto d = l.try_acquire(0);
  REQUIRE_FALSE(d.granted);
  REQUIRE(d.retry_at == start + 60500ms);
  clock.advance(60s);
  REQUIRE_FALSE(l.try_acquire(0).granted); // a plain 60 s window would grant here
  clock.advance(500ms);
  REQUIRE(l.try_acquire(0).granted);
}

TEST_CASE("limiter: zero limits mean unlimited", "[limiter]") {
  mp::util::ManualClock clock;
  SlidingWindowLimiter l(LimitConfig{0, 0, 0, 0ms}, clock);
  for (int i = 0; i < 10'000; ++i) {
    REQUIRE(l.try_acquire(1.0).granted);
  }
}
