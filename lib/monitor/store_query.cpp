// Range queries over the three tiers, and the names of aggregations and tiers.
//
// Tier choice (see store.hpp): start from the finest tier whose retention still covers
// `since`, then move to a coarser one whose bucket divides the step, because its rows
// give the same count/sum/min/max/last and there are 60 or 3,600 times fewer of them.
// Rollup rows are read below the tier's watermark, raw samples above it, so data not yet
// rolled up is never missing.
//
// Percentiles (monitor/quantile.hpp): exact from raw samples; from rollups, the quantile
// of the count-weighted mixture of the rows' distributions, exact when the step equals
// the tier's bucket and an estimate otherwise.

#include "monitor/store_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace mp::monitor {

namespace {

constexpr std::array<std::pair<Agg, const char*>, 10> k_aggs = {{
    {Agg::avg, "avg"},
    {Agg::min, "min"},
    {Agg::max, "max"},
    {Agg::sum, "sum"},
    {Agg::count, "count"},
    {Agg::last, "last"},
    {Agg::p50, "p50"},
    {Agg::p90, "p90"},
    {Agg::p95, "p95"},
    {Agg::p99, "p99"},
}};

constexpr std::array<std::pair<Tier, const char*>, 3> k_tiers = {{
    {Tier::raw, "raw"},
    {Tier::minute, "minute"},
    {Tier::hour, "hour"},
}};

/// The quantile of a percentile aggregation, or 0.
double quantile_of(Agg agg) {
  switch (agg) {
  case Agg::p50: return 0.50;
  case Agg::p90: return 0.90;
  case Agg::p95: return 0.95;
  case Agg::p99: return 0.99;
  default: return 0;
  }
}

/// Aggregates time-ordered samples and rollup rows into aligned buckets, one at a time.
class Buckets {
public:
  Buckets(Agg agg, std::int64_t step_ms) : m_agg(agg), m_q(quantile_of(agg)), m_step(step_ms) {}

  void add(std::int64_t ts, double value) {
    open(ts, 1, value, value, value, value);
    if (m_q > 0) {
      m_values.push_back(value);
    }
  }
  void add(const RollupRow& r) {
    open(r.ts, r.knots.count, r.sum, r.knots.at.front(), r.knots.at.back(), r.last);
    if (m_q > 0) {
      m_parts.push_back(r.knots);
    }
  }

  std::vector<Point> finish() {
    flush();
    return std::move(m_points);
  }

private:
  void open(std::int64_t ts, std::int64_t count, double sum, double min, double max, double last) {
    const std::int64_t bucket = floor_to(ts, m_step);
    if (m_count > 0 && bucket != m_bucket) {
      flush();
    }
    if (m_count == 0) {
      m_bucket = bucket;
      m_min = min;
      m_max = max;
    }
    m_count += count;
    m_sum += sum;
    m_min = std::min(m_min, min);
    m_max = std::max(m_max, max);
    m_last = last;
  }

  double percentile() {
    if (m_parts.empty()) {
      std::sort(m_values.begin(), m_values.end());
      return quantile_sorted(m_values, m_q);
    }
    // Raw samples beside rollups (the bucket at the watermark): each a point mass.
    for (double v : m_values) {
      Knots point;
      point.count = 1;
      point.at.fill(v);
      m_parts.push_back(point);
    }
    return mixture_quantile(m_parts, m_q);
  }

  void flush() {
    if (m_count == 0) {
      return;
    }
    double v = 0;
    switch (m_agg) {
    case Agg::avg: v = m_sum / static_cast<double>(m_count); break;
    case Agg::min: v = m_min; break;
    case Agg::max: v = m_max; break;
    case Agg::sum: v = m_sum; break;
    case Agg::count: v = static_cast<double>(m_count); break;
    case Agg::last: v = m_last; break;
    default: v = percentile(); break;
    }
    m_points.push_back({to_seconds(m_bucket), v});
    m_count = 0;
    m_sum = 0;
    m_values.clear();
    m_parts.clear();
  }

