// Parsing and judging SLA gates (threshold.hpp).

#include "bench/threshold.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <fstream>

namespace mp::bench {

namespace {

bool is_latency(std::string_view m) {
  if (m.starts_with("service_")) {
    m.remove_prefix(8);
  }
  static constexpr std::string_view k_lat[] = {"p50", "p90", "p95", "p99", "p99_9", "max", "min", "mean"};
  return std::find(std::begin(k_lat), std::end(k_lat), m) != std::end(k_lat);
}

bool is_ratio(std::string_view m) {
  return m == "error_rate" || m == "late_rate" || m == "delivery_ratio";
}

} // namespace

const std::vector<std::string_view>& threshold_metrics() {
  static const std::vector<std::string_view> k_all = {
      "p50",         "p90",           "p95",           "p99",         "p99.9",       "max",
      "min",         "mean",          "service_p50",   "service_p90", "service_p95", "service_p99",
      "service_max", "error_rate",    "late_rate",     "rps",         "requests",    "errors",
      "dropped",     "handshake_p99", "delivery_ratio"};
  return k_all;
}

std::string_view metric_unit(std::string_view m) {
  if (is_latency(m) || m == "handshake_p99") {
    return "ms";
  }
  if (is_ratio(m)) {
    return "ratio";
  }
  return m == "rps" ? "req/s" : "";
}

std::string_view op_text(Op op) {
  switch (op) {
  case Op::lt: return "<";
  case Op::le: return "<=";
  case Op::gt: return ">";
  case Op::ge: return ">=";
  }
  return "?";
}

Expected<Threshold> parse_threshold(std::string_view text) {
  const std::string_view expr = util::trim(text);
  const auto at = expr.find_first_of("<>");
  if (at == std::string_view::npos || at == 0) {
    return fail(Errc::usage,
                fmt::format("threshold '{}': expected METRIC<LIMIT or METRIC>LIMIT (e.g. p99<250ms)", expr),
                "--threshold");
  }
  Threshold t;
  t.expr = std::string(expr);
  std::string metric(util::trim(expr.substr(0, at)));
  const auto& known = threshold_metrics();
  if (std::find(known.begin(), known.end(), metric) == known.end()) {
    std::string names;
    for (auto k : known) {
      names += names.empty() ? "" : " ";
      names += k;
    }
    return fail(Errc::usage,
                fmt::format("threshold '{}': unknown metric '{}' (known: {})", expr, metric, names),
                "--threshold");
  }
  if (metric == "p99.9") {
    metric = "p99_9";
  }
  t.metric = metric;
  std::size_t pos = at + 1;
  const bool eq = pos < expr.size() && expr[pos] == '=';
  t.op = expr[at] == '<' ? (eq ? Op::le : Op::lt) : (eq ? Op::ge : Op::gt);
  pos += eq ? 1 : 0;
  const std::string_view rest = util::trim(expr.substr(pos));
  double v = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
  const std::string_view unit = util::trim(std::string_view(end, rest.data() + rest.size() - end));
  if (ec != std::errc{} || !std::isfinite(v)) {
    return fail(Errc::usage, fmt::format("threshold '{}': '{}' is not a number", expr, rest), "--threshold");
  }
  const std::string_view kind = metric_unit(metric);
  double scale = -1;
  if (kind == "ms") {
    scale = unit.empty() || unit == "ms" ? 1 : unit == "us" ? 1e-3 : unit == "s" ? 1e3 : -1;
  } else if (kind == "ratio") {
    scale = unit.empty() ? 1 : unit == "%" ? 0.01 : -1;
  } else {
    scale = unit.empty() || (kind == "req/s" && unit == "/s") ? 1 : -1;
  }
  if (scale < 0) {
    return fail(Errc::usage,
                fmt::format("threshold '{}': unit '{}' does not fit {} ({})", expr, unit, metric,
                            kind == "ms"      ? "us, ms or s"
                            : kind == "ratio" ? "% or a fraction"
                                              : "a plain number"),
                "--threshold");
  }
  t.limit = v * scale;
  return t;
}

Expected<std::vector<Threshold>> load_thresholds(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::usage, fmt::format("--thresholds-file {}: cannot read it", path), "--thresholds-file");
  }
  std::vector<Threshold> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string_view s = util::trim(line.substr(0, line.find('#')));
    if (s.empty()) {
      continue;
    }
    auto t = parse_threshold(s);
    if (!t) {
      return fail(Errc::usage, fmt::format("{}:{}: {}", path, n, t.error().message), "--thresholds-file");
    }
    out.push_back(std::move(*t));
  }
  return out;
}

bool holds(const Threshold& t, double value) {
  switch (t.op) {
  case Op::lt: return value < t.limit;
  case Op::le: return value <= t.limit;
  case Op::gt: return value > t.limit;
  case Op::ge: return value >= t.limit;
  }
  return false;
}

} // namespace mp::bench
