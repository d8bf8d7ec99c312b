// maintain(): rollups of complete minutes and hours, then retention, in one transaction.
//
// Each tier keeps a watermark (`tiers.rolled_until`): every bucket before it is rolled
// up. A write behind it lowers `tiers.dirty_from`, and the next call redoes the buckets
// from there. Rollups are computed from the raw samples, hour rollups too (so their
// percentiles are exact), series by series with an index range each. Raw samples are
// deleted at hour boundaries and only below both watermarks, so every bucket from
// `tiers.kept_from` on still has all its samples; a bucket before it keeps the rollup it
// has (INSERT OR IGNORE) rather than being replaced by one of a few late samples.

#include "monitor/quantile.hpp"
#include "monitor/store_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace mp::monitor {

namespace {

/// count, sum, min, max, last and percentiles of one bucket's samples (given in time
/// order; sorted here).
struct Summary {
  std::int64_t count = 0;
  double sum = 0, last = 0;
  Knots knots; ///< min, p50, p90, p95, p99, max
};

Summary summarise(std::vector<double>& values) {
  Summary out;
  out.last = values.back();
  std::sort(values.begin(), values.end());
  out.count = static_cast<std::int64_t>(values.size());
  for (double v : values) {
    out.sum += v;
  }
  out.knots = knots_of(values);
  return out;
}

Expected<void> store_rollup(sqlite::Stmt& stmt, std::int64_t series, std::int64_t bucket,
                            std::vector<double>& values) {
  const Summary sum = summarise(values);
  values.clear();
  auto use = stmt.use();
  stmt.bind(1, series);
  stmt.bind(2, bucket);
  stmt.bind(3, sum.count);
  const auto& k = sum.knots.at;
  const std::array<double, 8> reals = {sum.sum, k[0], k[5], sum.last, k[1], k[2], k[3], k[4]};
  for (std::size_t i = 0; i < reals.size(); ++i) {
    stmt.bind(static_cast<int>(i) + 4, reals[i]);
  }
  return stmt.run();
}

/// Rolls up [from, to) of every series into tier `t`. Buckets before `final_before` have
/// lost raw samples to retention, so an existing rollup there is kept, not replaced.
Expected<void> roll_up(Store::State& s, std::size_t t, const std::vector<std::int64_t>& series,
                       std::int64_t from, std::int64_t to, std::optional<std::int64_t> final_before) {
  std::vector<double> values;
  for (std::int64_t id : series) {
    auto use = s.raw_range.use();
    s.raw_range.bind(1, id);
    s.raw_range.bind(2, from);
    s.raw_range.bind(3, to);
    std::int64_t bucket = 0;
    auto flush = [&]() -> Expected<void> {
      if (values.empty()) {
        return {};
      }
      const bool is_final = final_before && bucket < *final_before;
      return store_rollup(is_final ? s.rollup[t].ignore : s.rollup[t].replace, id, bucket, values);
    };
    while (true) {
      auto row = s.raw_range.step();
      if (!row) {
        return std::unexpected(std::move(row.error()));
      }
      if (!*row) {
        break;
      }
      const std::int64_t b = floor_to(s.raw_range.int64(0), k_rollup_ms[t]);
      if (b != bucket) {
        if (auto ok = flush(); !ok) {
          return ok;
        }
        bucket = b;
      }
      values.push_back(s.raw_range.real(1));
    }
    if (auto ok = flush(); !ok) {
      return ok;
    }
  }
  return {};
}

/// Rolls tier `t` up to the last complete bucket before `now_ms`, and advances its state.
Expected<void> roll_tier(Store::State& s, std::size_t t, TierState& state,
                         const std::vector<std::int64_t>& series, std::int64_t now_ms,
                         std::optional<std::int64_t> final_before) {
  const std::int64_t end = floor_to(now_ms, k_rollup_ms[t]);
  std::optional<std::int64_t> start = state.rolled_until;
  if (state.dirty_from && (!start || *state.dirty_from < *start)) {
    start = state.dirty_from;
  }
  if (!start || *start >= end) {
    return {};
  }
  if (auto ok = roll_up(s, t, series, *start, end, final_before); !ok) {
    return ok;
  }
  // Normally the dirty range ends with what was just done; if `now` went backwards it
  // may reach past `end`, and the rest waits for a later call.
  const std::optional<std::int64_t> old_until = state.rolled_until;
  state.rolled_until = std::max(old_until.value_or(end), end);
  if (state.dirty_from && *state.dirty_from < end) {
    state.dirty_from = old_until && end < *old_until ? std::optional(end) : std::nullopt;
  }
  return {};
}

Expected<void> expire(sqlite::Stmt& stmt, TierState& state, std::int64_t cut) {
  if (state.kept_from && cut <= *state.kept_from) {
    return {};
  }
  auto use = stmt.use();
  stmt.bind(1, cut);
  if (auto ok = stmt.run(); !ok) {
    return ok;
  }
  state.kept_from = cut;
  return {};
}

Expected<void> retain(Store::State& s, TierStates& st, std::int64_t now_ms) {
  const StoreOptions& o = s.options;
  auto cut = [&](std::chrono::seconds keep) {
    return floor_to(now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(keep).count(), k_hour_ms);
  };
  // Raw samples go only once both rollups cover them; cut at an hour so every bucket
  // from kept_from on still has all its raw samples.
  if (st.minute.rolled_until && st.hour.rolled_until) {
    const std::int64_t raw_cut =
        std::min({cut(o.raw_retention), *st.minute.rolled_until, *st.hour.rolled_until});
    if (auto ok = expire(s.delete_raw, st.raw, raw_cut); !ok) {
      return ok;
    }
  }
  if (auto ok = expire(s.rollup[0].expire, st.minute, cut(o.minute_retention)); !ok) {
    return ok;
  }
  if (auto ok = expire(s.rollup[1].expire, st.hour, cut(o.hour_retention)); !ok) {
    return ok;
  }
  auto use = s.delete_alerts.use();
  s.delete_alerts.bind(1, to_seconds(now_ms) - static_cast<double>(o.hour_retention.count()));
  return s.delete_alerts.run();
}

Expected<void> save_tiers(Store::State& s, const TierStates& st) {
  const std::array<std::pair<std::string_view, const TierState*>, 3> rows = {
      {{"raw", &st.raw}, {"minute", &st.minute}, {"hour", &st.hour}}};
  for (const auto& [name, t] : rows) {
    auto use = s.set_tier.use();
    s.set_tier.bind(1, name);
    const std::array<std::optional<std::int64_t>, 3> cols = {t->rolled_until, t->dirty_from, t->kept_from};
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (cols[i]) {
        s.set_tier.bind(static_cast<int>(i) + 2, *cols[i]);
      }
    }
    if (auto ok = s.set_tier.run(); !ok) {
      return ok;
    }
  }
  return {};
}

