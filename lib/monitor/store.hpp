#pragma once
// The metrics history: samples, their minute and hour rollups, and alert records, in one
// SQLite file that mp-serve writes and mp-monitor reads.
//
// Tiers. Raw samples live in `samples` (one row per series and millisecond), kept for
// `raw_retention`. `maintain()` folds every complete minute and hour into `rollup_minute`
// and `rollup_hour` (count, sum, min, max, last, p50/p90/p95/p99 from the raw samples) and
// then deletes what each tier's retention no longer keeps. A per-tier watermark
// (`tiers.rolled_until`) says how far rollups are complete; a sample written behind it
// lowers `tiers.dirty_from`, so the next maintain() rolls that bucket up again. Once a
// bucket's raw samples have expired its rollup is final: a later sample for it is stored
// raw but not merged in.
//
// Queries answer from the coarsest tier that is exact for the request: a step that is a
// multiple of a minute reads minute rollups (a 24-hour query then reads 1,440 rows per
// series instead of 86,400 samples; bench/monitor_store.sh), falling back to a coarser
// tier when `since` is older than a tier keeps. Rollups answer count/sum/min/max/avg/last
// exactly; their percentiles are approximate (see `Query::tier`). The part of the range
// not yet rolled up is read from raw samples.
//
// Durability: WAL with synchronous=NORMAL, so a crash (kill -9) loses nothing committed
// and a power cut at most the last transactions, never the file's integrity.
//
// Thread-safety: a Store is used from one thread at a time. Other processes (mp-monitor)
// open their own; WAL lets readers run while one writer writes.

#include "util/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::monitor {

/// One observation. `labels` is canonical "k=v,k2=v2", sorted by key ("" for none);
/// write() canonicalises it the first time it sees a series. `ts` is Unix seconds.
struct Sample {
  std::string metric;
  std::string labels;
  double ts = 0;
  double value = 0;
};

enum class Agg { avg, min, max, sum, count, last, p50, p90, p95, p99 };
std::optional<Agg> parse_agg(std::string_view name);
const char* agg_name(Agg agg) noexcept;

enum class Tier { raw, minute, hour };
std::optional<Tier> parse_tier(std::string_view name);
const char* tier_name(Tier tier) noexcept;

/// "b=2,a=1" as "a=1,b=2". Fails (invalid) on an item without '=' or with an empty key,
/// or a key given twice. Values must not contain ','.
Expected<std::string> canonical_labels(std::string_view labels);

/// A range query: samples with since <= ts <= until (Unix seconds), in buckets of `step`
/// seconds aligned to multiples of `step` since the epoch (so repeated queries agree).
/// A point is the bucket's start; buckets without data have no point.
struct Query {
  std::string metric;
  std::optional<std::string> labels; ///< nullopt: every series of the metric
  double since = 0;
  double until = 0;
  double step = 0; ///< 0: a round step giving about 300 points
  Agg agg = Agg::avg;
  /// nullopt: automatic (see the top of this file). Forcing Tier::raw gives exact
  /// percentiles while raw samples are kept, at the cost of reading every sample.
  std::optional<Tier> tier;
};

struct Point {
  double ts = 0;
  double value = 0;
};

struct SeriesResult {
  std::string metric;
  std::string labels;
  std::string tier; ///< raw | minute | hour
  double step = 0;  ///< the step used, in seconds (a rollup tier rounds it up)
  std::vector<Point> points;
};

struct StoreOptions {
  std::chrono::seconds raw_retention{std::chrono::hours(24)};
  std::chrono::seconds minute_retention{std::chrono::hours(24 * 7)};
  std::chrono::seconds hour_retention{std::chrono::hours(24 * 90)};
  std::chrono::milliseconds busy_timeout{5000};
};

struct AlertRecord {
  std::string rule;
  std::string state; ///< pending | firing | resolved
  std::string severity;
  double value = 0;
  double ts = 0;
  std::string description;
};

class Store {
public:
  /// The schema version this build writes; open() migrates older files up to it.
  static constexpr int k_schema_version = 1;

  /// Opens (creating it unless read_only) and migrates the database at `path`. Fails
  /// (io) when the file cannot be opened or is not SQLite, (invalid) when its schema is
  /// newer than this build's or, read-only, older or absent.
  static Expected<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options = {},
                                               bool read_only = false);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Stores a batch in one transaction; a (series, ts) already stored is replaced. Fails
  /// (invalid, naming the metric) on an empty name, bad labels or a non-finite ts or
  /// value, writing nothing; (unavailable) when another writer holds the lock past the
  /// busy timeout.
  Expected<void> write(const std::vector<Sample>& batch);

  /// Rolls up the complete minutes and hours before `now` not yet rolled up, then applies
  /// each tier's retention, in one transaction. Idempotent: calling it again with the
  /// same `now` changes nothing.
  Expected<void> maintain(double now);

  /// One result per matching series, sorted by labels. Fails (not_found) for a metric or
  /// label set never stored, (invalid) for since > until or a negative step.
  Expected<std::vector<SeriesResult>> query(const Query& q) const;

  /// Every metric name stored, sorted.
  Expected<std::vector<std::string>> metrics() const;
  /// The label sets stored for `metric`, sorted.
  Expected<std::vector<std::string>> labels(std::string_view metric) const;

  /// Appends an alert state change. Fails (invalid) on an unknown state or empty rule.
  Expected<void> record_alert(const AlertRecord& a);
  /// Records with ts >= since, oldest first. active_only: only the latest record of each
  /// rule, and only when it is pending or firing.
  Expected<std::vector<AlertRecord>> alerts(double since, bool active_only) const;

  /// Raw samples with since <= ts <= until, ordered by ts (then metric, labels).
  Expected<std::vector<Sample>> export_samples(double since, double until) const;
  /// The same, one sample at a time, without holding them all; `sink` returns false to stop.
  Expected<void> export_samples(double since, double until,
                                const std::function<bool(const Sample&)>& sink) const;

  /// "ok", or what PRAGMA integrity_check found.
  Expected<std::string> integrity_check() const;

  struct State; // the connection and its prepared statements (store_state.hpp)

private:
  explicit Store(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

} // namespace mp::monitor
