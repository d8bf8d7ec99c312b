#include "monitor/quantile.hpp"
#include "monitor/store.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace mp::monitor;
namespace fs = std::filesystem;

namespace {

constexpr double k_t0 = 1'699'999'200; // a multiple of an hour (and of 100 s)
constexpr double k_hour = 3600;
constexpr double k_day = 86400;

/// A private directory, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "mp-store-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  [[nodiscard]] std::string file(const char* name) const { return (path / name).string(); }
};

std::unique_ptr<Store> open_store(const std::string& path, StoreOptions o = {}, bool read_only = false) {
  auto s = Store::open(path, o, read_only);
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

void write(Store& s, const std::vector<Sample>& batch) {
  auto ok = s.write(batch);
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok);
}

void maintain(Store& s, double now) {
  auto ok = s.maintain(now);
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok);
}

std::vector<SeriesResult> query(const Store& s, Query q) {
  auto r = s.query(q);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  return std::move(*r);
}

Query make_query(std::string metric, double since, double until, double step, Agg agg) {
  Query q;
  q.metric = std::move(metric);
  q.since = since;
  q.until = until;
  q.step = step;
  q.agg = agg;
  return q;
}

/// The only series' points of a query.
std::vector<Point> points(const Store& s, const Query& q, const char* tier = nullptr) {
  auto r = query(s, q);
  REQUIRE(r.size() == 1);
  if (tier) {
    REQUIRE(r[0].tier == tier);
  }
  return r[0].points;
}

/// One sample a second over [from, from + seconds), valued `i % 60` (every whole minute
/// holds 0..59 once: count 60, min 0, max 59, avg 29.5).
void write_seconds(Store& s, const std::string& metric, double from, int seconds) {
  std::vector<Sample> batch;
  for (int i = 0; i < seconds; ++i) {
    batch.push_back({metric, "", from + i, static_cast<double>(i % 60)});
    if (batch.size() == 1000) {
      write(s, batch);
      batch.clear();
    }
  }
  if (!batch.empty()) {
    write(s, batch);
  }
}

/// Runs SQL on the file through a connection of its own.
void sql(const std::string& path, const char* statements) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const int rc = sqlite3_exec(db, statements, nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

} // namespace

TEST_CASE("store: names of aggregations, tiers and canonical labels", "[store]") {
  for (Agg a : {Agg::avg, Agg::min, Agg::max, Agg::sum, Agg::count, Agg::last, Agg::p50, Agg::p90, Agg::p95,
                Agg::p99}) {
    REQUIRE(parse_agg(agg_name(a)) == a);
  }
  REQUIRE_FALSE(parse_agg("median"));
  REQUIRE(parse_tier("minute") == Tier::minute);
  REQUIRE_FALSE(parse_tier("day"));
  REQUIRE(*canonical_labels("") == "");
  REQUIRE(*canonical_labels("method=GET,code=200") == "code=200,method=GET");
  REQUIRE(*canonical_labels("a=") == "a=");
  REQUIRE_FALSE(canonical_labels("novalue"));
  REQUIRE_FALSE(canonical_labels("=x"));
  REQUIRE_FALSE(canonical_labels("a=1,a=2"));
}

TEST_CASE("store: percentiles exact from samples, estimated from rollup knots", "[store]") {
  const std::vector<double> four = {1, 2, 3, 4};
  REQUIRE(quantile_sorted(four, 0) == 1);
  REQUIRE(quantile_sorted(four, 0.5) == 2.5);
  REQUIRE(quantile_sorted(four, 1) == 4);
  REQUIRE(quantile_sorted(std::vector<double>{7}, 0.99) == 7);

  std::vector<double> low, high;
  for (int i = 0; i <= 1000; ++i) {
    low.push_back(i / 10.0);        // uniform on [0, 100]
    high.push_back(100 + i / 10.0); // uniform on [100, 200]
  }
  const Knots a = knots_of(low), b = knots_of(high);
  REQUIRE(a.at[4] == Approx(99));
  REQUIRE(mixture_quantile({a}, 0.99) == a.at[4]); // one part: its own knot, exactly
  REQUIRE(mixture_quantile({a, a, a}, 0.9) == Approx(90));
  REQUIRE(mixture_quantile({a, b}, 0.9) == Approx(180)); // the exact answer: 180
  REQUIRE(mixture_quantile({a, b}, 0.5) == Approx(100));
  REQUIRE(mixture_quantile({a, b}, 0) == 0);
  REQUIRE(mixture_quantile({a, b}, 1) == 200);

  // 90 fast samples and 10 slow ones, each part a point mass: p90 fast, p95 slow.
  Knots fast, slow;
  fast.count = 90;
  fast.at.fill(10);
  slow.count = 10;
  slow.at.fill(1000);
  REQUIRE(mixture_quantile({fast, slow}, 0.9) == 10);
  REQUIRE(mixture_quantile({fast, slow}, 0.95) == 1000);
}

