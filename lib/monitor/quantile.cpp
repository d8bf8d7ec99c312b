#include "monitor/quantile.hpp"

#include <algorithm>
#include <cmath>

namespace mp::monitor {

double quantile_sorted(std::span<const double> sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * std::clamp(q, 0.0, 1.0);
  const auto lo = static_cast<std::size_t>(h);
  if (lo + 1 >= sorted.size()) {
    return sorted.back();
  }
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

Knots knots_of(std::span<const double> sorted) {
  Knots k;
  k.count = static_cast<std::int64_t>(sorted.size());
  for (std::size_t i = 0; i < k_knots.size(); ++i) {
    k.at[i] = quantile_sorted(sorted, k_knots[i]);
  }
  return k;
}

namespace {

/// The quantile function of one part: linear in q between its knots.
double part_quantile(const Knots& k, double q) {
  for (std::size_t j = 1; j < k_knots.size(); ++j) {
    if (q <= k_knots[j]) {
      const double f = (q - k_knots[j - 1]) / (k_knots[j] - k_knots[j - 1]);
      return q == k_knots[j] ? k.at[j] : k.at[j - 1] + f * (k.at[j] - k.at[j - 1]);
    }
  }
  return k.at.back();
}

/// Where the mixture's CDF changes: a segment of a part adds `slope` (mass per unit of
/// value) from `x` on, and takes it away at its end; a segment of zero width is a jump.
struct Event {
  double x;
  double slope;
  double jump;
  bool operator<(const Event& o) const { return x < o.x; }
};

} // namespace

double mixture_quantile(const std::vector<Knots>& parts, double q) {
  q = std::clamp(q, 0.0, 1.0);
  if (parts.size() == 1) {
    return part_quantile(parts[0], q);
  }
  if (q == 0 || q == 1) {
    const std::size_t end = q == 0 ? 0 : k_knots.size() - 1;
    double v = parts[0].at[end];
    for (const Knots& k : parts) {
      v = q == 0 ? std::min(v, k.at[end]) : std::max(v, k.at[end]);
    }
    return v;
  }
  std::vector<Event> events;
  events.reserve(parts.size() * 2 * (k_knots.size() - 1));
  double total = 0;
  for (const Knots& k : parts) {
    const auto w = static_cast<double>(k.count);
    total += w;
    for (std::size_t j = 1; j < k_knots.size(); ++j) {
      const double mass = w * (k_knots[j] - k_knots[j - 1]);
      const double width = k.at[j] - k.at[j - 1];
      if (width > 0) {
        events.push_back({k.at[j - 1], mass / width, 0});
        events.push_back({k.at[j], -mass / width, 0});
      } else {
        events.push_back({k.at[j - 1], 0, mass});
      }
    }
  }
  std::sort(events.begin(), events.end());
  const double target = q * total;
  double cdf = 0, slope = 0, x = events.front().x;
  for (std::size_t i = 0; i < events.size();) {
    const double next = events[i].x;
    const double reached = cdf + slope * (next - x);
    if (slope > 0 && reached >= target) {
      return std::min(next, x + (target - cdf) / slope);
    }
    cdf = reached;
    x = next;
    for (; i < events.size() && events[i].x == next; ++i) {
      cdf += events[i].jump;
      slope += events[i].slope;
    }
    if (cdf >= target && target > 0) {
      return x;
    }
  }
  return x;
}

} // namespace mp::monitor
