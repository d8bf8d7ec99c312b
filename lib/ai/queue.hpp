#pragma once
// The five-level priority queue with aging.
//
// Order: the most urgent effective level first; within a level, first come first served.
// Aging: every `aging` a request has waited lifts it one level (background -> low after
// one period, -> normal after two, ...), so nothing starves behind a stream of urgent work.
// Within one level the oldest request is at the head and has aged the most, so the best
// candidate is always one of the five heads: pop is O(levels).
//
// Bounded: each level holds at most `capacity` requests; push answers false when full
// (the API turns that into 429). Not thread-safe: the pipeline holds its lock around it.

#include "ai/types.hpp"
#include "util/clock.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace mp::ai {

struct QueueEntry {
  std::uint64_t job = 0; ///< the pipeline's job id
  Priority priority = Priority::normal;
  util::Clock::SteadyTime enqueued{};
};

class PriorityQueue {
public:
  PriorityQueue(std::size_t capacity_per_level, std::chrono::milliseconds aging);

  /// Appends; false when the level is full.
  bool push(std::uint64_t job, Priority p, util::Clock::SteadyTime now);
  /// Puts a job back at the head of its level (a retry keeps its place).
  void push_front(std::uint64_t job, Priority p, util::Clock::SteadyTime enqueued);
  /// The entry that would be popped now, without removing it.
  [[nodiscard]] std::optional<QueueEntry> peek(util::Clock::SteadyTime now) const;
  std::optional<QueueEntry> pop(util::Clock::SteadyTime now);
  /// Removes a job wherever it is; false when it is not queued.
  bool remove(std::uint64_t job);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t size(Priority p) const { return m_levels[static_cast<std::size_t>(p)].size(); }
  [[nodiscard]] bool empty() const { return size() == 0; }
  /// Entries that would be served before a new request of priority `p`.
  [[nodiscard]] std::size_t ahead_of(Priority p) const;
  /// The level an entry counts as now, after aging.
  [[nodiscard]] std::size_t effective_level(const QueueEntry& e, util::Clock::SteadyTime now) const;

private:
  [[nodiscard]] std::optional<std::size_t> best_level(util::Clock::SteadyTime now) const;

  std::size_t m_capacity;
  std::chrono::milliseconds m_aging;
  std::array<std::deque<QueueEntry>, k_priority_count> m_levels;
};

} // namespace mp::ai
