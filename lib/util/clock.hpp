#pragma once
// Time behind an interface, so logic that depends on it is tested without sleeping.

#include <chrono>
#include <cstdint>

namespace mp::util {

/// A source of time. Implementations are thread-safe.
class Clock {
public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  /// Monotonic time, for durations and deadlines.
  [[nodiscard]] virtual SteadyTime steady_now() const = 0;
  /// Wall-clock time, for timestamps people read.
  [[nodiscard]] virtual WallTime wall_now() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
public:
  [[nodiscard]] SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  /// A process-wide instance.
  static const SystemClock& instance();
};

/// A clock that moves only when told to; for tests. Not thread-safe.
class ManualClock final : public Clock {
public:
  [[nodiscard]] SteadyTime steady_now() const override { return m_steady; }
  [[nodiscard]] WallTime wall_now() const override { return m_wall; }
  void advance(std::chrono::nanoseconds d) {
    m_steady += d;
    m_wall += std::chrono::duration_cast<WallTime::duration>(d);
  }
  void set_wall(WallTime t) { m_wall = t; }

private:
  SteadyTime m_steady{std::chrono::hours(1)};
  WallTime m_wall{std::chrono::seconds(1'700'000'000)};
};

/// Seconds since the Unix epoch, as a double, for JSON timestamps.
inline double to_unix_seconds(Clock::WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

} // namespace mp::util
