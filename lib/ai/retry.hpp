#pragma once
// The single retry loop's arithmetic, and the circuit breaker.
//
// Backoff: "full jitter" (AWS architecture blog): the wait before retry n (n from 1)
// is uniform in [0, min(max_backoff, base * 2^(n-1))]. A Retry-After from the upstream
// replaces the drawn wait when it is longer. The total of all waits for one request is
// capped: a retry whose wait would cross `max_total_wait` is not made, and the request
// fails with the last upstream error.
//
// Circuit breaker: closed until `failure_threshold` consecutive attempts fail; then
// open for `open_for`, during which no attempt starts (requests wait in the queue);
// then half-open: one probe attempt; success closes it, failure opens it again.

#include "util/clock.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

namespace mp::ai {

struct RetryPolicy {
  int max_attempts = 4; ///< the first try included
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds max_backoff{20'000};
  std::chrono::milliseconds max_total_wait{60'000};
};

/// Draws the wait before retry `retry` (1 for the first retry). `uniform01` returns a
/// number in [0, 1): tests pass a fixed one.
std::chrono::milliseconds backoff_wait(const RetryPolicy& p, int retry, double uniform01);

/// The wait before the next attempt, or nullopt when no retry is allowed: attempts
/// used up, or the total wait cap would be crossed.
std::optional<std::chrono::milliseconds> next_retry_wait(const RetryPolicy& p, int attempts_made,
                                                         std::chrono::milliseconds waited_so_far,
                                                         std::optional<std::chrono::milliseconds> retry_after,
                                                         double uniform01);

enum class BreakerState { closed, open, half_open };

class CircuitBreaker {
public:
  CircuitBreaker(int failure_threshold, std::chrono::milliseconds open_for, const util::Clock& clock);

  /// May an attempt start now? In half-open, only one at a time.
  bool allow();
  /// When an open breaker will let a probe through.
  [[nodiscard]] util::Clock::SteadyTime retry_at() const;
  void on_success();
  void on_failure();
  [[nodiscard]] BreakerState state() const;

private:
  int m_threshold;
  std::chrono::milliseconds m_open_for;
  const util::Clock& m_clock;
  mutable std::mutex m_mutex;
  BreakerState m_state = BreakerState::closed;
  int m_failures = 0;
  bool m_probe_out = false;
  util::Clock::SteadyTime m_opened{};
};

} // namespace mp::ai
