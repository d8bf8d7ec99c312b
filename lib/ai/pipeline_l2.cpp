// The pipeline's L2 stage (ai/shared_cache.hpp): batched lookups of the requests that
// missed the L1, batched write-backs of computed results, and the shared hit counters.
//
// One thread. Each turn takes everything waiting (lookups and writes) under the pipeline's
// mutex, talks to the L2 outside it (one round trip for all lookups, one for all writes),
// then settles the lookups under the mutex again. A record may have changed meanwhile: a
// cancelled one is gone from m_queued (skipped), and a cancelled leader's follower may
// have inherited its job (m_queued maps the job to whoever owns it now).

#include "ai/pipeline.hpp"
#include "ai/pipeline_metrics.hpp"
#include "ai/pipeline_record.hpp"

#include <spdlog/spdlog.h>

namespace mp::ai {

void Pipeline::set_shared_cache(std::unique_ptr<SharedCache> l2) {
  m_l2 = std::move(l2);
  m_l2_thread = std::thread([this] { l2_loop(); });
}

Pipeline::L2Stats Pipeline::l2_stats() const {
  std::lock_guard lock(m_mutex);
  return m_l2_stats;
}

void Pipeline::l2_resolve(const std::vector<std::shared_ptr<Record>>& batch,
                          const Expected<std::vector<std::optional<std::string>>>& found) {
  std::vector<std::function<void()>> notify;
  std::vector<std::pair<CacheKey, std::shared_ptr<const std::string>>> fill;
  {
    std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto it = m_queued.find(batch[i]->job);
      if (it == m_queued.end() || is_final(it->second->status)) {
        continue; // cancelled while it was looked up
      }
      auto rec = it->second;
      const bool hit = found && i < found->size() && (*found)[i].has_value();
      if (hit) {
        ++m_l2_stats.hits;
        m_metrics->cache_hits.inc();
        m_queued.erase(it);
        rec->cached = true;
        rec->pending = false;
        rec->result_json = std::make_shared<const std::string>(*(*found)[i]);
        fill.emplace_back(rec->key, rec->result_json);
        complete(rec, Status::completed, notify);
        continue;
      }
      ++(found ? m_l2_stats.misses : m_l2_stats.errors);
      m_metrics->cache_misses.inc();
      if (rec->pending) {
        m_sq->enqueues.push_back(rec); // to the shared queue, on this same thread's next turn
        continue;
      }
      // Its place: behind what was queued before it arrived, by its submission time.
      if (!m_queue.push(rec->job, rec->sub.priority, rec->enqueued)) {
        m_queue.push_front(rec->job, rec->sub.priority, rec->enqueued);
      }
    }
  }
  m_dispatch_cv.notify_one();
  for (const auto& [key, value] : fill) {
    m_cache->put(key, *value, m_config.cache_ttl);
  }
  for (auto& f : notify) {
    f();
  }
}

bool Pipeline::stage_has_work() const {
  if (!m_l2_lookups.empty() || !m_l2_writes.empty()) {
    return true;
  }
  if (!m_sq) {
    return false;
  }
  const auto& q = *m_sq;
  return !q.enqueues.empty() || !q.resolve.empty() || !q.cancels.empty() ||
         (!q.finishes.empty() && m_clock.steady_now() >= q.finish_retry_at);
}

void Pipeline::l2_loop() {
  auto next_counters = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  bool was_down = false;
  for (;;) {
    std::vector<std::shared_ptr<Record>> lookups;
    std::vector<std::pair<std::string, std::string>> writes;
    {
      std::unique_lock lock(m_mutex);
      m_l2_cv.wait_until(lock, next_counters, [&] { return m_stopping || stage_has_work(); });
      // With a shared queue, the stage outlives the workers: their results are written back.
      const bool done = m_stopping && (!m_shared || m_workers_done);
      if (done && !stage_has_work()) {
        return;
      }
      if (m_stopping && !stage_has_work()) {
        m_l2_cv.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      lookups.swap(m_l2_lookups);
      writes.swap(m_l2_writes);
    }
    if (!lookups.empty() && m_l2) {
      std::vector<std::string> keys;
      keys.reserve(lookups.size());
      for (const auto& r : lookups) {
        keys.push_back(r->key.str());
      }
      auto found = m_l2->get_many(keys);
      if (!found && !was_down) {
        spdlog::warn("cache: L2 unavailable, serving from the L1 and the upstream: {}",
                     found.error().message);
      }
      was_down = !found;
      l2_resolve(lookups, found);
    }
    if (m_shared) {
      shared_turn();
    }
    if (!writes.empty() && m_l2) {
      if (auto ok = m_l2->put_many(writes, m_config.cache_ttl); ok) {
        std::lock_guard lock(m_mutex);
        m_l2_stats.stores += writes.size();
      }
    }
    if (std::chrono::steady_clock::now() >= next_counters) {
      next_counters = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      if (m_l2) {
        report_counters();
      }
    }
  }
}

void Pipeline::report_counters() {
  // Totals as the servers see them: a hit is the L1's or the L2's; a miss missed both.
  SharedCacheCounters now;
  {
    std::lock_guard lock(m_mutex);
    now.l2_hits = m_l2_stats.hits;
    now.l2_misses = m_l2_stats.misses;
    now.stores = m_l2_stats.stores;
  }
  // The instance's own counters: a hit is the L1's or the L2's, a miss missed both.
  now.hits = m_metrics->cache_hits.value();
  now.misses = m_metrics->cache_misses.value();
  auto since = [](std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; };
  const SharedCacheCounters delta{since(now.hits, m_reported.hits), since(now.misses, m_reported.misses),
                                  since(now.l2_hits, m_reported.l2_hits),
                                  since(now.l2_misses, m_reported.l2_misses),
                                  since(now.stores, m_reported.stores)};
  if (delta.hits + delta.misses + delta.stores == 0) {
    return;
  }
  if (m_l2->add_counters(delta)) {
    m_reported = now;
  }
}

} // namespace mp::ai