  Agg m_agg;
  double m_q;
  std::int64_t m_step;
  std::int64_t m_bucket = 0;
  std::int64_t m_count = 0;
  double m_sum = 0, m_min = 0, m_max = 0, m_last = 0;
  std::vector<double> m_values; ///< raw samples, for a percentile
  std::vector<Knots> m_parts;   ///< rollup rows, for a percentile
  std::vector<Point> m_points;
};

/// A round step giving about 300 points over `range_ms`.
std::int64_t auto_step_ms(std::int64_t range_ms) {
  constexpr std::array<std::int64_t, 18> k_nice_s = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                                     600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
  const std::int64_t want = (range_ms + 299) / 300;
  for (std::int64_t s : k_nice_s) {
    if (s * 1000 >= want) {
      return s * 1000;
    }
  }
  constexpr std::int64_t k_day = 86'400'000;
  return (want + k_day - 1) / k_day * k_day;
}

constexpr std::int64_t resolution_ms(Tier t) {
  return t == Tier::raw ? 1 : t == Tier::minute ? k_minute_ms : k_hour_ms;
}

const TierState& state_of(const TierStates& st, Tier t) {
  return t == Tier::raw ? st.raw : t == Tier::minute ? st.minute : st.hour;
}

bool covers(const TierStates& st, Tier t, std::int64_t since_ms) {
  const TierState& s = state_of(st, t);
  return !s.kept_from || since_ms >= *s.kept_from;
}

Tier choose_tier(const Query& q, const TierStates& st, std::int64_t since_ms, std::int64_t step_ms) {
  if (q.tier) {
    return *q.tier;
  }
  Tier tier = covers(st, Tier::raw, since_ms)      ? Tier::raw
              : covers(st, Tier::minute, since_ms) ? Tier::minute
                                                   : Tier::hour;
  if (tier == Tier::raw && step_ms % k_minute_ms == 0 && covers(st, Tier::minute, since_ms)) {
    tier = Tier::minute;
  }
  if (tier != Tier::hour && step_ms % k_hour_ms == 0) {
    tier = Tier::hour;
  }
  return tier;
}

Expected<void> read_raw(Store::State& s, std::int64_t id, std::int64_t from, std::int64_t to, Buckets& out) {
  auto use = s.raw_range.use();
  s.raw_range.bind(1, id);
  s.raw_range.bind(2, from);
  s.raw_range.bind(3, to);
  if (auto ok = s.raw_range.each([&] { out.add(s.raw_range.int64(0), s.raw_range.real(1)); }); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return {};
}

/// Rows of a rollup table; the percentile columns only when `percentiles`.
Expected<void> read_rollup(RollupStatements& table, bool percentiles, std::int64_t id, std::int64_t from,
                           std::int64_t to, Buckets& out) {
  sqlite::Stmt& stmt = percentiles ? table.range : table.totals;
  RollupRow r;
  auto use = stmt.use();
  stmt.bind(1, id);
  stmt.bind(2, from);
  stmt.bind(3, to);
  if (auto ok = stmt.each([&] {
        // Columns: ts, count, sum, min, max, last, p50, p90, p95, p99.
        r.ts = stmt.int64(0);
        r.knots.count = stmt.int64(1);
        r.sum = stmt.real(2);
        r.last = stmt.real(5);
        r.knots.at.front() = stmt.real(3);
        r.knots.at.back() = stmt.real(4);
        if (percentiles) {
          r.knots.at = {r.knots.at.front(), stmt.real(6), stmt.real(7),
                        stmt.real(8),       stmt.real(9), r.knots.at.back()};
        }
        out.add(r);
      });
      !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return {};
}

struct SeriesRef {
  std::int64_t id;
  std::string labels;
};

Expected<std::vector<SeriesRef>> find_series(Store::State& s, const Query& q) {
  std::optional<std::string> labels;
  if (q.labels) {
    auto canonical = canonical_labels(*q.labels);
    if (!canonical) {
      return fail(Errc::invalid, fmt::format("metric {}: {}", q.metric, canonical.error().message), "labels");
    }
    labels = std::move(*canonical);
  }
  sqlite::Stmt& stmt = labels ? s.one_series : s.series_of_metric;
  std::vector<SeriesRef> out;
  auto use = stmt.use();
  stmt.bind(1, std::string_view(q.metric));
  if (labels) {
    stmt.bind(2, std::string_view(*labels));
  }
  while (true) {
    auto row = stmt.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      break;
    }
    out.push_back({stmt.int64(0), std::string(stmt.text(1))});
  }
  if (out.empty()) {
    return fail(Errc::not_found,
                labels ? fmt::format("no series {}{{{}}} in {}", q.metric, *labels, s.path)
                       : fmt::format("no metric {} in {}", q.metric, s.path),
                "metric");
  }
  return out;
}

Expected<void> check_query(const Query& q) {
  if (q.metric.empty()) {
    return fail(Errc::invalid, "query: empty metric name", "metric");
  }
  if (!std::isfinite(q.since) || !std::isfinite(q.until) || std::abs(q.since) > 1e12 ||
      std::abs(q.until) > 1e12) {
    return fail(Errc::invalid, fmt::format("query {}: since and until must be Unix times", q.metric),
                "since");
  }
  if (q.since > q.until) {
    return fail(Errc::invalid,
                fmt::format("query {}: since {} is after until {}", q.metric, q.since, q.until), "since");
  }
  if (!std::isfinite(q.step) || q.step < 0) {
    return fail(Errc::invalid, fmt::format("query {}: step {} is negative", q.metric, q.step), "step");
  }
  return {};
}

} // namespace

std::optional<Agg> parse_agg(std::string_view name) {
  for (const auto& [agg, n] : k_aggs) {
    if (name == n) {
      return agg;
    }
  }
  return std::nullopt;
}

const char* agg_name(Agg agg) noexcept {
  for (const auto& [a, n] : k_aggs) {
    if (a == agg) {
      return n;
    }
  }
  return "avg";
}

std::optional<Tier> parse_tier(std::string_view name) {
  for (const auto& [tier, n] : k_tiers) {
    if (name == n) {
      return tier;
    }
  }
  return std::nullopt;
}

const char* tier_name(Tier tier) noexcept {
  for (const auto& [t, n] : k_tiers) {
    if (t == tier) {
      return n;
    }
  }
  return "raw";
}

Expected<std::string> canonical_labels(std::string_view labels) {
  std::vector<std::pair<std::string_view, std::string_view>> items;
  while (!labels.empty()) {
    const std::size_t comma = labels.find(',');
    const std::string_view item = labels.substr(0, comma);
    labels = comma == std::string_view::npos ? std::string_view{} : labels.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
      return fail(Errc::invalid, fmt::format("label '{}' is not key=value", item), "labels");
    }
    items.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0 && items[i].first == items[i - 1].first) {
      return fail(Errc::invalid, fmt::format("label {} is given twice", items[i].first), "labels");
    }
    out += i > 0 ? "," : "";
    out += items[i].first;
    out += '=';
    out += items[i].second;
  }
  return out;
}

