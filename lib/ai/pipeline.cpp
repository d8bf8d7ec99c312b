#include "ai/pipeline.hpp"
#include "ai/pipeline_hit.hpp"
#include "ai/pipeline_metrics.hpp"
#include "ai/pipeline_record.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace mp::ai {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t v, int digits) {
  for (int j = digits - 1; j >= 0; --j) {
    out += k_hex[(v >> (4 * j)) & 0xf];
  }
}

/// "req_" and 32 random hex digits: unguessable, so one caller cannot find another's.
std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "req_";
  append_hex(id, rng(), 16);
  append_hex(id, rng(), 16);
  return id;
}

} // namespace

Pipeline::Pipeline(PipelineConfig config, std::unique_ptr<Provider> provider,
                   std::unique_ptr<CacheStore> cache, std::unique_ptr<Limiter> limiter,
                   metrics::Registry& registry, const util::Clock& clock)
    : m_config(std::move(config)), m_provider(std::move(provider)), m_cache(std::move(cache)),
      m_limiter(std::move(limiter)), m_clock(clock),
      m_breaker(m_config.breaker_threshold, m_config.breaker_open, clock),
      m_metrics(std::make_unique<Metrics>(registry)),
      m_queue(m_config.queue_capacity_per_level, m_config.aging) {
  m_config.min_workers = std::max(1, m_config.min_workers);
  m_config.max_workers = std::max(m_config.min_workers, m_config.max_workers);
  m_active_workers = m_config.min_workers;
  m_config.max_records = std::max<std::size_t>(1, m_config.max_records);
  m_metrics->resolve();
  registry.on_collect([this] {
    const auto depths = queue_depths();
    for (std::size_t i = 0; i < k_priority_count; ++i) {
      m_metrics->queue_depth.with({k_priority_names[i]}).set(static_cast<double>(depths[i]));
    }
    const auto s = m_cache->stats();
    m_metrics->cache_bytes.set(static_cast<double>(s.bytes));
    m_metrics->cache_entries.set(static_cast<double>(s.entries));
    m_metrics->cache_evictions.with({"lru"}).set(static_cast<double>(s.evictions_lru));
    m_metrics->cache_evictions.with({"ttl"}).set(static_cast<double>(s.evictions_ttl));
    const auto l = m_limiter->snapshot();
    m_metrics->budget_left.set(std::isfinite(l.budget_left) ? l.budget_left : -1);
    m_metrics->breaker.set(m_breaker.state() == BreakerState::closed ? 0 : 1);
    std::lock_guard lock(m_mutex);
    m_metrics->workers.with({"active"}).set(m_active_workers);
    m_metrics->workers.with({"busy"}).set(m_busy_workers);
    m_metrics->workers.with({"max"}).set(m_config.max_workers);
  });
  for (int i = 0; i < m_config.max_workers; ++i) {
    m_workers.emplace_back([this, i] { worker_loop(i); });
  }
  m_dispatcher = std::thread([this] { dispatcher_loop(); });
  m_timers.schedule_after(std::chrono::seconds(1), [this] { housekeeping(); });
}

Pipeline::~Pipeline() {
  stop();
  m_timers.stop();
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_work.clear();
  }
  m_work_cv.notify_all();
  m_dispatch_cv.notify_all();
  for (auto& t : m_workers) {
    t.join();
  }
  m_dispatcher.join();
  if (m_feeder.joinable()) {
    m_sq->feed_cv.notify_all();
    m_feeder.join();
  }
  {
    std::lock_guard lock(m_mutex);
    m_workers_done = true;
  }
  m_l2_cv.notify_all();
  if (m_l2_thread.joinable()) {
    m_l2_thread.join();
  }
  m_shared.reset(); // its listener calls into this pipeline: gone before the state it uses
}

const std::string& Pipeline::default_model(analyser::RequestType t) const {
  return m_config.models[static_cast<std::size_t>(t)];
}