TEST_CASE("store: raw queries bucket by step with every aggregation", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  std::vector<Sample> batch;
  for (int i = 0; i < 100; ++i) { // values 1..100, one a second
    batch.push_back({"latency_ms", "", k_t0 + i, static_cast<double>(i + 1)});
  }
  write(*s, batch);

  auto p = points(*s, make_query("latency_ms", k_t0, k_t0 + 99, 10, Agg::avg), "raw");
  REQUIRE(p.size() == 10);
  REQUIRE(p[0].ts == k_t0);
  REQUIRE(p[0].value == Approx(5.5));
  REQUIRE(p[9].ts == k_t0 + 90);
  REQUIRE(p[9].value == Approx(95.5));

  auto one = [&](Agg agg) {
    auto r = points(*s, make_query("latency_ms", k_t0, k_t0 + 99, 100, agg), "raw");
    REQUIRE(r.size() == 1);
    return r[0].value;
  };
  CHECK(one(Agg::count) == 100);
  CHECK(one(Agg::sum) == 5050);
  CHECK(one(Agg::min) == 1);
  CHECK(one(Agg::max) == 100);
  CHECK(one(Agg::last) == 100);
  CHECK(one(Agg::p50) == Approx(50.5)); // between the closest ranks, as numpy and Prometheus
  CHECK(one(Agg::p90) == Approx(90.1));
  CHECK(one(Agg::p95) == Approx(95.05));
  CHECK(one(Agg::p99) == Approx(99.01));

  // since/until are inclusive; step 0 picks a round step (1 s for 100 s of data).
  auto auto_step = query(*s, make_query("latency_ms", k_t0 + 10, k_t0 + 19, 0, Agg::max));
  REQUIRE(auto_step[0].step == 1);
  REQUIRE(auto_step[0].points.size() == 10);
  REQUIRE(auto_step[0].points.back().value == 20);

  // A duplicate (series, ts) replaces the stored value; within a batch the later wins.
  write(*s, {{"latency_ms", "", k_t0, 1000}});
  REQUIRE(points(*s, make_query("latency_ms", k_t0, k_t0, 1, Agg::last))[0].value == 1000);
  write(*s, {{"latency_ms", "", k_t0 + 1, 7}, {"latency_ms", "", k_t0 + 1, 8}});
  REQUIRE(points(*s, make_query("latency_ms", k_t0 + 1, k_t0 + 1, 1, Agg::count))[0].value == 1);
  REQUIRE(points(*s, make_query("latency_ms", k_t0 + 1, k_t0 + 1, 1, Agg::last))[0].value == 8);
  REQUIRE(*s->integrity_check() == "ok");
}

TEST_CASE("store: bad samples and queries are rejected, naming the metric", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  auto nan = s->write({{"ok_metric", "", k_t0, 1}, {"cpu_percent", "", k_t0, std::nan("")}});
  REQUIRE_FALSE(nan);
  REQUIRE(nan.error().code == mp::Errc::invalid);
  REQUIRE(nan.error().message.find("cpu_percent") != std::string::npos);
  auto labels = s->write({{"ok_metric", "", k_t0, 1}, {"http", "method", k_t0, 1}});
  REQUIRE_FALSE(labels);
  REQUIRE(labels.error().message.find("http") != std::string::npos);
  REQUIRE(s->metrics()->empty()); // both batches wrote nothing

  write(*s, {{"ok_metric", "", k_t0, 1}});
  auto unknown = s->query(make_query("nope", k_t0, k_t0 + 1, 0, Agg::avg));
  REQUIRE_FALSE(unknown);
  REQUIRE(unknown.error().code == mp::Errc::not_found);
  REQUIRE(unknown.error().message.find("nope") != std::string::npos);
  REQUIRE_FALSE(s->query(make_query("ok_metric", k_t0 + 1, k_t0, 0, Agg::avg)));
  REQUIRE_FALSE(s->query(make_query("ok_metric", k_t0, k_t0 + 1, -1, Agg::avg)));
}

