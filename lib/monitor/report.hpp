#pragma once
// The performance report (GET /api/performance/report, mp-monitor report): built from
// the history alone, so mp-serve and mp-monitor --db give the same JSON.
//
// Fields (the seed's names where it has them): report_period_hours, generated_at,
// system_health_score and health (every component of the score), sla_compliance,
// error_budget_burn (the multi-window burn-rate alerts), alerts (active and the count of
// records in the window), scaling_recommendations, performance_summary (average, p95,
// p99 and last of the seed's metrics over the window).

#include "monitor/alerts.hpp"
#include "monitor/health.hpp"
#include "monitor/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mp::monitor {

struct ReportInputs {
  double now = 0;
  double hours = 24;
  SlaTargets sla;
  double apdex_t_ms = 500;
  /// The live engine's alerts (mp-serve); nullopt: the store's latest records (mp-monitor).
  std::optional<std::vector<ActiveAlert>> active;
  ScalingAdvisor* advisor = nullptr; ///< the server's (keeps its stabilisation window); null: a fresh one
};

/// The metric names the collector writes for the report (one sample per interval).
namespace names {
inline constexpr const char* response_mean = "ai_response_time_ms";
inline constexpr const char* response_p50 = "ai_response_time_p50_ms";
inline constexpr const char* response_p95 = "ai_response_time_p95_ms";
inline constexpr const char* response_p99 = "ai_response_time_p99_ms";
inline constexpr const char* urgent_p99 = "ai_urgent_response_time_p99_ms";
inline constexpr const char* error_rate = "error_rate_percent";
inline constexpr const char* cache_hit_rate = "cache_hit_rate_percent";
inline constexpr const char* requests = "ai_requests_interval";
inline constexpr const char* errors = "ai_errors_interval";
inline constexpr const char* satisfied = "apdex_satisfied";
inline constexpr const char* tolerating = "apdex_tolerating";
inline constexpr const char* frustrated = "apdex_frustrated";
inline constexpr const char* queue_depth = "queue_depth";
inline constexpr const char* workers = "ai_workers";
inline constexpr const char* websockets = "active_websocket_connections";
inline constexpr const char* per_minute = "ai_requests_per_minute";
inline constexpr const char* host_cpu = "host_cpu_percent";
inline constexpr const char* host_memory = "host_memory_used_percent";
} // namespace names

Expected<std::string> build_report(const Store& store, const ReportInputs& in, bool pretty = false);

/// The error-rate objective's burn rates over the last 6 hours of the history.
BurnRateReport burn_rates_from(const Store& store, double now, double error_budget);

/// The report's health score alone, for --fail-on and the summary.
struct ReportVerdict {
  double score = 100;
  int critical = 0, warning = 0;
};
ReportVerdict verdict_of(const std::string& report_json);

} // namespace mp::monitor
