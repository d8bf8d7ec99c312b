#include "bench/run_file.hpp"
#include "fixtures.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mp::bench;
using namespace mp::bench::testing;

namespace {

mp::Error read_error(const std::string& text) {
  std::istringstream in(text);
  auto run = read_run(in);
  REQUIRE_FALSE(run);
  return run.error();
}

} // namespace

TEST_CASE("read_run: a complete three-interval run", "[bench]") {
  const auto run = read_text(three_interval_run());
  CHECK(run.run_id == "r1");
  CHECK(run.test == "load");
  CHECK(run.complete);
  CHECK(run.warnings.empty());
  REQUIRE(run.start.IsObject());
  CHECK(run.start["config"]["connections"].GetInt() == 10);
  REQUIRE(run.intervals.size() == 3);
  CHECK(run.intervals[0].warmup);
  CHECK_FALSE(run.intervals[1].warmup);
  const auto& iv = run.intervals[2];
  CHECK(iv.t == 3.0);
  CHECK(iv.dt == 1.0);
  CHECK(iv.requests == 990);
  CHECK(iv.ok == 987);
  CHECK(iv.errors == 3);
  CHECK(iv.late == 1);
  CHECK(iv.target_rps == 1000.0);
  CHECK(iv.latency_ms.p99 == Approx(14.0));
  CHECK(iv.latency_ms.max == Approx(42.0));
  CHECK(iv.service_p99_ms == Approx(5.0));
  CHECK(iv.error_kinds.at("status_500") == 3);
  CHECK(iv.generator_cpu == Approx(12.5));
  CHECK(iv.connections == 10);
  CHECK(measured_intervals(run).size() == 2);
  CHECK(mp::util::get_number(run.summary, "achieved_rps") == Approx(995.0));
}

TEST_CASE("read_run: a killed run without a summary is rebuilt from its measured intervals", "[bench]") {
  const auto run =
      read_text(start_line() + "\n" + interval_line(1, true, 900, 0, 30.0) + "\n" +
                interval_line(2, false, 1000, 1, 10.0) + "\n" + interval_line(3, false, 990, 3, 14.0));
  CHECK_FALSE(run.complete);
  REQUIRE(run.warnings.size() == 1);
  CHECK(run.warnings[0].find("no summary line") != std::string::npos);
  const auto& s = run.summary;
  REQUIRE(s.IsObject());
  CHECK(s["requests"].GetInt64() == 1990); // the warm-up's 900 are excluded
  CHECK(s["errors"].GetInt64() == 4);
  CHECK(s["error_rate"].GetDouble() == Approx(4.0 / 1990));
  CHECK(s["duration_s"].GetDouble() == Approx(2.0));
  CHECK(s["achieved_rps"].GetDouble() == Approx(995.0));
  CHECK(s["latency_ms"]["p99"].GetDouble() == Approx(14.0)); // the worst measured interval, not 30
  CHECK(s["error_kinds"]["status_500"].GetInt64() == 4);
  CHECK(s["config"]["rate"].GetInt() == 1000);
  CHECK_FALSE(s["complete"].GetBool());
  REQUIRE(s["warnings"].IsArray());
  CHECK(s["warnings"].Size() == 1);
}

TEST_CASE("read_run: errors name the line", "[bench]") {
  SECTION("not an object") {
    const auto e = read_error(start_line() + "\n\n" + interval_line(1, false, 10, 0, 1) + "\n[1,2]\n");
    CHECK(e.code == mp::Errc::usage);
    CHECK(e.message == "line 4: not a JSON object");
  }
  SECTION("not JSON") {
    const auto e = read_error(start_line() + "\n{\"type\":\"interval\",\n");
    CHECK(e.message.starts_with("line 2: not JSON"));
  }
  SECTION("a field of the wrong type") {
    const auto e = read_error(start_line() + "\n" +
                              R"({"type":"interval","run_id":"r1","t":1,"requests":"many"})" + "\n");
    CHECK(e.message == "line 2: interval: \"requests\" is not a number");
  }
  SECTION("no type") {
    CHECK(read_error(R"({"run_id":"r1"})").message == "line 1: no \"type\" string");
  }
  SECTION("nothing to report") {
    CHECK(read_error("").message.starts_with("no mp-bench lines"));
    CHECK(read_error(start_line() + "\n").message.starts_with("no interval or summary lines"));
  }
}

TEST_CASE("read_run: other types are ignored, other runs skipped with a warning", "[bench]") {
  const auto run = read_text(start_line() + "\n" + R"({"type":"progress","run_id":"r1","ts":1})" + "\n" +
                             interval_line(1, false, 10, 0, 1) + "\n" +
                             interval_line(1, false, 10, 0, 1, "r2") + "\n" + summary_line() + "\n");
  CHECK(run.intervals.size() == 1);
  CHECK(run.complete);
  REQUIRE(run.warnings.size() == 1);
  CHECK(run.warnings[0].find("skipped 1 lines of other runs") != std::string::npos);
  // The warning is also in the summary, where the renderers look.
  CHECK(run.summary["warnings"].Size() == 1);
}

TEST_CASE("read_run: a summary line alone is a run", "[bench]") {
  const auto run = read_text(summary_line() + "\n");
  CHECK(run.intervals.empty());
  CHECK(run.complete);
  CHECK(run.run_id == "r1");
}
