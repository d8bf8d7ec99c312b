// The pipeline's side of the shared queue (ai/shared_queue.hpp has the design).
//
// Two threads talk to it. The L2 stage (pipeline_l2.cpp) writes: requests that missed the
// L2 are enqueued, claimed requests that became final are finished, records this instance
// does not hold are fetched for their waiters, and cancels are sent. The feeder claims as
// much work as the workers can start soon (twice the active workers, less what is busy or
// queued here), renews the claims it holds, reclaims those of instances that stopped
// renewing, and refreshes the shared depths that admission and Retry-After use.
//
// A record lives on the instance that processes it. The one that accepted it hands it to
// the shared queue and forgets it (its waiters wait on the shared store); the one that
// claims it builds it again from the queued submission and runs it like a local request
// (L1, coalescing with its own in-flight work, limits, retries).
//
// When the shared queue cannot be reached, requests are queued here (local_fallbacks) and
// claimed work is written back once it is back; claims held meanwhile are renewed again
// then or, if this instance died, reclaimed by another.

#include "ai/pipeline.hpp"
#include "ai/pipeline_metrics.hpp"
#include "ai/pipeline_record.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mp::ai {

namespace {

constexpr std::size_t k_recent_done = 4096;

} // namespace

void Pipeline::set_shared_queue(std::unique_ptr<SharedQueue> queue, SharedQueueOptions options) {
  {
    std::lock_guard lock(m_mutex); // the workers and the dispatcher are running already
    m_shared = std::move(queue);
    m_sq = std::make_unique<SharedState>();
    m_sq->options = options;
  }
  m_shared->listen([this](std::string_view id) { on_shared_done(id); },
                   [this] {
                     std::lock_guard lock(m_mutex);
                     refetch_remote_waiters();
                   });
  if (!m_l2_thread.joinable()) {
    m_l2_thread = std::thread([this] { l2_loop(); });
  }
  m_feeder = std::thread([this] { feeder_loop(); });
}

Pipeline::SharedStats Pipeline::shared_stats() const {
  std::lock_guard lock(m_mutex);
  return m_sq ? m_sq->stats : SharedStats{};
}

std::expected<RecordView, QueueFull> Pipeline::submit_shared(const std::shared_ptr<Record>& rec) {
  // No coalescing here: a follower would live only on this instance. The instance that
  // claims the request coalesces it with its own in-flight work instead.
  const Priority p = rec->sub.priority;
  const std::size_t waiting = m_sq->depths[static_cast<std::size_t>(p)] + m_queue.size(p) +
                              m_l2_lookups.size() + m_sq->enqueues.size();
  if (waiting >= m_config.queue_capacity_per_level) {
    return reject(p);
  }
  rec->job = m_next_job++;
  rec->enqueued = rec->submitted;
  rec->pending = true;
  m_queued.emplace(rec->job, rec);
  m_records.emplace(rec->id, rec);
  if (m_l2 && rec->sub.cache != CacheMode::refresh) {
    m_l2_lookups.push_back(rec);
  } else {
    m_metrics->cache_misses.inc();
    m_sq->enqueues.push_back(rec);
  }
  m_l2_cv.notify_one();
  return view(*rec);
}

void Pipeline::finish_shared(Record& r, std::vector<std::function<void()>>& notify) {
  auto v = view(r);
  m_sq->finishes.push_back(FinishedRequest{r.id, r.claim->first, r.claim->second, r.status, v.to_json()});
  m_sq->claimed.erase(r.id);
  r.claim.reset();
  m_l2_cv.notify_one();
  // Waiters here on a request that came back to this instance need no fetch.
  if (auto it = m_sq->waiting.find(r.id); it != m_sq->waiting.end()) {
    for (auto& w : it->second) {
      notify.emplace_back([f = std::move(w.fn), v]() mutable { f(std::move(v)); });
    }
    m_sq->waiting.erase(it);
  }
}

void Pipeline::refetch_remote_waiters() {
  for (auto& [id, ws] : m_sq->waiting) {
    for (auto& w : ws) {
      m_sq->resolve.emplace_back(id, std::move(w));
    }
  }
  m_sq->waiting.clear();
  m_l2_cv.notify_one();
}

