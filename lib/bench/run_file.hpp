#pragma once
// Reading a recorded mp-bench run back: the NDJSON that `mp-bench run` writes (a start
// line, one line per interval, a summary line; /tmp/mpbench-spec.md), or the single pretty
// object that `mp-bench report --format json` writes, so a report round-trips.

#include "util/error.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

/// Latency percentiles of one interval, in milliseconds.
struct Percentiles {
  double p50 = 0;
  double p90 = 0;
  double p95 = 0;
  double p99 = 0;
  double p99_9 = 0;
  double max = 0;
  double mean = 0;
};

/// One `{"type":"interval"}` line.
struct Interval {
  double t = 0;  ///< seconds since the run started, at the end of the interval
  double dt = 0; ///< the interval's length, s
  std::int64_t stage = 0;
  bool warmup = false;
  double target_rps = 0;
  double achieved_rps = 0;
  std::int64_t requests = 0;
  std::int64_t ok = 0;
  std::int64_t errors = 0;
  std::int64_t late = 0;
  std::int64_t dropped = 0;
  Percentiles latency_ms;                          ///< from the intended send time (CO-correct)
  double service_p99_ms = 0;                       ///< from the actual send time
  std::map<std::string, std::int64_t> error_kinds; ///< only non-zero kinds
  double generator_cpu = 0;                        ///< percent of the generator's threads
  std::int64_t connections = 0;
};

/// A run as read from its file.
struct RunData {
  std::string run_id;
  std::string test;
  double ts = 0;                   ///< Unix seconds of the first line
  rapidjson::Document start;       ///< the start line; null when the file has none
  std::vector<Interval> intervals; ///< in file order, warm-up included (flagged)
  /// The summary line. When the file has none (a killed run), one rebuilt from the
  /// measured intervals, with `complete` false and the reason in `warnings`.
  rapidjson::Document summary;
  bool complete = true;              ///< false: `summary` was rebuilt from the intervals
  std::vector<std::string> warnings; ///< the reader's own (also in summary["warnings"])
};

/// Reads a run from `in`. Blank lines and lines of other types are skipped; lines of
/// another run_id than the first are skipped with a warning. Errors are Errc::usage naming
/// the line: "line 7: not a JSON object", "line 3: interval: \"requests\" is not a number",
/// or "no mp-bench lines" for a file without start, interval or summary.
Expected<RunData> read_run(std::istream& in);

/// The measured (non-warm-up) intervals of `run`.
std::vector<const Interval*> measured_intervals(const RunData& run);

} // namespace mp::bench
