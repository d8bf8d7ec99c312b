#pragma once
// Upstream limits: requests per minute, requests per hour, and dollars per hour.
//
// Sliding windows, exact: the limiter remembers when each granted attempt started
// (at most requests_per_hour timestamps) and the cost charged at that time. An attempt
// is granted only if, counting it, no window would be over its limit, and the cost
// budget is checked against spent + reserved + this attempt's estimate. The estimate
// is reserved at grant time and replaced by the real cost when the attempt reports
// back (reconcile), so concurrent attempts can never together overshoot the budget.
//
// A denied attempt learns when to ask again (the moment the oldest entry leaves the
// window that blocked it): limited requests wait in the queue, they do not fail.
// An attempt whose estimate alone exceeds the hourly budget can never run.
//
// Thread-safe. The Redis implementation of a later issue keeps the same interface.

#include "util/clock.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace mp::ai {

struct LimitConfig {
  std::int64_t requests_per_minute = 20; ///< 0: no limit
  std::int64_t requests_per_hour = 1000; ///< 0: no limit
  double cost_limit_per_hour = 10.0;     ///< dollars; 0: no limit
  /// Added to the request windows: an attempt is granted here but arrives upstream a
  /// little later, and that delay varies, so two attempts granted 60 s apart can arrive
  /// 59.9 s apart. The margin keeps the upstream's own count under the limit.
  std::chrono::milliseconds window_margin{1000};
};

/// The outcome of asking to start one upstream attempt.
struct Grant {
  bool granted = false;
  std::uint64_t reservation = 0;      ///< pass to reconcile()
  util::Clock::SteadyTime retry_at{}; ///< when denied: ask again then
  bool impossible = false;            ///< the estimate exceeds the budget itself
};

struct LimiterSnapshot {
  std::int64_t used_minute = 0;
  std::int64_t used_hour = 0;
  double spent_hour = 0;  ///< real costs of the last hour
  double reserved = 0;    ///< estimates not yet reconciled
  double budget_left = 0; ///< limit - spent - reserved (or +inf when unlimited)
};

class Limiter {
public:
  virtual ~Limiter() = default;
  virtual Grant try_acquire(double estimated_cost) = 0;
  /// Replaces a reservation's estimate by the real cost (0 for a failed attempt that
  /// the upstream did not bill).
  virtual void reconcile(std::uint64_t reservation, double actual_cost) = 0;
  [[nodiscard]] virtual LimiterSnapshot snapshot() const = 0;
  /// True when try_acquire may block on the network (the Redis limiter): the pipeline then
  /// calls it without holding its lock.
  [[nodiscard]] virtual bool remote() const { return false; }
};

class SlidingWindowLimiter final : public Limiter {
public:
  SlidingWindowLimiter(LimitConfig config, const util::Clock& clock);

  Grant try_acquire(double estimated_cost) override;
  void reconcile(std::uint64_t reservation, double actual_cost) override;
  [[nodiscard]] LimiterSnapshot snapshot() const override;

private:
  struct Attempt {
    util::Clock::SteadyTime at;
    std::uint64_t reservation = 0;
    double cost = 0;
    bool reconciled = false;
  };
  void prune(util::Clock::SteadyTime now) const;
  [[nodiscard]] std::int64_t count_since(util::Clock::SteadyTime since) const;
  [[nodiscard]] util::Clock::SteadyTime window_free_at(util::Clock::SteadyTime now,
                                                       util::Clock::SteadyTime::duration length,
                                                       std::int64_t limit) const;

  LimitConfig m_config;
  const util::Clock& m_clock;
  mutable std::mutex m_mutex;
  mutable std::deque<Attempt> m_attempts; ///< the last hour, oldest first
  mutable double m_spent = 0;             ///< reconciled costs in m_attempts
  mutable double m_reserved = 0;          ///< unreconciled estimates in m_attempts
  std::uint64_t m_next_reservation = 1;
};

} // namespace mp::ai
