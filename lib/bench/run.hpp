#pragma once
// One `mp-bench run`: drives the engine (or the WebSocket target) through its plan, writes the
// NDJSON events, judges thresholds and steps, and writes the summary with its recommendations.

#include "bench/engine.hpp"
#include "bench/plan.hpp"
#include "bench/stats.hpp"
#include "bench/threshold.hpp"
#include "util/json.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace mp::bench {

struct RunConfig {
  TestType type = TestType::load;
  std::string run_id;
  std::string target; ///< "ai", "http" or "ws"
  std::string url;
  EngineOptions engine;
  std::vector<Threshold> thresholds;
  std::vector<std::string> threshold_sources; ///< "flag", "file", "profile" or "config" per threshold
  bool abort_on_fail = false;
  double abort_grace_s = 10;
  double sla_p99_ms = 0; ///< for recommendations when no latency threshold is given (0: none)
  bool progress = false; ///< a progress line on stderr
};

/// Runs it; the NDJSON goes to `out`. Returns the exit code: 0 passed, 99 a threshold
/// failed (or a scalability run found no step that held), 3 when no connection ever
/// succeeded. Throws Fatal for setup errors.
int run_http(RunConfig cfg, std::ostream& out);

/// Stop a running run_http (from a signal handler's thread): its summary is still written.
void request_stop();

// Pieces exposed for the WebSocket run and tests.
struct Judged {
  Threshold threshold;
  std::optional<double> value;
  bool ok = false;
};
std::vector<Judged> judge(const std::vector<Threshold>& ts, const Totals& totals);
/// Writes `key` and a latency object {"p50","p90","p95","p99","p99_9","max","mean"[,"min"]} in ms.
void write_latency(util::JsonWriter& w, std::string_view key, const util::Histogram& h, bool with_min);

} // namespace mp::bench
