#pragma once
// What a Store holds: the connection, its prepared statements and the series-id cache.
// Shared by store.cpp (schema, writes, maintenance, alerts) and store_query.cpp.

#include "monitor/quantile.hpp"
#include "monitor/sqlite.hpp"
#include "monitor/store.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mp::monitor {

inline constexpr std::int64_t k_minute_ms = 60'000;
inline constexpr std::int64_t k_hour_ms = 3'600'000;
/// The bucket of each rollup table (index 0 minute, 1 hour).
inline constexpr std::array<std::int64_t, 2> k_rollup_ms = {k_minute_ms, k_hour_ms};

/// Unix seconds as the stored integer milliseconds.
inline std::int64_t to_ms(double seconds) {
  return std::llround(seconds * 1000.0);
}
inline double to_seconds(std::int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}
/// `ms` rounded down to a multiple of `unit` (also for negative times).
inline std::int64_t floor_to(std::int64_t ms, std::int64_t unit) {
  const std::int64_t r = ms % unit;
  return r < 0 ? ms - r - unit : ms - r;
}

/// One row of the `tiers` table: how far rollups are complete and what retention kept.
struct TierState {
  std::optional<std::int64_t> rolled_until; ///< buckets before this are rolled up
  std::optional<std::int64_t> dirty_from;   ///< a late sample wants buckets from here redone
  std::optional<std::int64_t> kept_from;    ///< retention deleted the rows before this
  bool operator==(const TierState&) const = default;
};
struct TierStates {
  TierState raw, minute, hour;
  bool operator==(const TierStates&) const = default;
};

/// One stored rollup row, as a query reads it.
struct RollupRow {
  std::int64_t ts = 0;
  double sum = 0, last = 0;
  Knots knots; ///< count, and min, p50, p90, p95, p99, max
};

/// A sample of a write() batch with its series resolved.
struct PendingRow {
  std::int64_t series_id = 0;
  std::int64_t ts = 0;
  double value = 0;
};

struct SeriesKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
};

/// The statements of one rollup table (index 0 minute, 1 hour).
struct RollupStatements {
  sqlite::Stmt range;   ///< rows of a series in [from, to), every column
  sqlite::Stmt totals;  ///< the same without the percentiles: 40% faster to read
  sqlite::Stmt replace; ///< INSERT OR REPLACE, for buckets whose raw samples are all kept
  sqlite::Stmt ignore;  ///< INSERT OR IGNORE, for buckets already final
  sqlite::Stmt expire;  ///< retention
};

struct Store::State {
  std::string path;
  StoreOptions options;
  bool read_only = false;
  sqlite::Db db;

  // write()
  sqlite::Stmt find_series, insert_series, insert_sample, mark_dirty;
  /// metric + '\x1f' + labels as written -> series id. Series rows are never deleted, so
  /// an id stays valid even while another process writes the same file.
  std::unordered_map<std::string, std::int64_t, SeriesKeyHash, std::equal_to<>> series_ids;
  std::string key_buffer;
  std::vector<PendingRow> rows_buffer;

  // maintain() and query()
  sqlite::Stmt all_series, tiers, set_tier, raw_range, delete_raw;
  RollupStatements rollup[2];
  sqlite::Stmt delete_alerts;

  // query(), metrics(), labels()
  sqlite::Stmt series_of_metric, one_series, metric_names;

  // alerts and export
  sqlite::Stmt insert_alert, alerts_since, alerts_active, export_range;

  Expected<TierStates> load_tiers();
};

/// `e` with the database's path in front of its message.
inline Error in_path(const std::string& path, Error e) {
  e.message = path + ": " + e.message;
  return e;
}

} // namespace mp::monitor