void Pipeline::on_shared_done(std::string_view text) {
  std::lock_guard lock(m_mutex);
  std::string id(text);
  if (m_sq->recent_done_set.insert(id).second) {
    m_sq->recent_done.push_back(id);
    if (m_sq->recent_done.size() > k_recent_done) {
      m_sq->recent_done_set.erase(m_sq->recent_done.front());
      m_sq->recent_done.pop_front();
    }
  }
  auto it = m_sq->waiting.find(id);
  if (it == m_sq->waiting.end()) {
    return;
  }
  for (auto& w : it->second) {
    m_sq->resolve.emplace_back(id, std::move(w));
  }
  m_sq->waiting.erase(it);
  m_l2_cv.notify_one();
}

void Pipeline::wait_remote(const std::string& id, Waiter w) {
  // A completion announced between the fetch that found the record running and now would
  // be missed: look again at once.
  if (m_sq->recent_done_set.contains(id) || w.deadline <= m_clock.steady_now()) {
    m_sq->resolve.emplace_back(id, std::move(w));
    m_l2_cv.notify_one();
    return;
  }
  m_sq->waiting[id].push_back(std::move(w));
}

void Pipeline::expire_remote(const std::string& id, std::uint64_t token) {
  auto it = m_sq->waiting.find(id);
  if (it == m_sq->waiting.end()) {
    return;
  }
  auto w = std::find_if(it->second.begin(), it->second.end(),
                        [token](const Waiter& x) { return x.token == token; });
  if (w == it->second.end()) {
    return;
  }
  m_sq->resolve.emplace_back(id, std::move(*w)); // answered with the record as it is now
  it->second.erase(w);
  if (it->second.empty()) {
    m_sq->waiting.erase(it);
  }
  m_l2_cv.notify_one();
}

void Pipeline::cancel_shared(const std::string& id, std::string owner,
                             std::function<void(std::optional<std::pair<CancelResult, Status>>)> fn) {
  std::lock_guard lock(m_mutex);
  m_sq->cancels.push_back(SharedState::Cancel{id, std::move(owner), std::move(fn)});
  m_l2_cv.notify_one();
}

void Pipeline::queue_locally(const std::shared_ptr<Record>& rec) {
  auto leader = m_inflight.find(rec->key.str());
  if (leader != m_inflight.end() && leader->second != rec && !is_final(leader->second->status)) {
    m_metrics->coalesced.inc();
    m_queued.erase(rec->job);
    rec->coalesced = true;
    rec->status = leader->second->status;
    leader->second->followers.push_back(rec);
    return;
  }
  m_inflight[rec->key.str()] = rec;
  m_queued[rec->job] = rec;
  if (!m_queue.push(rec->job, rec->sub.priority, rec->enqueued)) {
    m_queue.push_front(rec->job, rec->sub.priority, rec->enqueued);
  }
  m_dispatch_cv.notify_one();
}

void Pipeline::settle_enqueued(const std::vector<std::shared_ptr<Record>>& recs, bool ok) {
  std::vector<std::function<void()>> notify;
  {
    std::lock_guard lock(m_mutex);
    const Steady now = m_clock.steady_now();
    for (const auto& rec : recs) {
      if (!rec->pending) {
        continue;
      }
      rec->pending = false;
      if (is_final(rec->status)) { // cancelled while it was being enqueued
        if (ok) {
          m_sq->cancels.push_back(SharedState::Cancel{rec->id, "", {}});
        }
        continue;
      }
      std::vector<Waiter> keep;
      for (auto& w : rec->waiters) {
        if (w.deadline <= now) { // POST's answer: 202 now that nothing can lose it
          notify.emplace_back([f = std::move(w.fn), v = view(*rec)]() mutable { f(std::move(v)); });
        } else if (ok) {
          wait_remote(rec->id, std::move(w));
        } else {
          keep.push_back(std::move(w));
        }
      }
      rec->waiters = std::move(keep);
      if (ok) {
        ++m_sq->stats.enqueued;
        rec->moved = true;
        m_queued.erase(rec->job);
        if (auto it = m_records.find(rec->id); it != m_records.end() && it->second == rec) {
          m_records.erase(it);
        }
      } else {
        ++m_sq->stats.local_fallbacks;
        queue_locally(rec);
      }
    }
  }
  for (auto& f : notify) {
    f();
  }
}

