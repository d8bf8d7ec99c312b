// The metrics history in SQLite (lib/monitor/store.*), against the targets:
//
// (a) Ingest: 20 metrics x N label sets (--series 1,5,50: one run each), consecutive
//     collector ticks of all series in writes of --batch samples (1,000: 50 ticks of 20
//     series, or one tick of 1,000). Prints samples/s (target >= 200,000) and bytes per
//     sample on disk (the whole file, WAL checkpointed, over the samples in it). Beside it
//     the naive peer: one INSERT per sample in autocommit mode (default rollback journal,
//     synchronous=FULL) into a rowid table holding the names, bounded by --naive samples
//     and --naive-seconds.
// (b) Report query: 24 h of 1-second samples of 20 metrics (1.728M samples, written in
//     batches of 1,000, then maintain()), then what the report does: for each metric a
//     24-hour query at step 300 s with avg and with p99. Prints ms for all 40 queries
//     (target <= 50 ms), the same forced onto raw samples, and how far the p99 from minute
//     rollups is from the exact one.
//
// Usage: mp-bench-store [--dir DIR] [--series 1,5,50] [--batch 1000] [--samples 1000000]
//        [--naive 20000] [--naive-seconds 10] [--hours 24] [--rounds 5]

#include "monitor/report.hpp"
#include "monitor/store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using mp::monitor::Agg;
using mp::monitor::Query;
using mp::monitor::Sample;
using mp::monitor::Store;

constexpr int k_metrics = 20;
constexpr double k_ingest_target = 200'000;
constexpr double k_query_target_ms = 50;

struct Options {
  std::string dir;
  std::vector<int> series = {1, 5, 50}; ///< label sets per metric, one ingest run each
  long samples = 1'000'000;
  long batch = 1000;
  long naive = 20'000;
  double naive_seconds = 10;
  double hours = 24;
  int rounds = 5;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <class T> T checked(mp::Expected<T>&& e, std::string_view what) {
  if (!e) {
    fmt::print(stderr, "mp-bench-store: {}: {}\n", what, e.error().message);
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*e);
  }
}

std::uintmax_t size_on_disk(const std::string& path) {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::error_code ec;
    const auto n = fs::file_size(path + suffix, ec);
    total += ec ? 0 : n;
  }
  return total;
}

std::string metric_name(int m) {
  // The names the collector writes and the report reads (monitor/report.hpp).
  static const std::vector<std::string> k_names = {"ai_response_time_ms",
                                                   "cache_hit_rate_percent",
                                                   "ai_response_time_p50_ms",
                                                   "error_rate_percent",
                                                   "ai_response_time_p95_ms",
                                                   "queue_depth",
                                                   "ai_response_time_p99_ms",
                                                   "host_cpu_percent",
                                                   "ai_urgent_response_time_p99_ms",
                                                   "host_memory_used_percent",
                                                   "ai_requests_interval",
                                                   "ai_errors_interval",
                                                   "apdex_satisfied",
                                                   "apdex_tolerating",
                                                   "apdex_frustrated",
                                                   "ai_workers",
                                                   "active_websocket_connections",
                                                   "ai_requests_per_minute",
                                                   "process_cpu_percent",
                                                   "process_rss_bytes"};
  return k_names[static_cast<std::size_t>(m) % k_names.size()];
}

/// A plausible value: latency-like (log-normal) for half the metrics, level-like for the rest.
double value_of(int metric, std::mt19937& rng) {
  if (metric % 2 == 0) {
    return std::round(std::lognormal_distribution<double>(3.0, 0.6)(rng) * 10) / 10;
  }
  return std::round(std::normal_distribution<double>(50, 8)(rng));
}

struct Ingest {
  std::size_t series = 0;
  long samples = 0;
  double rate = 0;
  double bytes_per_sample = 0;
};

/// 20 x `per_metric` series, consecutive ticks of all of them in writes of --batch samples.
Ingest ingest(const Options& o, int per_metric, double t0) {
  const std::string path = o.dir + fmt::format("/ingest-{}.db", per_metric);
  auto store = checked(Store::open(path), "open");
  std::vector<Sample> tick;
  for (int m = 0; m < k_metrics; ++m) {
    for (int s = 0; s < per_metric; ++s) {
      tick.push_back({metric_name(m), fmt::format("instance=i{}", s), 0, 0});
    }
  }
  const long ticks_per_write = std::max(1L, o.batch / static_cast<long>(tick.size()));
  const long writes = std::max(1L, o.samples / (ticks_per_write * static_cast<long>(tick.size())));
  std::vector<Sample> batch;
  for (long t = 0; t < ticks_per_write; ++t) {
    batch.insert(batch.end(), tick.begin(), tick.end());
  }
  std::mt19937 rng(1);
  const auto start = Clock::now();
  for (long w = 0; w < writes; ++w) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const long t = w * ticks_per_write + static_cast<long>(i / tick.size());
      batch[i].ts = t0 + static_cast<double>(t);
      batch[i].value =
          value_of(static_cast<int>((i % tick.size()) / static_cast<std::size_t>(per_metric)), rng);
    }
    checked(store->write(batch), "write");
  }
  const double elapsed = seconds_since(start);
  store.reset(); // the last connection checkpoints the WAL into the file and removes it
  Ingest out;
  out.series = tick.size();
  out.samples = writes * static_cast<long>(batch.size());
  out.rate = static_cast<double>(out.samples) / elapsed;
  out.bytes_per_sample = static_cast<double>(size_on_disk(path)) / static_cast<double>(out.samples);
  return out;
}