Expected<std::vector<SeriesResult>> Store::query(const Query& q) const {
  State& s = *m_state;
  if (auto ok = check_query(q); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  // One read transaction, so the watermarks and the rows are from the same snapshot
  // even while another connection runs maintain().
  auto tx = sqlite::Transaction::begin(s.db.get(), false);
  if (!tx) {
    return std::unexpected(std::move(tx.error()));
  }
  auto series = find_series(s, q);
  if (!series) {
    return std::unexpected(std::move(series.error()));
  }
  auto st = s.load_tiers();
  if (!st) {
    return std::unexpected(std::move(st.error()));
  }
  const std::int64_t since = to_ms(q.since), until = to_ms(q.until);
  std::int64_t step = q.step > 0 ? std::max<std::int64_t>(1, to_ms(q.step)) : auto_step_ms(until - since);
  const Tier tier = choose_tier(q, *st, since, step);
  const std::int64_t res = resolution_ms(tier);
  step = (step + res - 1) / res * res;
  const std::optional<std::int64_t>& watermark = state_of(*st, tier).rolled_until;
  const bool rollups = tier != Tier::raw && watermark.has_value();
  const std::int64_t rolled = rollups ? *watermark : 0;

  std::vector<SeriesResult> out;
  for (const SeriesRef& ref : *series) {
    Buckets buckets(q.agg, step);
    std::int64_t raw_from = since;
    if (rollups) {
      // A rollup row overlapping `since` counts whole; rows from the watermark on do not
      // exist yet, and raw samples stand in for them.
      RollupStatements& table = s.rollup[tier == Tier::minute ? 0 : 1];
      if (auto ok = read_rollup(table, quantile_of(q.agg) > 0, ref.id, floor_to(since, res),
                                std::min(until + 1, rolled), buckets);
          !ok) {
        return std::unexpected(std::move(ok.error()));
      }
      raw_from = std::max(since, rolled);
    }
    if (raw_from <= until) {
      if (auto ok = read_raw(s, ref.id, raw_from, until + 1, buckets); !ok) {
        return std::unexpected(std::move(ok.error()));
      }
    }
    out.push_back({q.metric, ref.labels, tier_name(tier), to_seconds(step), buckets.finish()});
  }
  if (auto ok = tx->commit(); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

Expected<std::vector<std::string>> Store::metrics() const {
  sqlite::Stmt& stmt = m_state->metric_names;
  std::vector<std::string> out;
  auto use = stmt.use();
  if (auto ok = stmt.each([&] { out.emplace_back(stmt.text(0)); }); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

Expected<std::vector<std::string>> Store::labels(std::string_view metric) const {
  sqlite::Stmt& stmt = m_state->series_of_metric;
  std::vector<std::string> out;
  auto use = stmt.use();
  stmt.bind(1, metric);
  if (auto ok = stmt.each([&] { out.emplace_back(stmt.text(1)); }); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

} // namespace mp::monitor
