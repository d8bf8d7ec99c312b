#include "ai/limiter.hpp"

#include <algorithm>
#include <limits>

namespace mp::ai {

namespace {
constexpr auto k_minute = std::chrono::minutes(1);
constexpr auto k_hour = std::chrono::hours(1);
// Floating-point slack, so ten reservations of $0.10 fit a $1.00 budget.
constexpr double k_epsilon = 1e-9;
} // namespace

SlidingWindowLimiter::SlidingWindowLimiter(LimitConfig config, const util::Clock& clock)
    : m_config(config), m_clock(clock) {
}

void SlidingWindowLimiter::prune(util::Clock::SteadyTime now) const {
  while (!m_attempts.empty() && m_attempts.front().at + k_hour + m_config.window_margin <= now) {
    const Attempt& a = m_attempts.front();
    (a.reconciled ? m_spent : m_reserved) -= a.cost;
    m_attempts.pop_front();
  }
  if (m_attempts.empty()) {
    m_spent = 0; // no drift from repeated floating-point subtraction
    m_reserved = 0;
  }
}

std::int64_t SlidingWindowLimiter::count_since(util::Clock::SteadyTime since) const {
  // Attempts are in time order: count from the back until one is older than `since`.
  std::int64_t n = 0;
  for (auto it = m_attempts.rbegin(); it != m_attempts.rend() && it->at > since; ++it) {
    ++n;
  }
  return n;
}

// When a request window of `length` holding at most `limit` attempts has room again:
// `now` if it has room already, else when its oldest entry leaves it.
util::Clock::SteadyTime SlidingWindowLimiter::window_free_at(util::Clock::SteadyTime now,
                                                             util::Clock::SteadyTime::duration length,
                                                             std::int64_t limit) const {
  if (limit <= 0) {
    return now;
  }
  const std::int64_t used = count_since(now - length);
  if (used < limit) {
    return now;
  }
  return m_attempts[m_attempts.size() - static_cast<std::size_t>(used)].at + length;
}

Grant SlidingWindowLimiter::try_acquire(double estimated_cost) {
  const auto now = m_clock.steady_now();
  std::lock_guard lock(m_mutex);
  prune(now);
  Grant g;
  g.retry_at = now;
  const auto& c = m_config;
  g.retry_at = std::max(g.retry_at, window_free_at(now, k_minute + c.window_margin, c.requests_per_minute));
  const auto hour = k_hour + c.window_margin;
  g.retry_at = std::max(g.retry_at, window_free_at(now, hour, c.requests_per_hour));
  if (c.cost_limit_per_hour > 0) {
    if (estimated_cost > c.cost_limit_per_hour + k_epsilon) {
      g.impossible = true;
      return g;
    }
    double committed = m_spent + m_reserved;
    if (committed + estimated_cost > c.cost_limit_per_hour + k_epsilon) {
      // Walk forward until enough spend has left the window.
      for (const Attempt& a : m_attempts) {
        committed -= a.cost;
        if (committed + estimated_cost <= c.cost_limit_per_hour + k_epsilon) {
          g.retry_at = std::max(g.retry_at, a.at + hour); // when prune() drops it
          break;
        }
      }
    }
  }
  if (g.retry_at > now) {
    return g;
  }
  g.granted = true;
  g.reservation = m_next_reservation++;
  m_attempts.push_back(Attempt{now, g.reservation, estimated_cost, false});
  m_reserved += estimated_cost;
  return g;
}

void SlidingWindowLimiter::reconcile(std::uint64_t reservation, double actual_cost) {
  std::lock_guard lock(m_mutex);
  for (auto it = m_attempts.rbegin(); it != m_attempts.rend(); ++it) {
    if (it->reservation == reservation) {
      if (!it->reconciled) {
        m_reserved -= it->cost;
        it->cost = actual_cost;
        it->reconciled = true;
        m_spent += actual_cost;
      }
      return;
    }
  }
  // Already out of the window: nothing left to correct.
}

LimiterSnapshot SlidingWindowLimiter::snapshot() const {
  const auto now = m_clock.steady_now();
  std::lock_guard lock(m_mutex);
  prune(now);
  LimiterSnapshot s;
  s.used_minute = count_since(now - k_minute);
  s.used_hour = static_cast<std::int64_t>(m_attempts.size());
  s.spent_hour = m_spent;
  s.reserved = m_reserved;
  s.budget_left = m_config.cost_limit_per_hour > 0
                      ? std::max(0.0, m_config.cost_limit_per_hour - m_spent - m_reserved)
                      : std::numeric_limits<double>::infinity();
  return s;
}

} // namespace mp::ai