CacheKey Pipeline::key_for(const Submission& s) const {
  const std::string& model = s.model.empty() ? default_model(s.type) : s.model;
  return make_cache_key(s.type, model, m_config.prompt_version, s.subject, s.sender, s.content);
}

std::shared_ptr<Pipeline::Record> Pipeline::new_record(Submission s, const CacheKey* key) {
  auto rec = std::make_shared<Record>();
  rec->sub = std::move(s);
  const Submission& sub = rec->sub;
  rec->model = sub.model.empty() ? default_model(sub.type) : sub.model;
  rec->key = key ? *key : key_for(sub);
  rec->submitted = m_clock.steady_now();
  rec->created_unix = util::to_unix_seconds(m_clock.wall_now());
  return rec;
}

RecordView Pipeline::view(const Record& r) const {
  RecordView v;
  v.id = r.id;
  v.status = r.status;
  v.type = r.sub.type;
  v.priority = r.sub.priority;
  v.email_id_json = r.sub.email_id_json;
  v.owner = r.sub.owner;
  v.model = r.model;
  v.cached = r.cached;
  v.coalesced = r.coalesced;
  v.attempts = r.attempts;
  v.cost_usd = r.cost;
  v.result_json = r.result_json;
  v.error_status = r.error_status;
  v.error_message = r.error_message;
  const Steady now = m_clock.steady_now();
  const Steady end = is_final(r.status) ? r.finished : now;
  const Steady started = r.started == Steady{} ? end : r.started;
  v.queue_wait_ms = ms_between(r.submitted, started);
  v.service_ms = ms_between(started, end);
  v.total_ms = ms_between(r.submitted, end);
  v.created_unix = r.created_unix;
  v.pending = r.pending;
  return v;
}

std::chrono::seconds Pipeline::estimate_retry_after(Priority p) const {
  // Everything at this level or above is served first; at the measured drain rate that
  // takes ahead/rate seconds. Unknown rate: try again in a second.
  double ahead = static_cast<double>(m_queue.ahead_of(p));
  if (m_sq) {
    for (std::size_t i = 0; i <= static_cast<std::size_t>(p); ++i) {
      ahead += static_cast<double>(m_sq->depths[i]);
    }
  }
  const double secs = m_drain_rate > 0.01 ? std::ceil(ahead / m_drain_rate) : 1.0;
  return std::chrono::seconds(static_cast<std::int64_t>(std::clamp(secs, 1.0, 3600.0)));
}

std::expected<RecordView, QueueFull> Pipeline::submit(Submission s, const CacheKey* key) {
  m_metrics->submitted.fetch_add(1, std::memory_order_relaxed);
  const Priority priority = s.priority;
  const CacheMode mode = s.cache;
  auto rec = new_record(std::move(s), key);
  if (mode != CacheMode::refresh) {
    if (auto hit = m_cache->get(rec->key)) {
      return store_hit(rec->sub, rec->model, std::move(hit), rec->submitted, rec->created_unix);
    }
  }
  rec->id = new_request_id();
  std::lock_guard lock(m_mutex);
  if (m_stopping) {
    return std::unexpected(QueueFull{priority, std::chrono::seconds(1)});
  }
  if (m_shared) {
    return submit_shared(rec);
  }
  auto leader = m_inflight.find(rec->key.str());
  if (leader != m_inflight.end() && !is_final(leader->second->status)) {
    m_metrics->coalesced.inc();
    rec->coalesced = true;
    rec->status = leader->second->status;
    rec->sub.content.clear();
    leader->second->followers.push_back(rec);
    m_records.emplace(rec->id, rec);
    return view(*rec);
  }
  rec->job = m_next_job++;
  rec->enqueued = rec->submitted;
  if (m_l2 && mode != CacheMode::refresh) {
    // Counted as a hit or a miss when the L2 has answered (l2_resolve). Admitted now (its
    // level must have room), queued once the L2 has missed.
    if (m_queue.size(priority) + m_l2_lookups.size() >= m_config.queue_capacity_per_level) {
      return reject(priority);
    }
    admit(rec);
    m_l2_lookups.push_back(rec);
    m_l2_cv.notify_one();
    return view(*rec);
  }
  m_metrics->cache_misses.inc();
  if (!m_queue.push(rec->job, priority, rec->submitted)) {
    return reject(priority);
  }
  admit(rec);
  m_dispatch_cv.notify_one();
  return view(*rec);
}

