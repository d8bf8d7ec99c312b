// The pipeline's dispatcher and workers (pipeline.hpp has the design): the dispatcher
// hands queued requests to free workers once the breaker and the limiter allow; a worker
// makes one provider attempt and settles it (cache, complete, or back-off and requeue).

#include "ai/pipeline.hpp"
#include "ai/pipeline_metrics.hpp"
#include "ai/pipeline_record.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace mp::ai {

void Pipeline::dispatcher_loop() {
  std::unique_lock lock(m_mutex);
  // A grant from a remote limiter, asked for without the lock, whose request was no longer
  // at the head when the answer came: the next head uses it (a grant is for one attempt).
  std::optional<Grant> carried;
  while (!m_stopping) {
    const int idle = m_active_workers - m_busy_workers - static_cast<int>(m_work.size());
    if (idle <= 0 || m_queue.empty()) {
      m_dispatch_cv.wait(lock);
      continue;
    }
    const Steady now = m_clock.steady_now();
    const auto entry = m_queue.peek(now);
    auto rec = m_queued.at(entry->job);
    std::uint64_t reservation = 0;
    if (m_provider->is_remote()) {
      if (m_breaker.state() == BreakerState::open && m_breaker.retry_at() > now) {
        m_dispatch_cv.wait_until(lock, m_breaker.retry_at());
        continue;
      }
      ProviderRequest probe{rec->sub.type, rec->model, rec->sub.subject, rec->sub.sender, rec->sub.content};
      Grant g;
      if (carried) {
        g = *carried;
        carried.reset();
      } else if (m_limiter->remote()) {
        const double estimate = m_provider->estimate_cost(probe);
        lock.unlock();
        g = m_limiter->try_acquire(estimate);
        lock.lock();
        const auto head = m_queue.peek(m_clock.steady_now());
        if (m_stopping || !head || head->job != entry->job) {
          if (g.granted) {
            carried = g;
          }
          continue;
        }
      } else {
        g = m_limiter->try_acquire(m_provider->estimate_cost(probe));
      }
      if (g.impossible) {
        m_queue.pop(now);
        m_queued.erase(rec->job);
        rec->error_message = "the estimated cost of this request exceeds the whole hourly budget";
        rec->error_status = 0;
        std::vector<std::function<void()>> notify;
        complete(rec, Status::failed, notify);
        lock.unlock();
        for (auto& f : notify) {
          f();
        }
        lock.lock();
        continue;
      }
      if (!g.granted) {
        m_dispatch_cv.wait_until(lock, g.retry_at);
        continue;
      }
      if (!m_breaker.allow()) { // half-open with its probe out
        m_limiter->reconcile(g.reservation, 0);
        m_dispatch_cv.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      reservation = g.reservation;
    }
    m_queue.pop(now);
    m_queued.erase(rec->job);
    if (rec->started == Steady{}) {
      rec->started = now;
      m_wait_ewma_ms = 0.9 * m_wait_ewma_ms + 0.1 * ms_between(rec->submitted, now);
      m_metrics->wait_by[static_cast<std::size_t>(rec->sub.type)][static_cast<std::size_t>(rec->sub.priority)]
          ->observe(now - rec->submitted);
    }
    rec->status = Status::processing;
    for (auto& f : rec->followers) {
      f->status = Status::processing;
      f->started = now;
    }
    ++rec->attempts;
    m_work.push_back(std::make_unique<Work>(Work{rec, reservation}));
    // All: parked workers (index >= active) would swallow a notify_one.
    m_work_cv.notify_all();
  }
  release_carried(carried);
}

void Pipeline::release_carried(std::optional<Grant>& carried) {
  if (carried) {
    m_limiter->reconcile(carried->reservation, 0);
    carried.reset();
  }
}

void Pipeline::worker_loop(int index) {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_work_cv.wait(lock, [&] { return m_stopping || (index < m_active_workers && !m_work.empty()); });
    if (m_stopping && m_work.empty()) {
      return;
    }
    if (m_work.empty()) {
      continue;
    }
    auto work = std::move(m_work.front());
    m_work.pop_front();
    ++m_busy_workers;
    ProviderRequest req{work->rec->sub.type, work->rec->model, work->rec->sub.subject, work->rec->sub.sender,
                        work->rec->sub.content};
    lock.unlock();
    const Steady t0 = m_clock.steady_now();
    auto outcome = m_provider->call(req);
    const auto took = m_clock.steady_now() - t0;
    finish_attempt(work->rec, work->reservation, std::move(outcome), took);
    lock.lock();
    m_service_ewma_ms =
        0.9 * m_service_ewma_ms + 0.1 * std::chrono::duration<double, std::milli>(took).count();
    --m_busy_workers;
    m_dispatch_cv.notify_one();
    if (m_sq) {
      m_sq->feed_cv.notify_one(); // room for another claim
    }
  }
}

