#include "bench/compare.hpp"
#include "fixtures.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mp::bench;
using namespace mp::bench::testing;

namespace {

Comparison compare_lines(const std::string& base, const std::string& current, double tolerance = 0.10) {
  const auto b = read_text(base);
  const auto n = read_text(current);
  return compare_summaries(b.summary, n.summary, tolerance);
}

const CompareRow& row(const Comparison& c, const std::string& metric) {
  for (const auto& r : c.rows) {
    if (r.metric == metric) {
      return r;
    }
  }
  FAIL("no row " << metric);
  return c.rows.front();
}

} // namespace

TEST_CASE("compare: identical runs are not a regression", "[bench]") {
  const auto c = compare_lines(three_interval_run(), three_interval_run());
  CHECK_FALSE(c.regressed);
  CHECK(c.rows.size() == 8);
  for (const auto& r : c.rows) {
    CHECK(r.verdict == Verdict::ok);
  }
  CHECK(c.notes.empty());
}

TEST_CASE("compare: p99 beyond the tolerance is a regression, within it is not", "[bench]") {
  const auto worse = compare_lines(summary_line(12.0), summary_line(13.5)); // +12.5%
  CHECK(worse.regressed);
  CHECK(row(worse, "p99").verdict == Verdict::regression);
  CHECK(*row(worse, "p99").change == Approx(0.125));

  const auto within = compare_lines(summary_line(12.0), summary_line(13.0)); // +8.3%
  CHECK_FALSE(within.regressed);
  CHECK(row(within, "p99").verdict == Verdict::ok);

  const auto tighter = compare_lines(summary_line(12.0), summary_line(13.0), 0.05);
  CHECK(tighter.regressed);

  const auto better = compare_lines(summary_line(12.0), summary_line(6.0));
  CHECK_FALSE(better.regressed);
  CHECK(row(better, "p99").verdict == Verdict::improvement);
}

TEST_CASE("compare: a drop in achieved rps is a regression, a rise is not", "[bench]") {
  const auto drop = compare_lines(summary_line(12.0, 1000.0), summary_line(12.0, 850.0));
  CHECK(drop.regressed);
  CHECK(row(drop, "achieved_rps").verdict == Verdict::regression);
  const auto rise = compare_lines(summary_line(12.0, 850.0), summary_line(12.0, 1000.0));
  CHECK_FALSE(rise.regressed);
  CHECK(row(rise, "achieved_rps").verdict == Verdict::improvement);
}

TEST_CASE("compare: from a zero error rate only the absolute floor decides", "[bench]") {
  const auto tiny = compare_lines(summary_line(12.0, 995.0, 0.0), summary_line(12.0, 995.0, 0.0005));
  CHECK_FALSE(tiny.regressed);
  CHECK_FALSE(row(tiny, "error_rate").change); // relative change has no meaning from 0
  const auto real = compare_lines(summary_line(12.0, 995.0, 0.0), summary_line(12.0, 995.0, 0.005));
  CHECK(real.regressed);
  CHECK(row(real, "error_rate").verdict == Verdict::regression);
}

TEST_CASE("compare: sub-jitter latency differences never count", "[bench]") {
  const auto c = compare_lines(summary_line(0.10), summary_line(0.14)); // +40%, but 0.04 ms
  CHECK(row(c, "p99").verdict == Verdict::ok);
}

TEST_CASE("parse_tolerance", "[bench]") {
  CHECK(*parse_tolerance("10%") == Approx(0.10));
  CHECK(*parse_tolerance("5%") == Approx(0.05));
  CHECK(*parse_tolerance("0.05") == Approx(0.05));
  CHECK(*parse_tolerance("0") == 0);
  for (const char* bad : {"5", "abc", "", "-1%", "10 %", "%"}) {
    INFO(bad);
    const auto t = parse_tolerance(bad);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == mp::Errc::usage);
    CHECK(t.error().field == "--tolerance");
  }
}

TEST_CASE("compare: table and json renderings", "[bench]") {
  const auto c = compare_lines(summary_line(12.0), summary_line(20.0));
  std::ostringstream table;
  render_comparison(table, c, mp::util::Format::table);
  CHECK(table.str().find("p99 (ms)") != std::string::npos);
  CHECK(table.str().find("+66.7%") != std::string::npos);
  CHECK(table.str().find("REGRESSION beyond 10%: p99 +66.7%") != std::string::npos);

  std::ostringstream json;
  render_comparison(json, c, mp::util::Format::json);
  auto doc = mp::util::parse_json(json.str());
  REQUIRE(doc);
  CHECK((*doc)["regressed"].GetBool());
  CHECK((*doc)["metrics"].Size() == 8);
  CHECK(std::string((*doc)["metrics"][2]["verdict"].GetString()) == "regression");
}

TEST_CASE("compare: notes when runs are not like for like", "[bench]") {
  const auto killed = start_line() + "\n" + interval_line(1, false, 1000, 0, 10.0) + "\n";
  const auto c = compare_lines(three_interval_run(), killed);
  bool noted = false;
  for (const auto& n : c.notes) {
    noted = noted || n.find("NEW has no summary line") != std::string::npos;
  }
  CHECK(noted);
}
