// The store's schema, writes and alert records. Rollups and retention are in
// store_maintain.cpp, queries in store_query.cpp; the design is at the top of store.hpp.
//
// Write path cost: one IMMEDIATE transaction per batch, one reused INSERT per sample and
// a hash lookup for its series id (bench/monitor_store.sh measures it against a naive
// autocommit INSERT per sample).

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
        return fail(Errc::io, fmt::format("{}: migration to schema version {}: {}", path, m.version,
                                          ok.error().message));
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
    all.emplace_back(&r.totals,
                     fmt::format("SELECT ts, count, sum, min, max, last FROM {} WHERE series_id = ?1 "
                                 "AND ts >= ?2 AND ts < ?3 ORDER BY ts",
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

Store::~Store() = default;

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
  // 16 MB of page cache (the default is 2): a writer keeps the last page of a few
  // thousand series hot between ticks, a reader a day of minute rollups.
  if (auto ok = sqlite::exec(db, "PRAGMA cache_size = -16384"); !ok) {
    return std::unexpected(in_path(path, std::move(ok.error())));
  }
  if (!read_only) {
    // WAL: readers never block the writer or each other. NORMAL: WAL stays consistent
    // through a crash and only fsyncs at checkpoints. A tick of N series dirties N pages
    // (each series' last one), so the default checkpoint every 1,000 pages would copy
    // and fsync after nearly every tick: at 8,192 pages (32 MB) a tick of 1,000 series
    // writes 1.7x faster (bench/monitor_store.sh).
    if (auto ok = sqlite::exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                   "PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864");
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
  if (auto ok = stmt.each([&] {
        out.push_back({std::string(stmt.text(0)), std::string(stmt.text(1)), std::string(stmt.text(2)),
                       stmt.real(3), stmt.real(4), std::string(stmt.text(5))});
      });
      !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
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
