#include "ai/retry.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;
using namespace std::chrono_literals;

TEST_CASE("backoff: full jitter under an exponential ceiling", "[retry]") {
  RetryPolicy p{6, 500ms, 4000ms, 60s};
  REQUIRE(backoff_wait(p, 1, 1.0) == 500ms);
  REQUIRE(backoff_wait(p, 2, 1.0) == 1000ms);
  REQUIRE(backoff_wait(p, 3, 1.0) == 2000ms);
  REQUIRE(backoff_wait(p, 4, 1.0) == 4000ms);
  REQUIRE(backoff_wait(p, 5, 1.0) == 4000ms); // capped
  REQUIRE(backoff_wait(p, 3, 0.5) == 1000ms);
  REQUIRE(backoff_wait(p, 3, 0.0) == 0ms);
}

TEST_CASE("retry: attempts are bounded; Retry-After wins when longer", "[retry]") {
  RetryPolicy p{3, 500ms, 4000ms, 60s};
  REQUIRE(next_retry_wait(p, 1, 0ms, std::nullopt, 1.0) == 500ms);
  REQUIRE(next_retry_wait(p, 2, 500ms, std::nullopt, 1.0) == 1000ms);
  REQUIRE_FALSE(next_retry_wait(p, 3, 1500ms, std::nullopt, 1.0)); // 3 attempts made
  REQUIRE(next_retry_wait(p, 1, 0ms, 7000ms, 1.0) == 7000ms);
  REQUIRE(next_retry_wait(p, 1, 0ms, 100ms, 1.0) == 500ms);
}

TEST_CASE("retry: the total wait is capped", "[retry]") {
  RetryPolicy p{10, 1000ms, 10s, 5s};
  REQUIRE(next_retry_wait(p, 1, 0ms, 4s, 1.0) == 4s);
  REQUIRE_FALSE(next_retry_wait(p, 2, 4s, 2s, 1.0)); // 4 + 2 > 5
}

TEST_CASE("circuit breaker: opens after N failures, probes half-open, closes on success", "[retry]") {
  mp::util::ManualClock clock;
  CircuitBreaker b(3, 10s, clock);
  REQUIRE(b.allow());
  b.on_failure();
  b.on_failure();
  REQUIRE(b.state() == BreakerState::closed);
  b.on_success(); // a success resets the count
  b.on_failure();
  b.on_failure();
  b.on_failure();
  REQUIRE(b.state() == BreakerState::open);
  REQUIRE_FALSE(b.allow());
  clock.advance(10s);
  REQUIRE(b.allow()); // the probe
  REQUIRE(b.state() == BreakerState::half_open);
  REQUIRE_FALSE(b.allow()); // one probe at a time
  b.on_failure();
  REQUIRE(b.state() == BreakerState::open); // failed probe: open again
  clock.advance(10s);
  REQUIRE(b.allow());
  b.on_success();
  REQUIRE(b.state() == BreakerState::closed);
  REQUIRE(b.allow());
}