/// The naive peer: what a first version usually does. Returns samples/s.
double naive_ingest(const Options& o, double t0) {
  const std::string path = o.dir + "/naive.db";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "CREATE TABLE samples (id INTEGER PRIMARY KEY, metric TEXT, labels TEXT, ts REAL, value REAL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO samples (metric, labels, ts, value) VALUES (?, ?, ?, ?)", -1, &insert,
                     nullptr);
  std::mt19937 rng(1);
  long done = 0;
  const auto start = Clock::now();
  for (; done < o.naive && (done % 100 != 0 || seconds_since(start) < o.naive_seconds); ++done) {
    const int m = static_cast<int>(done % k_metrics);
    const std::string metric = metric_name(m);
    sqlite3_bind_text(insert, 1, metric.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 2, "instance=i0", -1, SQLITE_STATIC);
    sqlite3_bind_double(insert, 3, t0 + static_cast<double>(done / k_metrics));
    sqlite3_bind_double(insert, 4, value_of(m, rng));
    if (sqlite3_step(insert) != SQLITE_DONE) {
      fmt::print(stderr, "mp-bench-store: naive insert: {}\n", sqlite3_errmsg(db));
      std::exit(1);
    }
    sqlite3_reset(insert);
  }
  const double elapsed = seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  const double rate = static_cast<double>(done) / elapsed;
  fmt::print("    naive peer, an autocommit INSERT per sample into a rowid table (rollback journal, "
             "synchronous=FULL):\n      {} samples in {:.2f} s: {:.0f} samples/s, {:.1f} bytes/sample\n",
             done, elapsed, rate,
             static_cast<double>(size_on_disk(path)) / static_cast<double>(std::max(done, 1L)));
  return rate;
}

void ingest_all(const Options& o, double t0) {
  fmt::print("(a) ingest, writes of {} samples (one transaction each), {} samples per run\n", o.batch,
             o.samples);
  fmt::print("    {:>7} {:>17} {:>12} {:>10} {:>10} {:>13}\n", "series", "samples/series/tx", "samples/s",
             "us/sample", "vs target", "bytes/sample");
  double best = 0, worst = 1e300;
  for (int per_metric : o.series) {
    const Ingest r = ingest(o, per_metric, t0);
    best = std::max(best, r.rate);
    worst = std::min(worst, r.rate);
    fmt::print("    {:>7} {:>17} {:>12.0f} {:>10.2f} {:>9.2f}x {:>13.1f}\n", r.series,
               std::max<long>(1, o.batch / static_cast<long>(r.series)), r.rate, 1e6 / r.rate,
               r.rate / k_ingest_target, r.bytes_per_sample);
  }
  const double naive = naive_ingest(o, t0);
  fmt::print("    mp store / naive: {:.0f}x to {:.0f}x\n", worst / naive, best / naive);
}

struct Timed {
  double best_ms = 1e300;
  std::vector<mp::monitor::SeriesResult> results; ///< of the last round, per query
};

/// Every metric at step 300 with avg and p99, `rounds` times; the best round's total.
Timed report_queries(const Store& store, const Options& o, double since, double until,
                     std::optional<mp::monitor::Tier> tier) {
  Timed out;
  for (int r = 0; r < o.rounds; ++r) {
    out.results.clear();
    const auto start = Clock::now();
    for (int m = 0; m < k_metrics; ++m) {
      for (Agg agg : {Agg::avg, Agg::p99}) {
        Query q;
        q.metric = metric_name(m);
        q.since = since;
        q.until = until;
        q.step = 300;
        q.agg = agg;
        q.tier = tier;
        auto res = checked(store.query(q), "query");
        out.results.push_back(std::move(res.front()));
      }
    }
    out.best_ms = std::min(out.best_ms, seconds_since(start) * 1000);
  }
  return out;
}

