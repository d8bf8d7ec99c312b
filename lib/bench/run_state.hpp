#pragma once
// What run.cpp keeps while a run goes and summary.cpp writes at its end (internal).

#include "bench/run.hpp"

#include <string>
#include <vector>

namespace mp::bench {

/// The first time something happened, for the recommendations (constant memory).
struct FirstEvent {
  bool seen = false;
  double t = 0;
  double target_rps = 0;
  double achieved_rps = 0;
  double value = 0;
  std::string detail;
};

struct StageTotals {
  Totals totals;
  double start_s = 0, end_s = 0;
  bool measured = false; ///< at least one of its windows arrived
};

struct RunState {
  RunConfig cfg;
  double started_unix = 0;
  Totals total;                    ///< everything outside warm-up
  std::vector<StageTotals> stages; ///< one per plan stage
  std::vector<FirstEvent> crossed; ///< per threshold: the first interval that failed it
  FirstEvent sla_crossed;          ///< cfg.sla_p99_ms crossed (when no latency threshold)
  FirstEvent first_errors, behind, saturated;
  double cpu_max = 0;
  double steal_sum = 0, steal_max = 0; ///< the host's steal time, % per measured interval
  std::size_t steal_samples = 0;
  double last_steal = -1; ///< of the interval being written (-1: unknown)
  std::uint64_t responses_ever = 0, connect_failures_ever = 0;
  bool aborted = false;
  std::string abort_reason;
  std::size_t stopped_after_stage = SIZE_MAX; ///< scalability: the step that broke
  std::vector<std::string> warnings;
};

/// Writes the `start` line.
void write_start(std::ostream& out, const RunState& s);
/// Writes one `interval` line.
void write_interval(std::ostream& out, const RunState& s, const Window& w, double t_end, double dt,
                    std::size_t stage, double target_rps);
/// Judges the run, writes the `summary` line, returns the exit code.
int write_summary(std::ostream& out, RunState& s);
/// `type`, `run_id`, `test` and `ts`: the fields every line starts with.
void write_header(util::JsonWriter& w, const RunState& s, std::string_view type);
/// The summary's `thresholds` array: each judged threshold with its value and source.
void write_thresholds(util::JsonWriter& w, const std::vector<Judged>& judged,
                      const std::vector<std::string>& sources);
/// `key` and an array of strings.
void write_strings(util::JsonWriter& w, std::string_view key, const std::vector<std::string>& list);
/// The config object of start and summary.
void write_config(util::JsonWriter& w, const RunState& s);

/// Whether a step held: its latency and ratio thresholds and >= 95% of its target rate.
bool step_holds(const RunState& s, const Totals& t, std::string* why);

} // namespace mp::bench