void Pipeline::finish_attempt(const std::shared_ptr<Record>& rec, std::uint64_t reservation,
                              std::expected<ProviderResult, AttemptError> outcome,
                              std::chrono::nanoseconds took) {
  const bool remote = m_provider->is_remote();
  const std::string provider(m_provider->name());
  m_metrics->service_by[static_cast<std::size_t>(rec->sub.type)]->observe(took);
  std::string result_json;
  if (outcome) {
    rapidjson::StringBuffer buf;
    util::JsonWriter w(buf);
    w.StartObject();
    analyser::write_fields(w, outcome->analysis, rec->sub.type);
    w.EndObject();
    result_json.assign(buf.GetString(), buf.GetSize());
  }
  if (remote) {
    m_limiter->reconcile(reservation, outcome ? outcome->cost_usd : 0.0);
    if (outcome) {
      m_breaker.on_success();
    } else {
      m_breaker.on_failure();
    }
  }
  m_metrics->upstream_calls.fetch_add(1, std::memory_order_relaxed);
  if (outcome) {
    m_metrics->upstream.with({provider, "ok"}).inc();
    m_metrics->cost.add(outcome->cost_usd);
    if (rec->sub.cache != CacheMode::no_store) {
      m_cache->put(rec->key, result_json, m_config.cache_ttl);
      if (m_l2) {
        std::lock_guard lock(m_mutex);
        m_l2_writes.emplace_back(rec->key.str(), result_json);
        m_l2_cv.notify_one();
      }
    }
  } else {
    m_metrics->upstream
        .with({provider, outcome.error().status ? std::to_string(outcome.error().status) : "error"})
        .inc();
    if (outcome.error().status == 429) {
      m_metrics->rate_limited.inc();
    }
  }
  std::vector<std::function<void()>> notify;
  {
    std::lock_guard lock(m_mutex);
    if (outcome) {
      rec->cost += outcome->cost_usd;
      rec->result_json = std::make_shared<const std::string>(std::move(result_json));
      rec->model = outcome->model.empty() ? rec->model : outcome->model;
      complete(rec, Status::completed, notify);
    } else {
      const AttemptError& err = outcome.error();
      rec->error_status = err.status;
      rec->error_message = err.message;
      std::optional<std::chrono::milliseconds> wait;
      if (err.retryable && !m_stopping) {
        wait = next_retry_wait(m_config.retry, rec->attempts, rec->waited, err.retry_after, uniform01());
      }
      if (!wait || rec->cancelled) {
        complete(rec, rec->cancelled ? Status::cancelled : Status::failed, notify);
      } else {
        m_metrics->retries.inc();
        rec->waited += *wait;
        rec->status = Status::queued;
        m_timers.schedule_after(*wait, [this, rec] {
          std::lock_guard l(m_mutex);
          if (rec->cancelled || is_final(rec->status) || m_stopping) {
            return;
          }
          m_queue.push_front(rec->job, rec->sub.priority, rec->enqueued);
          m_queued[rec->job] = rec;
          m_dispatch_cv.notify_one();
        });
      }
    }
  }
  for (auto& f : notify) {
    f();
  }
}

// Marks `rec` (and its followers) final; the waiters' callbacks go into `notify`, to be
// called once the lock is released. Requires m_mutex.
} // namespace mp::ai
