#pragma once
// Re-rendering a recorded run (`mp-bench report`): a table for people, the summary as
// JSON, the intervals as CSV, or one self-contained HTML page with SVG charts.

#include "bench/run_file.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mp::bench {

enum class ReportFormat { table, json, csv, html };

/// Parses `table|json|csv|html`; Errc::usage naming --format otherwise.
Expected<ReportFormat> parse_report_format(std::string_view name);

/// The format implied by an output file's extension (.json .csv .html .htm .txt), if any.
std::optional<ReportFormat> report_format_for_path(std::string_view path);

/// One threshold of the summary and its outcome.
struct ThresholdResult {
  std::string expr;            ///< as given, e.g. "p99<250ms"
  std::string metric;          ///< canonical, e.g. "p99_9"
  double limit = 0;            ///< in the metric's unit: ms, a fraction for rates, req/s
  std::optional<double> value; ///< measured, in the metric's unit
  std::string unit;            ///< "ms", "ratio" (or "%": a fraction all the same), "req/s", ""
  bool ok = true;
};

/// A threshold's measured value for people: "12.3 ms", "0.20%" for rates.
std::string format_threshold_value(const ThresholdResult& t);

/// The summary's fields that the renderers show, typed; missing fields read as 0/empty.
struct SummaryView {
  std::string test, run_id, target, url, model;
  double ts = 0;
  std::optional<bool> passed; ///< nullopt: not evaluated (a rebuilt summary)
  bool aborted = false;
  bool complete = true;
  double duration_s = 0, target_rps = 0, achieved_rps = 0;
  std::int64_t requests = 0, ok = 0, errors = 0, late = 0, dropped = 0;
  double error_rate = 0, late_rate = 0; ///< fractions
  Percentiles latency_ms;
  Percentiles service_ms;
  std::map<std::string, std::int64_t> error_kinds;
  std::optional<double> breaking_point;
  std::string breaking_point_unit, limiting_factor;
  double cpu_mean = 0, cpu_max = 0;
  bool saturated = false;
  std::vector<ThresholdResult> thresholds;
  std::vector<std::string> recommendations, warnings;
  /// WebSocket runs only: (label, value) rows from the summary's "ws" object.
  std::vector<std::pair<std::string, std::string>> ws;
};

/// Reads the typed view of `run.summary`.
SummaryView view_summary(const RunData& run);

/// `1234567` as "1,234,567".
std::string group_thousands(std::int64_t n);

/// Unix seconds as "2026-12-01 14:00:05 UTC"; empty for 0.
std::string format_utc(double unix_seconds);

struct ReportOptions {
  bool color = false; ///< ANSI colour in `table` (PASS/FAIL, header)
};

/// Writes `run` to `out` in `format`:
/// - table: a summary block (test, rates, requests, errors, late/dropped, latency,
///   thresholds PASS/FAIL, breaking point, recommendations, warnings), then one row per
///   measured (non-warm-up) interval;
/// - json: the summary object, pretty, plus an "intervals" array of every interval, warm-up
///   ones flagged (read_run reads it back);
/// - csv: a header, then one row per measured interval (RFC 4180, CRLF), a column per
///   error kind seen in the run;
/// - html: render_html.
void render_report(std::ostream& out, const RunData& run, ReportFormat format, ReportOptions opts = {});

/// One self-contained HTML page (inline CSS and SVG, no script, no external reference):
/// header with a pass/fail badge, summary, thresholds, recommendations and warnings, and
/// charts of latency percentiles, throughput and errors per interval, warm-up shaded.
void render_html(std::ostream& out, const RunData& run);

/// `s` with & < > " ' replaced by entities, for HTML text and attribute values.
std::string html_escape(std::string_view s);

} // namespace mp::bench
