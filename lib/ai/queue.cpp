#include "ai/queue.hpp"

#include <algorithm>

namespace mp::ai {

PriorityQueue::PriorityQueue(std::size_t capacity_per_level, std::chrono::milliseconds aging)
    : m_capacity(capacity_per_level), m_aging(aging) {
}

bool PriorityQueue::push(std::uint64_t job, Priority p, util::Clock::SteadyTime now) {
  auto& level = m_levels[static_cast<std::size_t>(p)];
  if (level.size() >= m_capacity) {
    return false;
  }
  level.push_back(QueueEntry{job, p, now});
  return true;
}

void PriorityQueue::push_front(std::uint64_t job, Priority p, util::Clock::SteadyTime enqueued) {
  m_levels[static_cast<std::size_t>(p)].push_front(QueueEntry{job, p, enqueued});
}

std::size_t PriorityQueue::effective_level(const QueueEntry& e, util::Clock::SteadyTime now) const {
  const auto level = static_cast<std::size_t>(e.priority);
  if (m_aging.count() <= 0 || now <= e.enqueued) {
    return level;
  }
  const auto lifts = static_cast<std::size_t>((now - e.enqueued) / m_aging);
  return lifts >= level ? 0 : level - lifts;
}

std::optional<std::size_t> PriorityQueue::best_level(util::Clock::SteadyTime now) const {
  std::optional<std::size_t> best;
  std::size_t best_eff = k_priority_count;
  for (std::size_t i = 0; i < k_priority_count; ++i) {
    if (m_levels[i].empty()) {
      continue;
    }
    const auto& head = m_levels[i].front();
    const std::size_t eff = effective_level(head, now);
    // Lower effective level wins; on a tie the one that has waited longer.
    if (!best || eff < best_eff || (eff == best_eff && head.enqueued < m_levels[*best].front().enqueued)) {
      best = i;
      best_eff = eff;
    }
  }
  return best;
}

std::optional<QueueEntry> PriorityQueue::peek(util::Clock::SteadyTime now) const {
  auto level = best_level(now);
  if (!level) {
    return std::nullopt;
  }
  return m_levels[*level].front();
}

std::optional<QueueEntry> PriorityQueue::pop(util::Clock::SteadyTime now) {
  auto level = best_level(now);
  if (!level) {
    return std::nullopt;
  }
  QueueEntry e = m_levels[*level].front();
  m_levels[*level].pop_front();
  return e;
}

bool PriorityQueue::remove(std::uint64_t job) {
  for (auto& level : m_levels) {
    auto it = std::find_if(level.begin(), level.end(), [job](const QueueEntry& e) { return e.job == job; });
    if (it != level.end()) {
      level.erase(it);
      return true;
    }
  }
  return false;
}

std::size_t PriorityQueue::size() const {
  std::size_t n = 0;
  for (const auto& level : m_levels) {
    n += level.size();
  }
  return n;
}

std::size_t PriorityQueue::ahead_of(Priority p) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i <= static_cast<std::size_t>(p); ++i) {
    n += m_levels[i].size();
  }
  return n;
}

} // namespace mp::ai