void Pipeline::shared_turn() {
  std::vector<std::shared_ptr<Record>> enqueues;
  std::vector<QueuedRequest> items;
  std::vector<FinishedRequest> finishes;
  std::vector<std::pair<std::string, Waiter>> resolve;
  std::vector<SharedState::Cancel> cancels;
  {
    std::lock_guard lock(m_mutex);
    enqueues.swap(m_sq->enqueues);
    if (m_clock.steady_now() >= m_sq->finish_retry_at) {
      finishes.swap(m_sq->finishes);
    }
    resolve.swap(m_sq->resolve);
    cancels.swap(m_sq->cancels);
    // Built under the lock: completing or cancelling a record clears its content.
    for (const auto& rec : enqueues) {
      if (!is_final(rec->status)) {
        items.push_back(QueuedRequest{rec->id, rec->sub.priority, rec->sub.owner,
                                      submission_to_json(rec->sub, rec->created_unix), view(*rec).to_json()});
      }
    }
  }
  if (!enqueues.empty()) {
    auto ok = items.empty() ? Expected<void>{} : m_shared->enqueue(items);
    if (!ok) {
      spdlog::warn("redis: shared queue unavailable, queueing {} request(s) here: {}", items.size(),
                   ok.error().message);
      std::lock_guard lock(m_mutex);
      ++m_sq->stats.errors;
    }
    settle_enqueued(enqueues, ok.has_value());
  }
  if (!finishes.empty()) {
    if (auto ok = m_shared->finish(finishes); ok) {
      std::lock_guard lock(m_mutex);
      m_sq->stats.finished += finishes.size();
    } else {
      std::lock_guard lock(m_mutex);
      ++m_sq->stats.errors;
      if (!(m_stopping && m_workers_done)) { // kept until the shared queue is back
        m_sq->finishes.insert(m_sq->finishes.begin(), std::make_move_iterator(finishes.begin()),
                              std::make_move_iterator(finishes.end()));
        m_sq->finish_retry_at = m_clock.steady_now() + std::chrono::milliseconds(500);
      }
    }
  }
  if (!resolve.empty()) {
    std::vector<std::string> ids;
    ids.reserve(resolve.size());
    for (const auto& [id, w] : resolve) {
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto found = m_shared->fetch(ids);
    std::vector<std::function<void()>> notify;
    {
      std::lock_guard lock(m_mutex);
      const Steady now = m_clock.steady_now();
      for (auto& [id, w] : resolve) {
        if (!found) {
          RecordView v;
          v.id = id;
          v.unavailable = true;
          notify.emplace_back([f = std::move(w.fn), v = std::move(v)]() mutable { f(std::move(v)); });
          continue;
        }
        const auto at = std::lower_bound(ids.begin(), ids.end(), id) - ids.begin();
        const auto& rec = (*found)[static_cast<std::size_t>(at)];
        if (rec && !is_final(rec->status) && w.deadline > now && !m_stopping) {
          const std::uint64_t token = w.token;
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now);
          wait_remote(id, std::move(w));
          m_timers.schedule_after(left + std::chrono::milliseconds(1), [this, id = id, token] {
            std::lock_guard l(m_mutex);
            expire_remote(id, token);
          });
          continue;
        }
        std::optional<RecordView> v;
        if (rec) {
          v.emplace();
          v->id = id;
          v->status = rec->status;
          v->owner = rec->owner;
          v->raw_json = std::make_shared<const std::string>(rec->json);
        }
        notify.emplace_back([f = std::move(w.fn), v = std::move(v)]() mutable { f(std::move(v)); });
      }
    }
    for (auto& f : notify) {
      f();
    }
  }
  for (auto& c : cancels) {
    auto r = m_shared->cancel(c.id, c.owner);
    if (!c.fn) {
      continue;
    }
    if (!r) {
      c.fn(std::nullopt);
      continue;
    }
    const CancelResult result = r->first == SharedQueue::CancelOutcome::cancelled  ? CancelResult::cancelled
                                : r->first == SharedQueue::CancelOutcome::too_late ? CancelResult::too_late
                                                                                   : CancelResult::not_found;
    c.fn(std::pair{result, r->second});
  }
}

