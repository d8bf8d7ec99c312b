#pragma once
// The AI processing pipeline: cache, single-flight, priority queue, limits, workers.
//
//   submit -> cache (L1) -> hit: completed, cached
//          -> same key in flight: follow it (coalesced; no upstream call)
//          -> admission (bounded level, else QueueFull with a Retry-After)
//          -> queue -> dispatcher: a free worker AND (remote providers) the breaker
//             and the limiter grant -> worker: one attempt -> success: cache, complete
//             leader and followers / retryable: back-off on the timer, then back to the
//             head of its level / else: failed
//
// Threads: the caller's (submit, get, wait, cancel: short, under one mutex), one
// dispatcher, up to max_workers workers (provider calls and the local analyser's CPU
// work happen only there, never on the I/O threads), and a timer thread (long-poll
// timeouts, back-offs, housekeeping every second: record expiry and worker scaling).
//
// Worker scaling (damped), on queue depth and latency: every second, if work is queued,
// no worker is idle, and either the queue holds at least one request per active worker
// or requests have been waiting longer than a service takes (moving averages of queue
// wait and service time), one more worker becomes active (up to max). If the queue has
// been empty and at most half the active workers busy for 5 consecutive seconds, one
// fewer (down to min). One step per second either way, so a burst cannot make it thrash.

#include "ai/cache.hpp"
#include "ai/limiter.hpp"
#include "ai/provider.hpp"
#include "ai/queue.hpp"
#include "ai/retry.hpp"
#include "ai/shared_cache.hpp"
#include "ai/types.hpp"
#include "metrics/registry.hpp"
#include "util/timer_queue.hpp"

#include <array>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mp::ai {

class SharedQueue;
struct ClaimedRequest;

