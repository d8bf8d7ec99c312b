// The store's schema, writes, maintenance (rollups and retention) and alert records.
// Queries are in store_query.cpp; the design is at the top of store.hpp.
//
// Write path cost: one IMMEDIATE transaction per batch, one reused INSERT per sample and
// a hash lookup for its series id (bench/monitor_store.sh measures it against a naive
// autocommit INSERT per sample).

#include "monitor/quantile.hpp"
#include "monitor/store_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace mp::monitor {

namespace {

struct Migration {
  int version;
  const char* sql;
};

// Appended to, never edited: a file at version N runs the migrations after N, in order,
// in one transaction. Times are Unix milliseconds (INTEGER: 6 bytes, not a REAL's 8).
constexpr std::array k_migrations = {
    Migration{1, R"sql(
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  metric TEXT NOT NULL,
  labels TEXT NOT NULL,
  UNIQUE (metric, labels));
CREATE TABLE samples (
  series_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
CREATE TABLE rollup_minute (
  series_id INTEGER NOT NULL, ts INTEGER NOT NULL, count INTEGER NOT NULL,
  sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
  p50 REAL NOT NULL, p90 REAL NOT NULL, p95 REAL NOT NULL, p99 REAL NOT NULL,
  PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
CREATE TABLE rollup_hour (
  series_id INTEGER NOT NULL, ts INTEGER NOT NULL, count INTEGER NOT NULL,
  sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
  p50 REAL NOT NULL, p90 REAL NOT NULL, p95 REAL NOT NULL, p99 REAL NOT NULL,
  PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
CREATE TABLE tiers (
  name TEXT PRIMARY KEY,
  rolled_until INTEGER,
  dirty_from INTEGER,
  kept_from INTEGER) WITHOUT ROWID;
INSERT INTO tiers (name) VALUES ('raw'), ('minute'), ('hour');
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  severity TEXT NOT NULL,
  value REAL NOT NULL,
  ts REAL NOT NULL,
  description TEXT NOT NULL);
CREATE INDEX alerts_by_rule ON alerts (rule, ts);
CREATE INDEX alerts_by_ts ON alerts (ts);
)sql"},
};
static_assert(k_migrations.back().version == Store::k_schema_version);

constexpr std::array<const char*, 2> k_rollup_tables = {"rollup_minute", "rollup_hour"};
constexpr std::array<std::int64_t, 2> k_rollup_ms = {k_minute_ms, k_hour_ms};

Expected<int> user_version(sqlite3* db) {
  auto s = sqlite::Stmt::prepare(db, "PRAGMA user_version");
  if (!s) {
    return std::unexpected(std::move(s.error()));
  }
  auto row = s->step();
  if (!row) {
    return std::unexpected(std::move(row.error()));
  }
  return *row ? static_cast<int>(s->int64(0)) : 0;
}

Error newer_schema(const std::string& path, int version) {
  return Error{Errc::invalid,
               fmt::format("{} has schema version {}, newer than this build's {}: use a newer mp", path,
                           version, Store::k_schema_version),
               {}};
}

Expected<void> migrate(sqlite3* db, const std::string& path) {
  // Inside the write lock, so two processes creating one file cannot both migrate it.
  auto tx = sqlite::Transaction::begin(db, true);
  if (!tx) {
    return std::unexpected(std::move(tx.error()));
  }
  auto version = user_version(db);
  if (!version) {
    return std::unexpected(std::move(version.error()));
  }
  if (*version > Store::k_schema_version) {
    return std::unexpected(newer_schema(path, *version));
  }
  if (*version == Store::k_schema_version) {
    return tx->commit();
  }
  for (const Migration& m : k_migrations) {
    if (m.version > *version) {
      if (auto ok = sqlite::exec(db, m.sql); !ok) {
        return std::unexpected(Error{Errc::io, fmt::format("{}: migration to schema version {}: {}", path,
                                                           m.version, ok.error().message)});
      }
    }
  }
  if (auto ok = sqlite::exec(db, fmt::format("PRAGMA user_version = {}", Store::k_schema_version).c_str());
      !ok) {
    return ok;
  }
  return tx->commit();
}

Expected<void> check_read_only_schema(sqlite3* db, const std::string& path) {
  auto version = user_version(db);
  if (!version) {
    return std::unexpected(std::move(version.error()));
  }
  if (*version > Store::k_schema_version) {
    return std::unexpected(newer_schema(path, *version));
  }
  if (*version < Store::k_schema_version) {
    return fail(
        Errc::invalid,
        fmt::format("{} has schema version {}, not {}: {}", path, *version, Store::k_schema_version,
                    *version == 0 ? "not an mp metrics database" : "open it read-write once to migrate it"));
  }
  return {};
}

/// Prepares every statement the store reuses.
Expected<void> prepare_all(Store::State& s) {
  sqlite3* db = s.db.get();
  std::vector<std::pair<sqlite::Stmt*, std::string>> all = {
      {&s.find_series, "SELECT id FROM series WHERE metric = ?1 AND labels = ?2"},
      {&s.insert_series, "INSERT INTO series (metric, labels) VALUES (?1, ?2)"},
      {&s.insert_sample, "INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)"},
      {&s.mark_dirty, "UPDATE tiers SET dirty_from = ?1 WHERE name = ?2 AND (rolled_until IS NULL OR ?1 < "
                      "rolled_until) AND (dirty_from IS NULL OR ?1 < dirty_from)"},
      {&s.all_series, "SELECT id FROM series ORDER BY id"},
      {&s.tiers, "SELECT name, rolled_until, dirty_from, kept_from FROM tiers"},
      {&s.set_tier, "UPDATE tiers SET rolled_until = ?2, dirty_from = ?3, kept_from = ?4 WHERE name = ?1"},
      {&s.raw_range,
       "SELECT ts, value FROM samples WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"},
      // IN on the key's first column: one index seek per series, not a scan of the table.
      {&s.delete_raw, "DELETE FROM samples WHERE series_id IN (SELECT id FROM series) AND ts < ?1"},
      {&s.delete_alerts, "DELETE FROM alerts WHERE ts < ?1 AND id <> (SELECT b.id FROM alerts b WHERE "
                         "b.rule = alerts.rule ORDER BY b.ts DESC, b.id DESC LIMIT 1)"},
      {&s.series_of_metric, "SELECT id, labels FROM series WHERE metric = ?1 ORDER BY labels"},
      {&s.one_series, "SELECT id, labels FROM series WHERE metric = ?1 AND labels = ?2"},
      {&s.metric_names, "SELECT DISTINCT metric FROM series ORDER BY metric"},
      {&s.insert_alert, "INSERT INTO alerts (rule, state, severity, value, ts, description) VALUES (?1, ?2, "
                        "?3, ?4, ?5, ?6)"},
      {&s.alerts_since, "SELECT rule, state, severity, value, ts, description FROM alerts WHERE ts >= ?1 "
                        "ORDER BY ts, id"},
      {&s.alerts_active,
       "SELECT rule, state, severity, value, ts, description FROM alerts a WHERE a.ts >= ?1 "
       "AND a.state IN ('pending', 'firing') AND a.id = (SELECT b.id FROM alerts b WHERE "
       "b.rule = a.rule ORDER BY b.ts DESC, b.id DESC LIMIT 1) ORDER BY a.ts, a.id"},
      // CROSS JOIN fixes the loop order: a range seek into each series rather than a scan
      // of every sample.
      {&s.export_range,
       "SELECT s.metric, s.labels, x.ts, x.value FROM series s CROSS JOIN samples x ON "
       "x.series_id = s.id WHERE x.ts >= ?1 AND x.ts <= ?2 ORDER BY x.ts, s.metric, s.labels"},
  };
  for (std::size_t i = 0; i < k_rollup_tables.size(); ++i) {
    const char* t = k_rollup_tables[i];
    RollupStatements& r = s.rollup[i];
    const std::string values = "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    all.emplace_back(&r.range,
                     fmt::format("SELECT ts, count, sum, min, max, last, p50, p90, p95, p99 FROM {} "
                                 "WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                                 t));
    all.emplace_back(&r.replace, fmt::format("INSERT OR REPLACE INTO {} VALUES {}", t, values));
    all.emplace_back(&r.ignore, fmt::format("INSERT OR IGNORE INTO {} VALUES {}", t, values));
    all.emplace_back(&r.expire,
                     fmt::format("DELETE FROM {} WHERE series_id IN (SELECT id FROM series) AND ts < ?1", t));
  }
  for (auto& [stmt, sql] : all) {
    auto p = sqlite::Stmt::prepare(db, sql);
    if (!p) {
      return std::unexpected(std::move(p.error()));
    }
    *stmt = std::move(*p);
  }
  return {};
}

Error in_path(const std::string& path, Error e) {
  e.message = fmt::format("{}: {}", path, e.message);
  return e;
}

} // namespace

Expected<TierStates> Store::State::load_tiers() {
  TierStates out;
  auto use = tiers.use();
  while (true) {
    auto row = tiers.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return out;
    }
    const std::string_view name = tiers.text(0);
    TierState& t = name == "raw" ? out.raw : name == "minute" ? out.minute : out.hour;
    auto column = [&](int i) -> std::optional<std::int64_t> {
      return tiers.is_null(i) ? std::nullopt : std::optional(tiers.int64(i));
    };
    t = {column(1), column(2), column(3)};
  }
}

Store::Store(std::unique_ptr<State> state) : m_state(std::move(state)) {
}

Store::~Store() {
  if (m_state && m_state->db && !m_state->read_only) {
    // Lets SQLite refresh the planner's statistics when they are stale; cheap otherwise.
    sqlite3_exec(m_state->db.get(), "PRAGMA optimize", nullptr, nullptr, nullptr);
  }
}

Expected<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options, bool read_only) {
  auto state = std::make_unique<State>();
  state->path = path;
  state->options = options;
  state->read_only = read_only;
  // NOMUTEX: a Store is used from one thread at a time, so SQLite's own locks are waste.
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  state->db.reset(raw);
  if (rc != SQLITE_OK) {
    return fail(Errc::io, fmt::format("cannot open metrics database {}: {}", path,
                                      raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3* db = raw;
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  if (!read_only) {
    // WAL: readers never block the writer or each other. NORMAL: WAL stays consistent
    // through a crash and only fsyncs at checkpoints. A tick of N series dirties N pages
    // (each series' last one), so the default checkpoint every 1,000 pages would copy
    // and fsync after nearly every tick: at 8,192 pages (32 MB) a tick of 1,000 series
    // writes 1.8x faster (bench/monitor_store.sh). A 16 MB page cache keeps those pages
    // hot between ticks.
    if (auto ok = sqlite::exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                   "PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864; "
                                   "PRAGMA cache_size = -16384");
        !ok) {
      return std::unexpected(in_path(path, std::move(ok.error())));
    }
    if (auto ok = migrate(db, path); !ok) {
      return std::unexpected(ok.error().message.starts_with(path) ? std::move(ok.error())
                                                                  : in_path(path, std::move(ok.error())));
    }
  } else if (auto ok = check_read_only_schema(db, path); !ok) {
    return std::unexpected(ok.error().message.starts_with(path) ? std::move(ok.error())
                                                                : in_path(path, std::move(ok.error())));
  }
  if (auto ok = prepare_all(*state); !ok) {
    return std::unexpected(in_path(path, std::move(ok.error())));
  }
  return std::unique_ptr<Store>(new Store(std::move(state)));
}

namespace {

Expected<std::int64_t> series_id(Store::State& s, const Sample& sample, std::vector<std::string>& created) {
  s.key_buffer.assign(sample.metric);
  s.key_buffer += '\x1f';
  s.key_buffer += sample.labels;
  if (auto it = s.series_ids.find(s.key_buffer); it != s.series_ids.end()) {
    return it->second;
  }
  auto labels = canonical_labels(sample.labels);
  if (!labels) {
    return fail(Errc::invalid, fmt::format("metric {}: {}", sample.metric, labels.error().message), "labels");
  }
  std::int64_t id = 0;
  {
    auto use = s.find_series.use();
    s.find_series.bind(1, std::string_view(sample.metric));
    s.find_series.bind(2, std::string_view(*labels));
    auto row = s.find_series.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    id = *row ? s.find_series.int64(0) : 0;
  }
  if (id == 0) {
    auto use = s.insert_series.use();
    s.insert_series.bind(1, std::string_view(sample.metric));
    s.insert_series.bind(2, std::string_view(*labels));
    if (auto ok = s.insert_series.run(); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
    id = sqlite3_last_insert_rowid(s.db.get());
  }
  created.push_back(s.key_buffer);
  s.series_ids.emplace(s.key_buffer, id);
  return id;
}

Expected<void> check_sample(const Sample& sample) {
  if (sample.metric.empty()) {
    return fail(Errc::invalid, "a sample has an empty metric name", "metric");
  }
  // 1e12 s (year 33658) keeps every millisecond time far inside int64.
  if (!std::isfinite(sample.ts) || std::abs(sample.ts) > 1e12) {
    return fail(Errc::invalid,
                fmt::format("metric {}: timestamp {} is not a Unix time", sample.metric, sample.ts), "ts");
  }
  if (!std::isfinite(sample.value)) {
    return fail(
        Errc::invalid,
        fmt::format("metric {}: value {} at {} is not finite", sample.metric, sample.value, sample.ts),
        "value");
  }
  return {};
}

Expected<void> mark_dirty(Store::State& s, std::int64_t min_ms) {
  constexpr std::array<std::string_view, 2> k_names = {"minute", "hour"};
  for (std::size_t i = 0; i < k_names.size(); ++i) {
    auto use = s.mark_dirty.use();
    s.mark_dirty.bind(1, floor_to(min_ms, k_rollup_ms[i]));
    s.mark_dirty.bind(2, k_names[i]);
    if (auto ok = s.mark_dirty.run(); !ok) {
      return ok;
    }
  }
  return {};
}

Expected<void> write_in(Store::State& s, sqlite::Transaction& tx, const std::vector<Sample>& batch,
                        std::vector<std::string>& created) {
  std::vector<PendingRow>& rows = s.rows_buffer;
  rows.clear();
  std::int64_t min_ms = INT64_MAX;
  for (const Sample& sample : batch) {
    auto id = series_id(s, sample, created);
    if (!id) {
      return std::unexpected(std::move(id.error()));
    }
    rows.push_back({*id, to_ms(sample.ts), sample.value});
    min_ms = std::min(min_ms, rows.back().ts);
  }
  // In key order, consecutive inserts land on the same page and the b-tree cursor only
  // moves forward. Stable, so of two samples for one (series, ts) the later one wins.
  std::stable_sort(rows.begin(), rows.end(), [](const PendingRow& a, const PendingRow& b) {
    return a.series_id != b.series_id ? a.series_id < b.series_id : a.ts < b.ts;
  });
  for (const PendingRow& row : rows) {
    auto use = s.insert_sample.use();
    s.insert_sample.bind(1, row.series_id);
    s.insert_sample.bind(2, row.ts);
    s.insert_sample.bind(3, row.value);
    if (auto ok = s.insert_sample.run(); !ok) {
      return ok;
    }
  }
  if (auto ok = mark_dirty(s, min_ms); !ok) {
    return ok;
  }
  return tx.commit();
}

} // namespace

Expected<void> Store::write(const std::vector<Sample>& batch) {
  State& s = *m_state;
  if (s.read_only) {
    return fail(Errc::usage, fmt::format("{} is open read-only", s.path));
  }
  for (const Sample& sample : batch) {
    if (auto ok = check_sample(sample); !ok) {
      return ok;
    }
  }
  if (batch.empty()) {
    return {};
  }
  auto tx = sqlite::Transaction::begin(s.db.get(), true);
  if (!tx) {
    return std::unexpected(in_path(s.path, std::move(tx.error())));
  }
  std::vector<std::string> created;
  auto ok = write_in(s, *tx, batch, created);
  if (!ok) {
    // The transaction rolls back, and with it the series rows those ids name.
    for (const std::string& key : created) {
      s.series_ids.erase(key);
    }
  }
  return ok;
}

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
  while (true) {
    auto row = s.all_series.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return out;
    }
    out.push_back(s.all_series.int64(0));
  }
}

Expected<void> maintain_in(Store::State& s, std::int64_t now_ms) {
  auto st = s.load_tiers();
  if (!st) {
    return std::unexpected(std::move(st.error()));
  }
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
  return save_tiers(s, *st);
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

Expected<void> Store::record_alert(const AlertRecord& a) {
  State& s = *m_state;
  if (s.read_only) {
    return fail(Errc::usage, fmt::format("{} is open read-only", s.path));
  }
  if (a.rule.empty()) {
    return fail(Errc::invalid, "an alert record has an empty rule name", "rule");
  }
  if (a.state != "pending" && a.state != "firing" && a.state != "resolved") {
    return fail(Errc::invalid,
                fmt::format("alert {}: state '{}' is not pending, firing or resolved", a.rule, a.state),
                "state");
  }
  if (!std::isfinite(a.ts)) {
    return fail(Errc::invalid, fmt::format("alert {}: timestamp is not finite", a.rule), "ts");
  }
  auto use = s.insert_alert.use();
  s.insert_alert.bind(1, std::string_view(a.rule));
  s.insert_alert.bind(2, std::string_view(a.state));
  s.insert_alert.bind(3, std::string_view(a.severity));
  s.insert_alert.bind(4, a.value);
  s.insert_alert.bind(5, a.ts);
  s.insert_alert.bind(6, std::string_view(a.description));
  return s.insert_alert.run();
}

Expected<std::vector<AlertRecord>> Store::alerts(double since, bool active_only) const {
  sqlite::Stmt& stmt = active_only ? m_state->alerts_active : m_state->alerts_since;
  std::vector<AlertRecord> out;
  auto use = stmt.use();
  stmt.bind(1, since);
  while (true) {
    auto row = stmt.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return out;
    }
    out.push_back({std::string(stmt.text(0)), std::string(stmt.text(1)), std::string(stmt.text(2)),
                   stmt.real(3), stmt.real(4), std::string(stmt.text(5))});
  }
}

Expected<void> Store::export_samples(double since, double until,
                                     const std::function<bool(const Sample&)>& sink) const {
  sqlite::Stmt& stmt = m_state->export_range;
  auto use = stmt.use();
  stmt.bind(1, to_ms(since));
  stmt.bind(2, to_ms(until));
  Sample sample;
  while (true) {
    auto row = stmt.step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return {};
    }
    sample.metric.assign(stmt.text(0));
    sample.labels.assign(stmt.text(1));
    sample.ts = to_seconds(stmt.int64(2));
    sample.value = stmt.real(3);
    if (!sink(sample)) {
      return {};
    }
  }
}

Expected<std::vector<Sample>> Store::export_samples(double since, double until) const {
  std::vector<Sample> out;
  auto ok = export_samples(since, until, [&](const Sample& s) {
    out.push_back(s);
    return true;
  });
  if (!ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

Expected<std::string> Store::integrity_check() const {
  auto stmt = sqlite::Stmt::prepare(m_state->db.get(), "PRAGMA integrity_check");
  if (!stmt) {
    return std::unexpected(std::move(stmt.error()));
  }
  std::string out;
  while (true) {
    auto row = stmt->step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return out;
    }
    out += out.empty() ? "" : "\n";
    out += stmt->text(0);
  }
}

} // namespace mp::monitor
