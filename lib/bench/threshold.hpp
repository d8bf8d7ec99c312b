#pragma once
// SLA gates: `p99<250ms`, `error_rate<1%`, `rps>1000`.
//
// A threshold names a metric of the summary, an operator and a limit. Latency metrics are
// in milliseconds (a bare number is ms; `us`, `ms`, `s` convert), rates are fractions
// (`1%` is 0.01), the rest are plain numbers. A metric that does not exist is a usage error
// when the threshold is parsed, before any load is sent: k6 users lost CI gates to a
// misspelled metric that silently passed (research/load-testing.md).

#include "util/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

enum class Op { lt, le, gt, ge };

struct Threshold {
  std::string expr;   ///< as given, trimmed
  std::string metric; ///< canonical name (p99.9 is "p99_9")
  Op op = Op::lt;
  double limit = 0; ///< in the metric's unit: ms, fraction, req/s or a count
};

/// The metrics a threshold may name, for messages and docs.
const std::vector<std::string_view>& threshold_metrics();

/// Parses one expression; Errc::usage naming the metric, operator or number at fault.
Expected<Threshold> parse_threshold(std::string_view expr);

/// Reads one threshold per line (blank lines and `#` comments skipped); errors name the line.
Expected<std::vector<Threshold>> load_thresholds(const std::string& path);

/// True when `value` satisfies `t`.
bool holds(const Threshold& t, double value);

std::string_view op_text(Op op);

/// The unit a metric's values are in: "ms", "ratio", "req/s" or "".
std::string_view metric_unit(std::string_view metric);

} // namespace mp::bench