Expected<std::vector<std::int64_t>> all_series(Store::State& s) {
  std::vector<std::int64_t> out;
  auto use = s.all_series.use();
  if (auto ok = s.all_series.each([&] { out.push_back(s.all_series.int64(0)); }); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

Expected<void> maintain_in(Store::State& s, std::int64_t now_ms) {
  auto st = s.load_tiers();
  if (!st) {
    return std::unexpected(std::move(st.error()));
  }
  const TierStates before = *st;
  auto series = all_series(s);
  if (!series) {
    return std::unexpected(std::move(series.error()));
  }
  for (std::size_t t = 0; t < 2; ++t) {
    if (auto ok = roll_tier(s, t, t == 0 ? st->minute : st->hour, *series, now_ms, st->raw.kept_from); !ok) {
      return ok;
    }
  }
  if (auto ok = retain(s, *st, now_ms); !ok) {
    return ok;
  }
  // Called every tick, maintain() usually finds nothing to do: then it writes nothing.
  return *st == before ? Expected<void>{} : save_tiers(s, *st);
}

} // namespace

Expected<void> Store::maintain(double now) {
  State& s = *m_state;
  if (s.read_only) {
    return fail(Errc::usage, fmt::format("{} is open read-only", s.path));
  }
  if (!std::isfinite(now)) {
    return fail(Errc::invalid, "maintain: now is not finite");
  }
  auto tx = sqlite::Transaction::begin(s.db.get(), true);
  if (!tx) {
    return std::unexpected(in_path(s.path, std::move(tx.error())));
  }
  if (auto ok = maintain_in(s, to_ms(now)); !ok) {
    return std::unexpected(in_path(s.path, std::move(ok.error())));
  }
  return tx->commit();
}

} // namespace mp::monitor