void Pipeline::feeder_loop() {
  using namespace std::chrono_literals;
  const auto visibility = m_sq->options.visibility;
  auto next_depths = std::chrono::steady_clock::now();
  auto next_renew = next_depths + visibility / 3;
  auto next_reclaim = next_depths;
  bool was_down = false;
  for (;;) {
    std::size_t room = 0;
    {
      std::unique_lock lock(m_mutex);
      if (m_stopping) {
        break;
      }
      const int free = 2 * m_active_workers - m_busy_workers - static_cast<int>(m_work.size()) -
                       static_cast<int>(m_queue.size());
      room = static_cast<std::size_t>(std::max(0, free));
      if (room == 0) {
        m_sq->feed_cv.wait_for(lock, 100ms);
      }
    }
    bool failed = false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_depths) {
      next_depths = now + 250ms;
      if (auto d = m_shared->depths(); d) {
        std::lock_guard lock(m_mutex);
        m_sq->depths = *d;
      } else {
        failed = true;
      }
    }
    if (now >= next_renew) {
      next_renew = now + visibility / 3;
      std::vector<ClaimRef> held;
      {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, rec] : m_sq->claimed) {
          held.push_back(*rec->claim);
        }
      }
      failed = !m_shared->renew(held) || failed;
    }
    if (room > 0 && now >= next_reclaim) {
      next_reclaim = now + std::max<std::chrono::milliseconds>(visibility / 4, 250ms);
      if (auto r = m_shared->reclaim(room); r) {
        room -= std::min(room, r->size());
        adopt(*r, true);
      } else {
        failed = true;
      }
    }
    if (room > 0 && !failed) {
      if (auto r = m_shared->claim(room, 100ms); r) {
        adopt(*r, false);
      } else {
        failed = true;
      }
    }
    if (failed != was_down) {
      if (failed) {
        spdlog::warn("redis: shared queue unavailable: this instance runs only what it holds");
      } else {
        spdlog::info("redis: shared queue back");
      }
      was_down = failed;
    }
    if (failed) {
      std::unique_lock lock(m_mutex);
      ++m_sq->stats.errors;
      m_sq->feed_cv.wait_for(lock, 500ms, [this] { return m_stopping; });
    }
  }
  // Claims not started yet go back at once, for the other instances.
  std::vector<ClaimRef> unstarted;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, rec] : m_sq->claimed) {
      if (rec->started == Steady{} && rec->status == Status::queued) {
        unstarted.push_back(*rec->claim);
      }
    }
  }
  if (!unstarted.empty()) {
    (void)m_shared->release(unstarted);
  }
}

void Pipeline::adopt(const std::vector<ClaimedRequest>& claimed, bool reclaimed) {
  std::vector<std::function<void()>> notify;
  std::vector<ClaimRef> give_back;
  for (const auto& c : claimed) {
    auto parsed = submission_from_json(c.submission_json);
    auto rec = std::make_shared<Record>();
    rec->id = c.id;
    rec->claim = ClaimRef{c.priority, c.entry};
    std::shared_ptr<const std::string> hit;
    if (parsed) {
      rec->sub = std::move(parsed->first);
      rec->model = rec->sub.model.empty() ? default_model(rec->sub.type) : rec->sub.model;
      rec->key = key_for(rec->sub);
      rec->created_unix = parsed->second;
      // Its queue wait began when it was accepted, on whichever instance.
      const double age = util::to_unix_seconds(m_clock.wall_now()) - rec->created_unix;
      rec->submitted =
          m_clock.steady_now() - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::duration<double>(std::clamp(age, 0.0, 86'400.0)));
      if (rec->sub.cache != CacheMode::refresh) {
        hit = m_cache->get(rec->key);
      }
    } else {
      rec->sub.priority = c.priority;
      rec->submitted = m_clock.steady_now();
    }
    std::lock_guard lock(m_mutex);
    ++(reclaimed ? m_sq->stats.reclaimed : m_sq->stats.claimed);
    if (m_stopping) {
      give_back.push_back(*rec->claim);
      continue;
    }
    if (auto held = m_sq->claimed.find(c.id); held != m_sq->claimed.end()) {
      held->second->claim = rec->claim; // delivered to us again: we hold it already
      continue;
    }
    m_records.insert_or_assign(rec->id, rec);
    m_sq->claimed.emplace(rec->id, rec);
    if (!parsed || c.deliveries > m_sq->options.max_deliveries) {
      rec->error_message =
          parsed
              ? fmt::format(
                    "abandoned after {} deliveries: every instance that took it stopped before finishing it",
                    c.deliveries - 1)
              : "the queued request could not be read: " + parsed.error().message;
      ++m_sq->stats.abandoned;
      complete(rec, Status::failed, notify);
      continue;
    }
    if (hit) { // computed here since it was queued
      rec->cached = true;
      rec->result_json = std::move(hit);
      complete(rec, Status::completed, notify);
      continue;
    }
    rec->job = m_next_job++;
    rec->enqueued = rec->submitted;
    queue_locally(rec);
  }
  if (!give_back.empty()) {
    (void)m_shared->release(give_back);
  }
  for (auto& f : notify) {
    f();
  }
}

} // namespace mp::ai
