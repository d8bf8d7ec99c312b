#include "util/timer_queue.hpp"

namespace mp::util {

TimerQueue::TimerQueue() : m_thread([this] { run(); }) {
}

TimerQueue::~TimerQueue() {
  stop();
}

void TimerQueue::stop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping && !m_thread.joinable()) {
      return;
    }
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) {
    m_thread.join();
  }
}

std::uint64_t TimerQueue::schedule(Time when, std::function<void()> fn) {
  std::uint64_t id = 0;
  bool first = false;
  {
    std::lock_guard lock(m_mutex);
    id = m_next++;
    first = m_by_time.empty() || when < m_by_time.begin()->first;
    m_by_time.emplace(when, id);
    m_tasks.emplace(id, std::make_pair(when, std::move(fn)));
  }
  if (first) {
    m_cv.notify_one();
  }
  return id;
}

bool TimerQueue::cancel(std::uint64_t handle) {
  std::lock_guard lock(m_mutex);
  auto it = m_tasks.find(handle);
  if (it == m_tasks.end()) {
    return false;
  }
  auto range = m_by_time.equal_range(it->second.first);
  for (auto t = range.first; t != range.second; ++t) {
    if (t->second == handle) {
      m_by_time.erase(t);
      break;
    }
  }
  m_tasks.erase(it);
  return true;
}

void TimerQueue::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    if (m_by_time.empty()) {
      m_cv.wait(lock);
      continue;
    }
    const auto next = m_by_time.begin();
    if (std::chrono::steady_clock::now() < next->first) {
      m_cv.wait_until(lock, next->first);
      continue;
    }
    const std::uint64_t id = next->second;
    m_by_time.erase(next);
    auto task = m_tasks.find(id);
    std::function<void()> fn = std::move(task->second.second);
    m_tasks.erase(task);
    lock.unlock();
    fn();
    lock.lock();
  }
}

} // namespace mp::util