struct PipelineConfig {
  std::size_t queue_capacity_per_level = 10'000;
  std::chrono::milliseconds aging{10'000};
  int min_workers = 1;
  int max_workers = 4;
  std::chrono::seconds cache_ttl{86'400};
  std::size_t cache_max_bytes = 256u << 20;
  int zstd_level = 3;
  std::chrono::seconds record_ttl{3600};
  std::size_t max_records = 100'000;
  std::string prompt_version = "v1";
  std::array<std::string, 4> models = {"gpt-5-nano", "gpt-5-mini", "gpt-5-mini", "gpt-5-mini"};
  RetryPolicy retry;
  int breaker_threshold = 5;
  std::chrono::milliseconds breaker_open{10'000};
};

/// A validated request, as the API received it.
struct Submission {
  std::string email_id_json = "null"; ///< the email_id as JSON text (number or string)
  analyser::RequestType type = analyser::RequestType::classification;
  Priority priority = Priority::normal;
  std::string model; ///< empty: the type's default
  std::string user_id;
  std::string owner; ///< the principal's user id: only it (or an admin) may read the record
  std::string subject;
  std::string sender;
  std::string content;
  CacheMode cache = CacheMode::normal;
};

/// A request's state, copied out for the caller.
struct RecordView {
  std::string id;
  Status status = Status::queued;
  analyser::RequestType type = analyser::RequestType::classification;
  Priority priority = Priority::normal;
  std::string email_id_json;
  std::string owner;
  std::string model;
  bool cached = false;
  bool coalesced = false;
  int attempts = 0;
  double cost_usd = 0;
  /// The result object, when completed; shared with the record, never copied.
  std::shared_ptr<const std::string> result_json;
  int error_status = 0;
  std::string error_message;
  double queue_wait_ms = 0;
  double service_ms = 0;
  double total_ms = 0;
  double created_unix = 0;
  /// Not yet in the shared queue: wait() answers once it is (so a 202 is never sent for a
  /// request that an instance's death could lose).
  bool pending = false;
  /// The record as another instance wrote it (shared queue): to_json() answers it as is.
  std::shared_ptr<const std::string> raw_json;
  /// The shared store could not be read for this record (the API answers 503).
  bool unavailable = false;

  /// The API's JSON for this record.
  [[nodiscard]] std::string to_json() const;
};

/// Totals since start, for the JSON summary.
struct PipelineStats {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t cache_hits = 0; ///< answered from the cache
  std::uint64_t coalesced = 0;  ///< joined an identical request (counted as hits)
  std::uint64_t cache_misses = 0;
  std::uint64_t upstream_calls = 0;
  std::uint64_t retries = 0;
  std::uint64_t rejected = 0;
  double cost_usd = 0;
  std::uint64_t requests_last_minute = 0; ///< submissions in the last 60 s (whole seconds)
  util::Histogram total_latency;          ///< submission to final answer, every request
};

struct QueueFull {
  Priority priority;
  std::chrono::seconds retry_after;
};

class Pipeline {
public:
  Pipeline(PipelineConfig config, std::unique_ptr<Provider> provider, std::unique_ptr<CacheStore> cache,
           std::unique_ptr<Limiter> limiter, metrics::Registry& registry, const util::Clock& clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Submits a request. A cache hit comes back completed; otherwise queued (or
  /// following an identical request in flight). QueueFull when its level is full.
  /// `key`, when given, must be key_for(s): callers that saw the same request before
  /// pass it to skip normalising and hashing the email again.
  std::expected<RecordView, QueueFull> submit(Submission s, const CacheKey* key = nullptr);
  /// The cache-hit fast path: when `key` (which must be key_for(s)) is in the cache,
  /// records the hit and returns it without copying the email; nullopt otherwise (then
  /// call submit). Counts exactly like a hit through submit().
  std::optional<RecordView> submit_cached(const Submission& s, const CacheKey& key);
  /// The cache key of a submission (type, resolved model, prompt version, email).
  [[nodiscard]] CacheKey key_for(const Submission& s) const;
  [[nodiscard]] std::optional<RecordView> get(const std::string& id) const;
  /// Calls `fn` once: with the record when it becomes final, or when `timeout` passes
  /// (with its state then), or at once if it is final already; nullopt for an unknown id.
  /// `fn` may run on any thread.
  void wait(const std::string& id, std::chrono::milliseconds timeout,
            std::function<void(std::optional<RecordView>)> fn);

  /// Called (on a worker thread, outside the pipeline's lock) for every request that
  /// became completed or failed after being queued; cache hits are not reported. Set
  /// it before the first submission.
  void on_final(std::function<void(const RecordView&)> fn) { m_on_final = std::move(fn); }

  /// Puts a shared L2 (ai/shared_cache.hpp) behind the L1 and starts its thread. Call it
  /// once, before the first submission.
  void set_shared_cache(std::unique_ptr<SharedCache> l2);
  /// L2 lookups since start: hits, misses, and lookups that failed (the L2 was down).
  struct L2Stats {
    std::uint64_t hits = 0, misses = 0, errors = 0, stores = 0;
  };
  [[nodiscard]] L2Stats l2_stats() const;

  enum class CancelResult { cancelled, not_found, too_late };
  /// Cancels a queued request (or one waiting to retry).
  CancelResult cancel(const std::string& id);

  struct SharedQueueOptions {
    std::chrono::milliseconds visibility{15'000}; ///< a claim not renewed this long is reclaimed
    int max_deliveries = 5; ///< a request handed out more often than this fails (it kills its instances)
  };
  /// Makes the queue shared by every instance (ai/shared_queue.hpp) and starts the feeder,
  /// which may complete claimed work at once: call it once, last (after on_final and
  /// set_shared_cache), before the first submission.
  void set_shared_queue(std::unique_ptr<SharedQueue> queue, SharedQueueOptions options);
  [[nodiscard]] bool shared() const { return m_shared != nullptr; }
  /// Cancels a request this instance does not hold (get() has no record of it) in the
  /// shared queue: `owner` empty for an admin. `fn` gets the outcome and the request's
  /// status, or nullopt when the shared queue is unreachable; it runs on another thread.
  void cancel_shared(const std::string& id, std::string owner,
                     std::function<void(std::optional<std::pair<CancelResult, Status>>)> fn);
  /// The shared queue's traffic since start.
  struct SharedStats {
    std::uint64_t enqueued = 0, claimed = 0, reclaimed = 0, finished = 0, local_fallbacks = 0, abandoned = 0,
                  errors = 0;
  };
  [[nodiscard]] SharedStats shared_stats() const;

  /// Stops dispatching; in-flight attempts finish; pending waiters are answered with the
  /// state they see. Idempotent.
  void stop();

  [[nodiscard]] const Provider& provider() const { return *m_provider; }
  [[nodiscard]] LimiterSnapshot limits() const { return m_limiter->snapshot(); }
  [[nodiscard]] CacheStats cache_stats() const { return m_cache->stats(); }
  /// The L1 itself, for the admin endpoints (serve/cache_routes.cpp). Thread-safe like any CacheStore.
  [[nodiscard]] CacheStore& cache() { return *m_cache; }
  [[nodiscard]] BreakerState breaker_state() const { return m_breaker.state(); }
  /// Requests queued at each level.
  [[nodiscard]] std::array<std::size_t, k_priority_count> queue_depths() const;
  [[nodiscard]] int active_workers() const;
  [[nodiscard]] PipelineStats stats() const;
  /// The model a request type uses when the request names none.
  [[nodiscard]] const std::string& default_model(analyser::RequestType t) const;

  struct Record;

private:
  struct Hit;
  struct Work;
  struct Metrics;
  struct Waiter;
  struct SharedState;

  void dispatcher_loop();
  void release_carried(std::optional<Grant>& carried);
  /// Refuses a submission: its level is full (counted, with a Retry-After estimate). Under m_mutex.
  std::unexpected<QueueFull> reject(Priority p);
  /// Registers an admitted record: by job, as its key's leader, by id. Under m_mutex.
  void admit(const std::shared_ptr<Record>& rec);
  void l2_loop();
  /// The shared queue's share of an L2-stage turn (pipeline_shared.cpp). Called without the lock.
  void shared_turn();
  void feeder_loop();
  void adopt(const std::vector<ClaimedRequest>& claimed, bool reclaimed);
  /// Settles admitted records after the shared queue took them (`ok`) or not (then locally).
  void settle_enqueued(const std::vector<std::shared_ptr<Record>>& recs, bool ok);
  /// Queues a pending record, here: the shared queue is down. Under m_mutex.
  void queue_locally(const std::shared_ptr<Record>& rec);
  /// Registers a waiter on a record another instance holds. Under m_mutex.
  void wait_remote(const std::string& id, Waiter w);
  /// A waiter's deadline passed. Takes m_mutex.
  void expire_waiter(const std::shared_ptr<Record>& rec, std::uint64_t token);
  /// ... on a record another instance holds. Under m_mutex.
  void expire_remote(const std::string& id, std::uint64_t token);
  /// submit()'s path in shared mode: admitted, then to the L2 stage. Under m_mutex.
  std::expected<RecordView, QueueFull> submit_shared(const std::shared_ptr<Record>& rec);
  /// A claimed record became final: its write-back to the shared queue. Under m_mutex.
  void finish_shared(Record& r, std::vector<std::function<void()>>& notify);
  /// Every remote waiter is answered from a fresh fetch (announcements may have been
  /// missed, or the pipeline stops). Under m_mutex.
  void refetch_remote_waiters();
  /// A completion announced by the shared queue (the listener's thread). Takes m_mutex.
  void on_shared_done(std::string_view id);
  /// The stage's work is waiting (lookups, writes, shared-queue traffic). Under m_mutex.
  [[nodiscard]] bool stage_has_work() const;
  void report_counters();
  void l2_resolve(const std::vector<std::shared_ptr<Record>>& batch,
                  const Expected<std::vector<std::optional<std::string>>>& found);
  void worker_loop(int index);
  void finish_attempt(const std::shared_ptr<Record>& rec, std::uint64_t reservation,
                      std::expected<ProviderResult, AttemptError> outcome, std::chrono::nanoseconds took);
  void complete(const std::shared_ptr<Record>& rec, Status status,
                std::vector<std::function<void()>>& notify);
  void housekeeping();
  void trim_records();
  RecordView store_hit(const Submission& s, const std::string& model,
                       std::shared_ptr<const std::string> value, util::Clock::SteadyTime at,
                       double created_unix);
  std::optional<RecordView> find_hit(const std::string& id) const;
  RecordView view(const Hit& h) const;
  std::shared_ptr<Record> find_record(const std::string& id) const;
  std::shared_ptr<Record> new_record(Submission s, const CacheKey* key);
  RecordView view(const Record& r) const;
  std::chrono::seconds estimate_retry_after(Priority p) const;
  void observe_final(const Record& r);

  PipelineConfig m_config;
  std::unique_ptr<Provider> m_provider;
  std::unique_ptr<CacheStore> m_cache;
  std::unique_ptr<Limiter> m_limiter;
  const util::Clock& m_clock;
  CircuitBreaker m_breaker;
  std::unique_ptr<Metrics> m_metrics;
  std::function<void(const RecordView&)> m_on_final;

  mutable std::mutex m_mutex;
  std::condition_variable m_dispatch_cv;
  std::condition_variable m_work_cv;
  PriorityQueue m_queue;
  std::unordered_map<std::string, std::shared_ptr<Record>> m_records;
  std::vector<Hit> m_hits; ///< cache hits, a ring of max_records (grown as it fills)
  std::size_t m_hit_next = 0;
  std::deque<std::pair<util::Clock::SteadyTime, std::string>> m_expiry; ///< final records, oldest first
  std::unordered_map<std::uint64_t, std::shared_ptr<Record>> m_queued;  ///< by job number
  std::unordered_map<std::string, std::shared_ptr<Record>> m_inflight;  ///< cache key -> leader
  std::deque<std::unique_ptr<Work>> m_work;
  int m_active_workers = 1;
  int m_busy_workers = 0;
  int m_quiet_ticks = 0;
  double m_drain_rate = 0;      ///< completions per second, smoothed
  double m_wait_ewma_ms = 0;    ///< queue wait of started requests, smoothed
  double m_service_ewma_ms = 0; ///< provider attempt time, smoothed
  std::uint64_t m_completed_tick = 0;
  std::array<std::uint64_t, 60> m_minute{}; ///< submissions per second, a ring
  std::size_t m_minute_at = 0;
  std::uint64_t m_submitted_seen = 0;
  std::uint64_t m_next_job = 1;
  bool m_stopping = false;
  std::vector<std::thread> m_workers;
  std::thread m_dispatcher;
  // The L2 stage (pipeline_l2.cpp): lookups and write-backs under m_mutex, done by m_l2_thread.
  std::unique_ptr<SharedCache> m_l2;
  std::condition_variable m_l2_cv;
  std::vector<std::shared_ptr<Record>> m_l2_lookups;
  std::vector<std::pair<std::string, std::string>> m_l2_writes;
  L2Stats m_l2_stats;
  SharedCacheCounters m_reported; ///< what report_counters() has added to the L2's totals
  std::thread m_l2_thread;
  bool m_workers_done = false; ///< the workers have exited: nothing more to finish
  // The shared queue (pipeline_shared.cpp); its state is under m_mutex.
  std::unique_ptr<SharedQueue> m_shared;
  std::unique_ptr<SharedState> m_sq;
  std::thread m_feeder;
  util::TimerQueue m_timers;
};

} // namespace mp::ai