TEST_CASE("store: maintain rolls up complete minutes and hours", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  write_seconds(*s, "rps", k_t0, 3 * 3600);
  maintain(*s, k_t0 + 3 * k_hour + 10);

  // A step of 5 minutes is answered from minute rollups, exactly for avg/count/min/max.
  auto avg = points(*s, make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 300, Agg::avg), "minute");
  REQUIRE(avg.size() == 36);
  for (const Point& p : avg) {
    REQUIRE(p.value == Approx(29.5));
  }
  auto count = points(*s, make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 300, Agg::count), "minute");
  REQUIRE(count[5].value == 300);
  REQUIRE(points(*s, make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 300, Agg::max))[0].value == 59);

  // A step of an hour reads hour rollups; their percentiles come from the raw samples.
  auto hours = [&](Agg agg) {
    return points(*s, make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 3600, agg), "hour");
  };
  REQUIRE(hours(Agg::count).size() == 3);
  REQUIRE(hours(Agg::count)[2].value == 3600);
  REQUIRE(hours(Agg::min)[1].value == 0);
  REQUIRE(hours(Agg::max)[1].value == 59);
  REQUIRE(hours(Agg::avg)[0].value == Approx(29.5));
  REQUIRE(hours(Agg::p50)[0].value == 29.5);
  REQUIRE(hours(Agg::p90)[0].value == Approx(53.1));
  REQUIRE(hours(Agg::p99)[0].value == 59);
  REQUIRE(hours(Agg::last)[0].value == 59);

  // Forcing the raw tier gives the same answer from the samples.
  Query raw = make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 3600, Agg::p50);
  raw.tier = Tier::raw;
  REQUIRE(points(*s, raw, "raw")[0].value == 29.5);

  // Five minutes alike: the mixture of their rollups has their own percentiles.
  auto p90 = points(*s, make_query("rps", k_t0, k_t0 + 3 * k_hour - 1, 300, Agg::p90), "minute");
  REQUIRE(p90[0].value == Approx(53.1)); // each minute's p90: 0..59 at rank 53.1

  // Idempotent: the same call again changes nothing.
  maintain(*s, k_t0 + 3 * k_hour + 10);
  REQUIRE(hours(Agg::count)[2].value == 3600);
}

TEST_CASE("store: the part not yet rolled up is read raw, late samples are rolled up again", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  write_seconds(*s, "rps", k_t0, 91); // minute 0 whole, minute 1 up to its 31st second
  maintain(*s, k_t0 + 91);
  auto c = points(*s, make_query("rps", k_t0, k_t0 + 120, 60, Agg::count), "minute");
  REQUIRE(c.size() == 2);
  REQUIRE(c[0].value == 60); // the rollup
  REQUIRE(c[1].value == 31); // raw, past the watermark

  // A sample behind the watermark: the next maintain() redoes its minute.
  write(*s, {{"rps", "", k_t0 + 30.5, 1000}});
  REQUIRE(points(*s, make_query("rps", k_t0, k_t0 + 59, 60, Agg::count))[0].value == 60);
  maintain(*s, k_t0 + 91);
  auto after = points(*s, make_query("rps", k_t0, k_t0 + 59, 60, Agg::max), "minute");
  REQUIRE(after[0].value == 1000);
  REQUIRE(points(*s, make_query("rps", k_t0, k_t0 + 59, 60, Agg::count))[0].value == 61);
}

