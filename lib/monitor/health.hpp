#pragma once
// SLA compliance, error-budget burn rates, the health score and scaling advice: pure
// functions of the observations they are given and of `now` (Unix seconds). The store
// and the report gather the inputs; nothing here reads a clock, a file or a socket.
//
// SLA compliance. Each SlaWindowSample is one collection interval. An objective is met by
// a sample when its value is within the target (latencies and the error rate <= target,
// the cache hit rate >= target); a NaN value means "not observed in that interval" (no
// urgent request, no traffic) and the sample does not count for that objective. A
// sample's error rate is error_rate_percent, or errors/requests when that is NaN.
//   compliance(objective) = 100 * met / observed
//   overall               = 100 * (samples meeting every objective they observed) /
//                           (samples observing at least one)
//   error budget left     = clamp(1 - (sum errors / sum requests) / budget, 0, 1),
//                           budget = error_rate_percent / 100 (1% => SLO 99%)
//
// Burn rates (SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate):
//   burn_rate(w) = (errors / requests over the samples with ts in (now - w, now]) / budget
//   page   when burn(1 h)  >= 14.4 and burn(5 min)  >= 14.4  (2% of a 30-day budget in 1 h)
//   ticket when burn(6 h)  >= 6    and burn(30 min) >= 6     (5% of it in 6 h)
// The short window makes an alert stop soon after the errors do. No requests: burn 0.
// The workbook pages on both; the issue makes the slower one a ticket.
//
// Health score, 0..100:
//   apdex     = (satisfied + tolerating / 2) / total, satisfied <= T < tolerating <= 4T <
//               frustrated (T = apdex_t_ms, 500); 1 when there were no requests
//   budget    = error budget left, 0..1 (above)
//   headroom  = 1 - max(cpu %, memory %) / 100, clamped to 0..1 (an unknown, NaN, is 0%)
//   penalty   = min(25 * critical + 10 * warning + 2 * info firing alerts, 50)
//   score     = clamp(100 * (0.4 * apdex + 0.3 * budget + 0.3 * headroom) - penalty, 0, 100)
//   status    = healthy >= 80 > degraded >= 50 > unhealthy
// Weights and penalties are HealthConfig fields; the JSON shows every term.
//
// Scaling advice, after the Kubernetes HPA and KEDA:
//   instances by CPU   = ceil(current * cpu / target_cpu)
//   workers by queue   = ceil(depth / target_queue_per_worker)
//   instances by queue = ceil(depth / target_queue_per_instance)
//                        (default: target_queue_per_worker * max_workers, a full instance)
//   No change while |ratio - 1| <= tolerance (0.1), ratio = metric per replica / target.
//   Instances take the larger of the two rules. Each result is clamped to [min, max].
//   Scale-up is immediate; a scale-down goes no lower than the highest recommendation
//   of the last scale_down_window_seconds (300), so a dip has to last the window.

#include "monitor/alerts.hpp"
#include "util/histogram.hpp"
#include "util/json.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mp::monitor {

// ---- SLA ----------------------------------------------------------------------------

struct SlaTargets {
  double urgent_ms = 2000; ///< p99 of urgent requests
  double p50_ms = 500;
  double p95_ms = 1500;
  double p99_ms = 2000;
  double error_rate_percent = 1.0; ///< also the error budget: SLO = 100 - this
  double cache_hit_rate_percent = 90;
};

/// One collection interval's observations; NaN: not observed in this interval.
struct SlaWindowSample {
  double ts = 0; ///< end of the interval
  double p50_ms = NAN, p95_ms = NAN, p99_ms = NAN, urgent_p99_ms = NAN;
  double error_rate_percent = NAN; ///< NaN: errors / requests
  double cache_hit_rate_percent = NAN;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
};

struct ObjectiveCompliance {
  std::string_view objective;  ///< "p50_ms", "p95_ms", "p99_ms", "urgent_ms", "error_rate_percent", ...
  std::string_view comparison; ///< "<=" or ">=": how a sample meets `target`
  double target = 0;
  std::size_t observed = 0; ///< samples with a value
  std::size_t met = 0;
  std::optional<double> compliance_percent; ///< nullopt when nothing was observed
  double worst = NAN;                       ///< highest (<=) or lowest (>=) value seen
};

struct SlaCompliance {
  double from = 0, to = 0;
  std::size_t samples = 0;
  std::vector<ObjectiveCompliance> objectives; ///< in SlaTargets' order
  std::optional<double> overall_percent;
  std::uint64_t requests = 0, errors = 0;
  double error_ratio = 0;            ///< errors / requests; 0 without requests
  double error_budget_remaining = 1; ///< 0..1
};

/// Compliance over the samples with ts in (from, to].
SlaCompliance sla_compliance(std::span<const SlaWindowSample> samples, const SlaTargets& targets, double from,
                             double to);
void write_json(util::JsonWriter& w, const SlaCompliance& c);

// ---- burn rates ---------------------------------------------------------------------

struct BurnAlertPolicy {
  std::string_view name;
  double long_seconds;
  double short_seconds;
  double burn_rate; ///< fires when both windows are at or above it
};
inline constexpr std::array<BurnAlertPolicy, 2> k_burn_policies = {{
    {"page", 3600, 300, 14.4},
    {"ticket", 21600, 1800, 6},
}};

struct BurnWindow {
  double seconds = 0;
  std::uint64_t requests = 0, errors = 0;
  double error_ratio = 0;
  double burn_rate = 0;
};