std::unexpected<QueueFull> Pipeline::reject(Priority p) {
  m_metrics->rejected.with({std::string(priority_name(p))}).inc();
  m_metrics->rejected_all.fetch_add(1, std::memory_order_relaxed);
  return std::unexpected(QueueFull{p, estimate_retry_after(p)});
}

void Pipeline::admit(const std::shared_ptr<Record>& rec) {
  m_queued.emplace(rec->job, rec);
  m_inflight[rec->key.str()] = rec;
  m_records.emplace(rec->id, rec);
}

std::shared_ptr<Pipeline::Record> Pipeline::find_record(const std::string& id) const {
  auto it = m_records.find(id);
  return it == m_records.end() ? nullptr : it->second;
}

std::optional<RecordView> Pipeline::get(const std::string& id) const {
  std::lock_guard lock(m_mutex);
  if (auto hit = find_hit(id)) {
    return hit;
  }
  auto rec = find_record(id);
  if (!rec) {
    return std::nullopt;
  }
  return view(*rec);
}

void Pipeline::wait(const std::string& id, std::chrono::milliseconds timeout,
                    std::function<void(std::optional<RecordView>)> fn) {
  std::unique_lock lock(m_mutex);
  if (auto hit = find_hit(id)) {
    lock.unlock();
    fn(std::move(hit)); // a hit is final
    return;
  }
  auto rec = find_record(id);
  static std::atomic<std::uint64_t> next_token{1};
  if (!rec && m_shared && !m_stopping) {
    // Held by another instance, or by none (the shared store knows).
    m_sq->resolve.emplace_back(
        id, Waiter{next_token.fetch_add(1), m_clock.steady_now() + timeout, std::move(fn)});
    m_l2_cv.notify_one();
    return;
  }
  if (!rec || is_final(rec->status) || (timeout.count() <= 0 && !rec->pending) || m_stopping) {
    std::optional<RecordView> v;
    if (rec) {
      v = view(*rec);
    }
    lock.unlock();
    fn(std::move(v));
    return;
  }
  const std::uint64_t token = next_token.fetch_add(1);
  rec->waiters.push_back(Waiter{token, m_clock.steady_now() + timeout, std::move(fn)});
  lock.unlock();
  if (timeout.count() > 0) { // else a pending record's: answered once it is settled
    m_timers.schedule_after(timeout, [this, rec, token] { expire_waiter(rec, token); });
  }
}

void Pipeline::expire_waiter(const std::shared_ptr<Record>& rec, std::uint64_t token) {
  std::unique_lock lock(m_mutex);
  auto w = std::find_if(rec->waiters.begin(), rec->waiters.end(),
                        [token](const Waiter& x) { return x.token == token; });
  if (w == rec->waiters.end()) {
    if (rec->moved) {
      expire_remote(rec->id, token); // it went to the shared queue, and its waiters with it
    }
    return; // answered by completion already
  }
  if (rec->pending) {
    return; // answered when the shared queue has taken it (its deadline has passed by then)
  }
  auto f = std::move(w->fn);
  rec->waiters.erase(w);
  auto v = view(*rec);
  lock.unlock();
  f(std::move(v));
}