TEST_CASE("store: retention per tier, old ranges answered from coarser tiers", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  write_seconds(*s, "rps", k_t0, 3 * 3600);
  maintain(*s, k_t0 + 3 * k_hour + 10);
  const double until = k_t0 + 3 * k_hour - 1;

  // Three days on, the raw samples are gone (24 h) and minutes answer even a 10 s step.
  maintain(*s, k_t0 + 3 * k_day);
  REQUIRE(s->export_samples(k_t0, until)->empty());
  auto minutes = query(*s, make_query("rps", k_t0, until, 10, Agg::count));
  REQUIRE(minutes[0].tier == "minute");
  REQUIRE(minutes[0].step == 60);
  REQUIRE(minutes[0].points.size() == 180);
  REQUIRE(minutes[0].points[7].value == 60);
  REQUIRE(points(*s, make_query("rps", k_t0, until, 0, Agg::avg), "minute")[0].value == Approx(29.5));

  // Eight days on, minutes are gone (7 days): hours answer, with the same totals.
  maintain(*s, k_t0 + 8 * k_day);
  auto hours = points(*s, make_query("rps", k_t0, until, 300, Agg::count), "hour");
  REQUIRE(hours.size() == 3);
  REQUIRE(hours[0].value == 3600);
  REQUIRE(points(*s, make_query("rps", k_t0, until, 300, Agg::max), "hour")[1].value == 59);

  // Past 90 days nothing is left, but the series is still known.
  maintain(*s, k_t0 + 91 * k_day);
  REQUIRE(points(*s, make_query("rps", k_t0, until, 300, Agg::count)).empty());
  REQUIRE(*s->metrics() == std::vector<std::string>{"rps"});
}

TEST_CASE("store: labels filter one series, none gives every series of the metric", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  write(*s, {{"http_requests", "method=GET,code=200", k_t0, 10},
             {"http_requests", "code=500,method=GET", k_t0, 2},
             {"http_requests", "code=200,method=GET", k_t0 + 1, 12}, // the first series, spelt canonically
             {"cpu_percent", "", k_t0, 40}});
  REQUIRE(*s->metrics() == std::vector<std::string>{"cpu_percent", "http_requests"});
  REQUIRE(*s->labels("http_requests") ==
          std::vector<std::string>{"code=200,method=GET", "code=500,method=GET"});

  auto all = query(*s, make_query("http_requests", k_t0, k_t0 + 10, 60, Agg::sum));
  REQUIRE(all.size() == 2);
  REQUIRE(all[0].labels == "code=200,method=GET");
  REQUIRE(all[0].points[0].value == 22);
  REQUIRE(all[1].labels == "code=500,method=GET");
  REQUIRE(all[1].points[0].value == 2);

  Query one = make_query("http_requests", k_t0, k_t0 + 10, 60, Agg::sum);
  one.labels = "method=GET,code=500";
  REQUIRE(points(*s, one)[0].value == 2);
  one.labels = "code=404,method=GET";
  auto missing = s->query(one);
  REQUIRE_FALSE(missing);
  REQUIRE(missing.error().code == mp::Errc::not_found);
  one.labels = "";
  REQUIRE_FALSE(s->query(one)); // the unlabelled series of this metric does not exist

  auto exported = *s->export_samples(k_t0, k_t0 + 10);
  REQUIRE(exported.size() == 4);
  REQUIRE(exported[0].metric == "cpu_percent"); // by ts, then metric, then labels
  REQUIRE(exported[3].ts == k_t0 + 1);
  REQUIRE(exported[3].labels == "code=200,method=GET");
}

TEST_CASE("store: alerts, active is the latest record of a rule pending or firing", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("m.db"));
  REQUIRE(s->record_alert({"high_cpu", "pending", "warning", 91, k_t0, "CPU above 90%"}));
  REQUIRE(s->record_alert({"high_cpu", "firing", "warning", 93, k_t0 + 60, "CPU above 90%"}));
  REQUIRE(s->record_alert({"errors", "firing", "critical", 7, k_t0 + 90, "error rate above 5%"}));
  REQUIRE(s->record_alert({"high_cpu", "resolved", "warning", 50, k_t0 + 120, "CPU above 90%"}));
  REQUIRE(s->record_alert({"slow", "pending", "info", 2500, k_t0 + 130, "slow AI responses"}));

  auto active = *s->alerts(0, true);
  REQUIRE(active.size() == 2);
  REQUIRE(active[0].rule == "errors");
  REQUIRE(active[0].severity == "critical");
  REQUIRE(active[1].rule == "slow");
  REQUIRE(active[1].state == "pending");

  auto all = *s->alerts(0, false);
  REQUIRE(all.size() == 5);
  REQUIRE(all[3].state == "resolved");
  REQUIRE(all[3].value == 50);
  REQUIRE(s->alerts(k_t0 + 100, false)->size() == 2);
  REQUIRE(s->alerts(k_t0 + 100, true)->size() == 1);

  auto bad = s->record_alert({"x", "exploded", "info", 0, k_t0, ""});
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().code == mp::Errc::invalid);

  // Retention keeps the latest record of each rule, so an old alert stays active.
  REQUIRE(s->maintain(k_t0 + 100 * k_day));
  REQUIRE(s->alerts(0, true)->size() == 2);
  REQUIRE(s->alerts(0, false)->size() == 3);
}