struct BurnAlert {
  BurnAlertPolicy policy;
  double long_burn_rate = 0, short_burn_rate = 0;
  bool active = false;
};

struct BurnRateReport {
  double error_budget = 0.01;      ///< 1 - SLO, as a ratio
  std::vector<BurnWindow> windows; ///< every window the policies use, shortest first
  std::vector<BurnAlert> alerts;   ///< one per policy, in order
};

/// `error_budget` is a ratio (SlaTargets::error_rate_percent / 100); a budget <= 0 makes
/// any error an infinite burn.
BurnRateReport burn_rates(std::span<const SlaWindowSample> samples, double now, double error_budget = 0.01,
                          std::span<const BurnAlertPolicy> policies = k_burn_policies);
void write_json(util::JsonWriter& w, const BurnRateReport& r);

// ---- health score -------------------------------------------------------------------

struct ApdexCounts {
  double satisfied = 0, tolerating = 0, frustrated = 0; ///< fractional when interpolated
  [[nodiscard]] double total() const { return satisfied + tolerating + frustrated; }
};
/// (satisfied + tolerating / 2) / total; 1 when total is 0.
double apdex(const ApdexCounts& c);

/// A latency histogram bucket: `count` requests in (previous upper_ms, upper_ms].
struct LatencyBucket {
  double upper_ms;
  std::uint64_t count;
};
/// Counts from buckets sorted by upper_ms (the first starts at 0; the last may be +inf).
/// A bucket that straddles T or 4T is split linearly, as Prometheus' histogram_quantile
/// does; the part of an unbounded bucket above its lower edge is all frustrated.
ApdexCounts apdex_counts(std::span<const LatencyBucket> buckets, double t_ms);
/// Counts from the library's histogram (within one bucket, under 0.4%).
ApdexCounts apdex_counts(const util::Histogram& h, double t_ms);

struct AlertCounts {
  int critical = 0, warning = 0, info = 0;
};
/// The firing alerts by severity (pending ones do not count against health).
AlertCounts count_firing(const std::vector<ActiveAlert>& active);

struct HealthConfig {
  double apdex_t_ms = 500;
  double apdex_weight = 0.4, budget_weight = 0.3, headroom_weight = 0.3; ///< meant to sum to 1
  double critical_penalty = 25, warning_penalty = 10, info_penalty = 2;
  double max_penalty = 50;
};

struct HealthInputs {
  ApdexCounts latency;               ///< see apdex_counts
  double error_budget_remaining = 1; ///< SlaCompliance::error_budget_remaining
  AlertCounts alerts;
  double cpu_percent = NAN; ///< NaN: unknown
  double memory_percent = NAN;
};

struct HealthScore {
  double score = 0; ///< 0..100
  std::string_view status;
  double apdex = 1, apdex_t_ms = 500;
  ApdexCounts latency;
  double error_budget_remaining = 1;
  double headroom = 1, cpu_percent = NAN, memory_percent = NAN;
  AlertCounts alerts;
  double alert_penalty = 0;
  HealthConfig config;
  double apdex_points = 0, budget_points = 0, headroom_points = 0; ///< 100 * weight * component
};

HealthScore health_score(const HealthInputs& in, const HealthConfig& config = {});
/// `{"score":..,"status":..,"formula":..,"components":{"apdex":{..},"error_budget":{..},
/// "headroom":{..},"alerts":{..}}}`
void write_json(util::JsonWriter& w, const HealthScore& h);
std::string to_json(const HealthScore& h);

// ---- scaling advice -----------------------------------------------------------------

struct ScalingInputs {
  int current_workers = 1;
  int current_instances = 1;
  double cpu_percent = NAN; ///< NaN: no CPU rule
  double target_cpu_percent = 70;
  double queue_depth = 0;
  double target_queue_per_worker = 100;
  double target_queue_per_instance = 0; ///< 0: target_queue_per_worker * max_workers
  int min_workers = 1, max_workers = 64;
  int min_instances = 1, max_instances = 10;
};

struct ScalingConfig {
  double tolerance = 0.1;
  double scale_down_window_seconds = 300;
};

struct ScalingRecommendation {
  std::string resource; ///< "workers" or "instances"
  int current = 0;
  int desired = 0;
  std::string action; ///< "scale_up", "scale_down" or "none"
  std::string reason; ///< the rule with its numbers, e.g. "queue depth 1200 at 100 per worker: 12 workers"
  std::string metric; ///< the deciding rule's metric: "queue_depth" or "cpu_percent"
  double value = 0;   ///< that metric's value
  double target = 0;  ///< its target per replica
  double ratio = 0;   ///< value per current replica / target; NaN when there is no replica
  int proposed = 0;   ///< the rule's result within [min, max], before stabilisation
  int min = 0, max = 0;
};

void write_json(util::JsonWriter& w, const ScalingRecommendation& r);
/// A JSON array of recommendations.
std::string to_json(const std::vector<ScalingRecommendation>& recs);

/// Keeps the recent recommendations the scale-down stabilisation needs. Not thread-safe.
class ScalingAdvisor {
public:
  explicit ScalingAdvisor(ScalingConfig config = {}) : m_config(config) {}

  /// Workers first, then instances. Calls should come with non-decreasing `now`.
  std::vector<ScalingRecommendation> recommend(const ScalingInputs& in, double now);

private:
  struct Seen {
    double ts;
    int desired;
  };
  int stabilise(std::deque<Seen>& history, int current, int proposed, double now) const;

  ScalingConfig m_config;
  std::deque<Seen> m_workers, m_instances;
};

} // namespace mp::monitor
