#pragma once
// Comparing two runs' summaries: which metrics got worse beyond a tolerance.
//
// The rule, per metric (`mp-bench compare BASE NEW --tolerance T`, T default 10%):
//   latency (p50 p95 p99 p99_9 max, ms; higher is worse): change = (new - base) / base.
//       A regression when change > T, an improvement when change < -T, and never when the
//       difference is under 0.05 ms (scheduler jitter on a loopback run would flake CI).
//   achieved_rps (lower is worse): a regression when change < -T, an improvement when > T.
//   error_rate, late_rate (fractions; higher is worse): relative like latency, and never
//       when the difference is under 0.1 percentage points. When the base is 0 a relative
//       change has no meaning, so only the absolute rule applies: 0% -> 0.05% is ok,
//       0% -> 0.5% is a regression. The change is then shown in percentage points.
// A metric missing from either summary is left out with a note.

#include "util/error.hpp"
#include "util/output.hpp"

#include <rapidjson/document.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

inline constexpr double k_default_tolerance = 0.10;
inline constexpr double k_latency_floor_ms = 0.05;
inline constexpr double k_rate_floor = 0.001; ///< 0.1 percentage points

enum class Verdict { ok, regression, improvement };
std::string_view verdict_name(Verdict v);

struct CompareRow {
  std::string metric; ///< p50 p95 p99 p99_9 max achieved_rps error_rate late_rate
  std::string unit;   ///< ms, req/s or % (rates are stored as fractions)
  double base = 0;
  double current = 0;
  std::optional<double> change; ///< (current - base) / base; nullopt when base is 0
  Verdict verdict = Verdict::ok;
};

struct Comparison {
  std::vector<CompareRow> rows;
  std::vector<std::string> notes; ///< metrics left out, runs that are not comparable
  double tolerance = k_default_tolerance;
  bool regressed = false; ///< some row is a regression
};

/// Parses `10%` or a bare fraction `0.05` (in [0, 1)); Errc::usage naming --tolerance
/// otherwise (a bare `5` is refused as ambiguous).
Expected<double> parse_tolerance(std::string_view text);

/// Compares two summary objects (the `{"type":"summary"}` line) by the rule above.
Comparison compare_summaries(const rapidjson::Value& base, const rapidjson::Value& current, double tolerance);

/// Writes `c` as an aligned table (with the notes and a verdict line), or as JSON:
/// `{"tolerance":..,"regressed":..,"metrics":[{"metric","unit","base","new","change_percent",
/// "difference","verdict"}],"notes":[..]}`. `f` must be table or json.
void render_comparison(std::ostream& out, const Comparison& c, util::Format f, bool color = false);

} // namespace mp::bench