Pipeline::CancelResult Pipeline::cancel(const std::string& id) {
  std::vector<std::function<void()>> notify;
  CancelResult result = CancelResult::too_late;
  {
    std::lock_guard lock(m_mutex);
    if (find_hit(id)) {
      return CancelResult::too_late;
    }
    auto rec = find_record(id);
    if (!rec) {
      return CancelResult::not_found;
    }
    if (rec->status != Status::queued) {
      return is_final(rec->status) && rec->status == Status::cancelled ? CancelResult::cancelled
                                                                       : CancelResult::too_late;
    }
    if (rec->coalesced || !rec->followers.empty()) {
      // A follower just stops following; a leader others wait on keeps running for them
      // and only this record is cancelled.
      if (rec->coalesced) {
        for (auto& [key, leader] : m_inflight) {
          std::erase(leader->followers, rec);
        }
      } else {
        auto heir = rec->followers.front();
        rec->followers.erase(rec->followers.begin());
        heir->coalesced = false;
        heir->job = rec->job;
        heir->enqueued = rec->enqueued;
        heir->followers = std::move(rec->followers);
        heir->sub.content = rec->sub.content;
        m_queued[heir->job] = heir;
        m_inflight[rec->key.str()] = heir;
      }
    } else {
      m_queue.remove(rec->job);
      m_queued.erase(rec->job);
      if (auto it = m_inflight.find(rec->key.str()); it != m_inflight.end() && it->second == rec) {
        m_inflight.erase(it);
      }
      rec->cancelled = true;
    }
    complete(rec, Status::cancelled, notify);
    result = CancelResult::cancelled;
  }
  for (auto& f : notify) {
    f();
  }
  return result;
}

void Pipeline::stop() {
  std::vector<std::function<void()>> notify;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      return;
    }
    m_stopping = true;
    for (auto& [id, rec] : m_records) {
      for (auto& w : rec->waiters) {
        notify.emplace_back([f = std::move(w.fn), v = view(*rec)]() mutable { f(std::move(v)); });
      }
      rec->waiters.clear();
    }
    if (m_sq) {
      refetch_remote_waiters(); // answered from the shared store, as of now
      m_sq->feed_cv.notify_all();
    }
  }
  m_dispatch_cv.notify_all();
  m_work_cv.notify_all();
  m_l2_cv.notify_all();
  for (auto& f : notify) {
    f();
  }
}

std::array<std::size_t, k_priority_count> Pipeline::queue_depths() const {
  std::lock_guard lock(m_mutex);
  std::array<std::size_t, k_priority_count> d{};
  for (std::size_t i = 0; i < k_priority_count; ++i) {
    d[i] = m_queue.size(static_cast<Priority>(i)) + (m_sq ? m_sq->depths[i] : 0);
  }
  return d;
}

PipelineStats Pipeline::stats() const {
  PipelineStats s;
  s.submitted = m_metrics->submitted.load();
  s.completed = m_metrics->completed.load();
  s.failed = m_metrics->failed.load();
  s.cache_hits = m_metrics->cache_hits.value();
  s.coalesced = m_metrics->coalesced.value();
  s.cache_misses = m_metrics->cache_misses.value();
  s.upstream_calls = m_metrics->upstream_calls.load();
  s.retries = m_metrics->retries.value();
  s.rejected = m_metrics->rejected_all.load();
  s.cost_usd = m_metrics->cost.value();
  s.total_latency = m_metrics->total_all.snapshot();
  std::lock_guard lock(m_mutex);
  for (auto n : m_minute) {
    s.requests_last_minute += n;
  }
  return s;
}

int Pipeline::active_workers() const {
  std::lock_guard lock(m_mutex);
  return m_active_workers;
}

