#include "ai/retry.hpp"

#include <algorithm>
#include <cmath>

namespace mp::ai {

std::chrono::milliseconds backoff_wait(const RetryPolicy& p, int retry, double uniform01) {
  const int shift = std::clamp(retry - 1, 0, 30);
  const double ceiling = std::min(static_cast<double>(p.max_backoff.count()),
                                  static_cast<double>(p.base.count()) * std::ldexp(1.0, shift));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::clamp(uniform01, 0.0, 1.0) * ceiling));
}

std::optional<std::chrono::milliseconds> next_retry_wait(const RetryPolicy& p, int attempts_made,
                                                         std::chrono::milliseconds waited_so_far,
                                                         std::optional<std::chrono::milliseconds> retry_after,
                                                         double uniform01) {
  if (attempts_made >= p.max_attempts) {
    return std::nullopt;
  }
  auto wait = backoff_wait(p, attempts_made, uniform01);
  if (retry_after && *retry_after > wait) {
    wait = *retry_after;
  }
  if (waited_so_far + wait > p.max_total_wait) {
    return std::nullopt;
  }
  return wait;
}

CircuitBreaker::CircuitBreaker(int failure_threshold, std::chrono::milliseconds open_for,
                               const util::Clock& clock)
    : m_threshold(failure_threshold), m_open_for(open_for), m_clock(clock) {
}

bool CircuitBreaker::allow() {
  std::lock_guard lock(m_mutex);
  switch (m_state) {
  case BreakerState::closed: return true;
  case BreakerState::open:
    if (m_clock.steady_now() < m_opened + m_open_for) {
      return false;
    }
    m_state = BreakerState::half_open;
    m_probe_out = true;
    return true;
  case BreakerState::half_open:
    if (m_probe_out) {
      return false;
    }
    m_probe_out = true;
    return true;
  }
  return false;
}

util::Clock::SteadyTime CircuitBreaker::retry_at() const {
  std::lock_guard lock(m_mutex);
  return m_state == BreakerState::open ? m_opened + m_open_for : m_clock.steady_now();
}

void CircuitBreaker::on_success() {
  std::lock_guard lock(m_mutex);
  m_state = BreakerState::closed;
  m_failures = 0;
  m_probe_out = false;
}

void CircuitBreaker::on_failure() {
  std::lock_guard lock(m_mutex);
  ++m_failures;
  if (m_state == BreakerState::half_open || (m_threshold > 0 && m_failures >= m_threshold)) {
    m_state = BreakerState::open;
    m_opened = m_clock.steady_now();
    m_probe_out = false;
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(m_mutex);
  return m_state;
}

} // namespace mp::ai
