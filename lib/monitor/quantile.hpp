#pragma once
// Percentiles of the metrics history: exact ones from samples, and estimates for a bucket
// made of several rollup rows.
//
// Exact: linear interpolation between the closest ranks (h = (n - 1) q), the definition
// numpy and Prometheus' quantile_over_time use.
//
// Estimated: a rollup row keeps its count and its quantiles at k_knots (min, p50, p90, p95,
// p99, max). Taking its quantile function as piecewise linear between those knots gives
// it a distribution; a bucket of rows is the count-weighted mixture of them, and its
// q-quantile is where the mixture's CDF reaches q. Unlike picking one row's p99 or
// averaging them, this answers "p99 of five similar minutes" with their common p99, not
// with their maximum, and still lets one slow minute dominate the tail.
// bench/monitor_store.sh prints how far it lands from the exact value.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace mp::monitor {

inline constexpr std::array<double, 6> k_knots = {0.0, 0.50, 0.90, 0.95, 0.99, 1.0};

/// A distribution by its quantiles at k_knots; `count` weighs it in a mixture.
struct Knots {
  std::int64_t count = 0;
  std::array<double, 6> at{};
};

/// The q-quantile of ascending `sorted` (not empty).
double quantile_sorted(std::span<const double> sorted, double q);

/// The knots of ascending `sorted` (not empty).
Knots knots_of(std::span<const double> sorted);

/// The q-quantile of the mixture of `parts` (not empty). Exact for one part at a knot.
double mixture_quantile(const std::vector<Knots>& parts, double q);

} // namespace mp::monitor