void Pipeline::complete(const std::shared_ptr<Record>& rec, Status status,
                        std::vector<std::function<void()>>& notify) {
  const Steady now = m_clock.steady_now();
  auto finish = [&](Record& r, Status st) {
    r.status = st;
    r.finished = now;
    r.sub.content.clear();
    r.sub.content.shrink_to_fit();
    m_expiry.emplace_back(now + m_config.record_ttl, r.id);
    observe_final(r);
    for (auto& w : r.waiters) {
      notify.emplace_back([f = std::move(w.fn), v = view(r)]() mutable { f(std::move(v)); });
    }
    r.waiters.clear();
    if (r.claim) {
      finish_shared(r, notify);
    }
    // Cache hits are not reported (the contract of on_final), L2 hits included.
    if (m_on_final && st != Status::cancelled && !r.cached) {
      notify.emplace_back([this, v = view(r)] { m_on_final(v); });
    }
  };
  if (!rec->coalesced) {
    auto it = m_inflight.find(rec->key.str());
    if (it != m_inflight.end() && it->second == rec) {
      m_inflight.erase(it);
    }
  }
  const bool pass_on = status != Status::cancelled;
  for (auto& f : rec->followers) {
    if (pass_on) {
      f->result_json = rec->result_json;
      f->error_status = rec->error_status;
      f->error_message = rec->error_message;
      f->model = rec->model;
      finish(*f, status);
    }
  }
  if (pass_on) {
    rec->followers.clear();
  }
  finish(*rec, status);
  ++m_completed_tick;
}

void Pipeline::observe_final(const Record& r) {
  const std::size_t outcome = r.status == Status::completed ? (r.cached      ? 0
                                                               : r.coalesced ? 1
                                                                             : 2)
                              : r.status == Status::failed  ? 3
                                                            : 4;
  m_metrics->outcome(r.sub, outcome).inc();
  m_metrics->total_by[static_cast<std::size_t>(r.sub.type)][static_cast<std::size_t>(r.sub.priority)]
      ->observe(r.finished - r.submitted);
  m_metrics->total_all.record(r.finished - r.submitted);
  (r.status == Status::completed ? m_metrics->completed : m_metrics->failed)
      .fetch_add(1, std::memory_order_relaxed);
}

// Drops expired final records, and the oldest final ones past the cap. Requires m_mutex.
void Pipeline::trim_records() {
  const Steady now = m_clock.steady_now();
  while (!m_expiry.empty() && (m_expiry.front().first <= now || m_records.size() > m_config.max_records)) {
    auto it = m_records.find(m_expiry.front().second);
    if (it != m_records.end() && is_final(it->second->status)) {
      m_records.erase(it);
    }
    m_expiry.pop_front();
  }
}

void Pipeline::housekeeping() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      return;
    }
    trim_records();
    const std::uint64_t submitted = m_metrics->submitted.load();
    m_minute_at = (m_minute_at + 1) % m_minute.size();
    m_minute[m_minute_at] = submitted - m_submitted_seen;
    m_submitted_seen = submitted;
    // Drain rate: an exponentially smoothed completions-per-second.
    m_drain_rate = 0.7 * m_drain_rate + 0.3 * static_cast<double>(m_completed_tick);
    m_completed_tick = 0;
    // Worker scaling, one step a tick (see the file comment).
    const int idle = m_active_workers - m_busy_workers;
    const bool backlog = m_queue.size() >= static_cast<std::size_t>(m_active_workers);
    const bool waiting_long = m_wait_ewma_ms > m_service_ewma_ms;
    if (!m_queue.empty() && idle <= 0 && (backlog || waiting_long) &&
        m_active_workers < m_config.max_workers) {
      ++m_active_workers;
      m_quiet_ticks = 0;
      m_work_cv.notify_all();
      m_dispatch_cv.notify_one();
    } else if (m_queue.empty() && m_busy_workers * 2 <= m_active_workers) {
      if (++m_quiet_ticks >= 5 && m_active_workers > m_config.min_workers) {
        --m_active_workers;
        m_quiet_ticks = 0;
      }
    } else {
      m_quiet_ticks = 0;
    }
  }
  m_timers.schedule_after(std::chrono::seconds(1), [this] { housekeeping(); });
}

} // namespace mp::ai