void day_query(const Options& o, double now) {
  const std::string path = o.dir + "/day.db";
  auto store = checked(Store::open(path), "open");
  const long seconds = std::lround(o.hours * 3600);
  const double since = now - static_cast<double>(seconds);
  std::mt19937 rng(2);
  std::vector<Sample> batch;
  batch.reserve(1000);
  const auto start = Clock::now();
  for (long t = 0; t < seconds; ++t) {
    for (int m = 0; m < k_metrics; ++m) {
      batch.push_back({metric_name(m), "", since + static_cast<double>(t + 1), value_of(m, rng)});
    }
    if (batch.size() >= 1000 || t + 1 == seconds) {
      checked(store->write(batch), "write");
      batch.clear();
    }
  }
  const double write_s = seconds_since(start);
  const auto maintain_start = Clock::now();
  checked(store->maintain(now), "maintain");
  const double maintain_s = seconds_since(maintain_start);
  const long n = seconds * k_metrics;
  fmt::print("(b) {} h of 1-second samples of {} metrics: {} samples written in {:.2f} s ({:.0f}/s), "
             "maintain() {:.2f} s\n",
             o.hours, k_metrics, n, write_s, static_cast<double>(n) / write_s, maintain_s);

  const Timed fast = report_queries(*store, o, since, now, std::nullopt);
  Options once = o;
  once.rounds = std::min(o.rounds, 2); // a second each: enough to compare
  const Timed exact = report_queries(*store, once, since, now, mp::monitor::Tier::raw);
  std::size_t points = 0;
  for (const auto& r : fast.results) {
    points += r.points.size();
  }
  fmt::print("    report queries: {} metrics x (avg, p99) at step 300 s over {} h: {:.1f} ms (best of {}; "
             "tier {}, {} points; target {:.0f} ms: {})\n",
             k_metrics, o.hours, fast.best_ms, o.rounds, fast.results.front().tier, points, k_query_target_ms,
             fast.best_ms <= k_query_target_ms ? "met" : "MISSED");
  fmt::print("    the same forced onto raw samples (exact percentiles): {:.1f} ms\n", exact.best_ms);

  // The whole report, as GET /api/performance/report builds it.
  double report_best = 1e300;
  std::size_t report_bytes = 0;
  for (int r = 0; r < o.rounds; ++r) {
    mp::monitor::ReportInputs in;
    in.now = now;
    in.hours = o.hours;
    const auto t = Clock::now();
    const auto json = checked(mp::monitor::build_report(*store, in), "build_report");
    report_best = std::min(report_best, seconds_since(t) * 1000);
    report_bytes = json.size();
  }
  fmt::print(
      "    the whole report (build_report, {} bytes of JSON): {:.1f} ms (best of {}; target {:.0f} ms: {})\n",
      report_bytes, report_best, o.rounds, k_query_target_ms,
      report_best <= k_query_target_ms ? "met" : "MISSED");

  // How far minute-rollup p99s are from the exact ones, bucket by bucket.
  std::vector<double> errors;
  for (std::size_t i = 1; i < fast.results.size(); i += 2) {
    const auto& a = fast.results[i].points;
    const auto& b = exact.results[i].points;
    for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
      if (a[k].ts == b[k].ts && b[k].value != 0) {
        errors.push_back(std::abs(a[k].value - b[k].value) / std::abs(b[k].value) * 100);
      }
    }
  }
  std::sort(errors.begin(), errors.end());
  if (!errors.empty()) {
    fmt::print("    p99 from minute rollups vs exact, per 5-minute bucket: median {:.1f}%, p90 {:.1f}%, max "
               "{:.1f}% off\n",
               errors[errors.size() / 2], errors[errors.size() * 9 / 10], errors.back());
  }
  store.reset();
  fmt::print("    file: {:.1f} MB ({:.1f} bytes per raw sample, rollups included)\n",
             static_cast<double>(size_on_disk(path)) / 1e6,
             static_cast<double>(size_on_disk(path)) / static_cast<double>(n));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--dir") {
      o.dir = v;
    } else if (flag == "--series") {
      o.series.clear();
      for (std::string_view list = v; !list.empty();) {
        const std::size_t comma = list.find(',');
        o.series.push_back(std::max(1, std::atoi(std::string(list.substr(0, comma)).c_str())));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
    } else if (flag == "--batch") {
      o.batch = std::max(1L, std::atol(v));
    } else if (flag == "--samples") {
      o.samples = std::atol(v);
    } else if (flag == "--naive") {
      o.naive = std::atol(v);
    } else if (flag == "--naive-seconds") {
      o.naive_seconds = std::atof(v);
    } else if (flag == "--hours") {
      o.hours = std::max(1.0, std::atof(v));
    } else if (flag == "--rounds") {
      o.rounds = std::max(1, std::atoi(v));
    } else {
      fmt::print(stderr,
                 "mp-bench-store: unknown flag {} (--dir, --series, --samples, --naive, "
                 "--naive-seconds, --hours, --rounds)\n",
                 flag);
      std::exit(2);
    }
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  const bool own_dir = o.dir.empty();
  if (own_dir) {
    std::string templ = (fs::temp_directory_path() / "mp-bench-store-XXXXXX").string();
    if (!mkdtemp(templ.data())) {
      fmt::print(stderr, "mp-bench-store: cannot create a directory in {}\n",
                 fs::temp_directory_path().string());
      return 1;
    }
    o.dir = templ;
  } else {
    fs::create_directories(o.dir);
    for (const auto& e : fs::directory_iterator(o.dir)) {
      if (e.path().extension() == ".db") {
        fs::remove(e.path());
      }
    }
  }
  fmt::print("SQLite {}, files in {}\n", sqlite3_libversion(), o.dir);
  // A fixed hour-aligned "now", so runs are comparable.
  const double now = 1'700'002'800;
  ingest_all(o, now - 3 * 86400);
  day_query(o, now);
  if (own_dir) {
    fs::remove_all(o.dir);
  }
  return 0;
}
