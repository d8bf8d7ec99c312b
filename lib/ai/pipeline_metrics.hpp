#pragma once
// The pipeline's metric series, resolved once at start: private to pipeline.cpp.

#include "ai/pipeline.hpp"

#include <array>
#include <atomic>
#include <string>

namespace mp::ai {

struct Pipeline::Metrics {
  explicit Metrics(metrics::Registry& r)
      : requests(r.counter("mp_ai_requests_total", "AI requests by final outcome",
                           {"request_type", "priority", "outcome"})),
        queue_wait(r.histogram("mp_ai_queue_wait_seconds", "Time from submission to the first attempt",
                               {"request_type", "priority"})),
        service(r.histogram("mp_ai_service_seconds", "Time of one provider attempt", {"request_type"})),
        total(r.histogram("mp_ai_total_seconds", "Time from submission to the final answer",
                          {"request_type", "priority"})),
        cache_hits(r.counter("mp_ai_cache_hits_total", "Requests answered from the cache").with({})),
        cache_misses(r.counter("mp_ai_cache_misses_total", "Requests that missed the cache").with({})),
        coalesced(r.counter("mp_ai_cache_coalesced_total",
                            "Requests that joined an identical request in flight (counted as hits)")
                      .with({})),
        upstream(
            r.counter("mp_ai_upstream_calls_total", "Provider attempts by outcome", {"provider", "outcome"})),
        retries(
            r.counter("mp_ai_retries_total", "Attempts scheduled again after a retryable failure").with({})),
        rate_limited(r.counter("mp_ai_upstream_rate_limited_total", "Upstream 429 answers").with({})),
        cost(r.float_counter("mp_ai_cost_dollars_total", "Dollars spent upstream").with({})),
        budget_left(r.gauge("mp_ai_budget_remaining_dollars", "Dollars left in the hourly budget").with({})),
        queue_depth(r.gauge("mp_ai_queue_depth", "Requests waiting, by priority", {"priority"})),
        workers(r.gauge("mp_ai_workers", "Worker threads", {"state"})),
        rejected(
            r.counter("mp_ai_rejected_total", "Requests refused by admission (queue full)", {"priority"})),
        cache_bytes(r.gauge("mp_ai_cache_bytes", "Bytes held by the L1 cache").with({})),
        cache_entries(r.gauge("mp_ai_cache_entries", "Entries in the L1 cache").with({})),
        cache_evictions(r.gauge("mp_ai_cache_evictions", "L1 evictions since start", {"reason"})),
        breaker(r.gauge("mp_ai_circuit_open", "1 when the upstream circuit breaker is open").with({})) {}

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& queue_wait;
  metrics::Family<metrics::Histogram>& service;
  metrics::Family<metrics::Histogram>& total;
  metrics::Counter& cache_hits;
  metrics::Counter& cache_misses;
  metrics::Counter& coalesced;
  metrics::Family<metrics::Counter>& upstream;
  metrics::Counter& retries;
  metrics::Counter& rate_limited;
  metrics::FloatCounter& cost;
  metrics::Gauge& budget_left;
  metrics::Family<metrics::Gauge>& queue_depth;
  metrics::Family<metrics::Gauge>& workers;
  metrics::Family<metrics::Counter>& rejected;
  metrics::Gauge& cache_bytes;
  metrics::Gauge& cache_entries;
  metrics::Family<metrics::Gauge>& cache_evictions;
  metrics::Gauge& breaker;
  util::AtomicHistogram total_all;

  // Series resolved once: Family::with() locks and allocates, too slow per request.
  static constexpr std::array<std::string_view, 5> k_outcomes = {"cached", "coalesced", "completed", "failed",
                                                                 "cancelled"};
  std::array<std::array<std::array<metrics::Counter*, 5>, k_priority_count>, 4> by_outcome{};
  std::array<std::array<metrics::Histogram*, k_priority_count>, 4> total_by{};
  std::array<std::array<metrics::Histogram*, k_priority_count>, 4> wait_by{};
  std::array<metrics::Histogram*, 4> service_by{};

  void resolve() {
    for (std::size_t t = 0; t < 4; ++t) {
      const std::string type(analyser::request_type_name(static_cast<analyser::RequestType>(t)));
      service_by[t] = &service.with({type});
      for (std::size_t p = 0; p < k_priority_count; ++p) {
        const std::string prio(k_priority_names[p]);
        total_by[t][p] = &total.with({type, prio});
        wait_by[t][p] = &queue_wait.with({type, prio});
        for (std::size_t o = 0; o < k_outcomes.size(); ++o) {
          by_outcome[t][p][o] = &requests.with({type, prio, std::string(k_outcomes[o])});
        }
      }
    }
  }
  metrics::Counter& outcome(const Submission& s, std::size_t o) {
    return *by_outcome[static_cast<std::size_t>(s.type)][static_cast<std::size_t>(s.priority)][o];
  }
  std::atomic<std::uint64_t> submitted{0}, completed{0}, failed{0}, upstream_calls{0}, rejected_all{0};
};

} // namespace mp::ai