TEST_CASE("store: a reopened file keeps its data", "[store]") {
  TempDir dir;
  const std::string path = dir.file("m.db");
  {
    auto s = open_store(path);
    write_seconds(*s, "rps", k_t0, 120);
    maintain(*s, k_t0 + 120);
    REQUIRE(s->record_alert({"r", "firing", "info", 1, k_t0, ""}));
  }
  auto s = open_store(path);
  REQUIRE(points(*s, make_query("rps", k_t0, k_t0 + 119, 60, Agg::count), "minute")[1].value == 60);
  write(*s, {{"rps", "", k_t0 + 120, 5}}); // the same series, not a new one
  REQUIRE(s->labels("rps")->size() == 1);
  REQUIRE(points(*s, make_query("rps", k_t0 + 120, k_t0 + 120, 1, Agg::last))[0].value == 5);
  REQUIRE(s->alerts(0, true)->size() == 1);
}

TEST_CASE("store: a file from a newer schema is refused, naming both versions", "[store]") {
  TempDir dir;
  const std::string path = dir.file("m.db");
  open_store(path).reset();
  sql(path, "PRAGMA user_version = 7");
  for (bool read_only : {false, true}) {
    auto s = Store::open(path, {}, read_only);
    REQUIRE_FALSE(s);
    REQUIRE(s.error().code == mp::Errc::invalid);
    REQUIRE(s.error().message.find("version 7") != std::string::npos);
    REQUIRE(s.error().message.find("build's 1") != std::string::npos);
  }

  // Read-only, a missing file or one that is not a metrics database is an error too.
  REQUIRE_FALSE(Store::open(dir.file("missing.db"), {}, true));
  sql(dir.file("other.db"), "CREATE TABLE t (x)");
  auto other = Store::open(dir.file("other.db"), {}, true);
  REQUIRE_FALSE(other);
  REQUIRE(other.error().message.find("not an mp metrics database") != std::string::npos);
}

TEST_CASE("store: a read-only connection reads while another one writes", "[store]") {
  TempDir dir;
  const std::string path = dir.file("m.db");
  auto writer = open_store(path);
  write(*writer, {{"rps", "", k_t0, 1}});
  auto reader = open_store(path, {}, true);
  REQUIRE(points(*reader, make_query("rps", k_t0, k_t0 + 10, 1, Agg::count)).size() == 1);
  REQUIRE(reader->write({{"rps", "", k_t0 + 1, 2}}).error().code == mp::Errc::usage);

  // Another connection holds the write lock with an uncommitted insert: the reader goes
  // on reading the last commit, a second writer waits out its busy timeout.
  StoreOptions impatient;
  impatient.busy_timeout = std::chrono::milliseconds(50);
  auto second = open_store(path, impatient);
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "BEGIN IMMEDIATE; INSERT INTO samples VALUES (1, 1699999205000, 9)", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  REQUIRE(points(*reader, make_query("rps", k_t0, k_t0 + 10, 1, Agg::count)).size() == 1);
  auto busy = second->write({{"rps", "", k_t0 + 2, 3}});
  REQUIRE_FALSE(busy);
  REQUIRE(busy.error().code == mp::Errc::unavailable);
  REQUIRE(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  write(*writer, {{"rps", "", k_t0 + 3, 4}});
  auto seen = points(*reader, make_query("rps", k_t0, k_t0 + 10, 1, Agg::last));
  REQUIRE(seen.size() == 3);
  REQUIRE(seen[1].value == 4);
  REQUIRE(seen[2].value == 9);
  REQUIRE(*reader->integrity_check() == "ok");
}
