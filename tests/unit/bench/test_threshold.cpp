#include "bench/stats.hpp"
#include "bench/threshold.hpp"

#include <catch2/catch.hpp>

using namespace mp::bench;

TEST_CASE("thresholds parse with their units into the metric's own unit", "[bench]") {
  auto t = parse_threshold("p99<250ms");
  REQUIRE(t);
  CHECK(t->metric == "p99");
  CHECK(t->op == Op::lt);
  CHECK(t->limit == Approx(250));
  CHECK(parse_threshold("p95 <= 1.5s")->limit == Approx(1500));
  CHECK(parse_threshold("p50<800us")->limit == Approx(0.8));
  CHECK(parse_threshold("p99<20")->limit == Approx(20)); // bare latency is ms
  CHECK(parse_threshold("error_rate<1%")->limit == Approx(0.01));
  CHECK(parse_threshold("error_rate<0.02")->limit == Approx(0.02));
  CHECK(parse_threshold("rps>1000")->op == Op::gt);
  CHECK(parse_threshold("p99.9<1s")->metric == "p99_9");
}

TEST_CASE("a threshold on an unknown metric or with a bad unit is a usage error naming it", "[bench]") {
  auto t = parse_threshold("p98<1ms");
  REQUIRE_FALSE(t);
  CHECK(t.error().code == mp::Errc::usage);
  CHECK(t.error().message.find("'p98'") != std::string::npos);
  CHECK_FALSE(parse_threshold("p99<1kg"));
  CHECK_FALSE(parse_threshold("rps>1000ms"));
  CHECK_FALSE(parse_threshold("p99"));
  CHECK_FALSE(parse_threshold("p99<fast"));
}

TEST_CASE("thresholds are judged on the totals' metrics", "[bench]") {
  Totals t;
  t.duration_s = 2;
  for (int i = 0; i < 99; ++i) {
    t.w.latency.record_ns(1'000'000); // 1 ms
    t.w.record_status(200);
  }
  t.w.latency.record_ns(900'000'000); // one at 900 ms
  t.w.record_status(500);
  t.w.completed = 100;
  CHECK(holds(*parse_threshold("p50<2ms"), *metric_value(t, "p50")));
  CHECK_FALSE(holds(*parse_threshold("max<500ms"), *metric_value(t, "max")));
  CHECK(*metric_value(t, "error_rate") == Approx(0.01));
  CHECK(*metric_value(t, "rps") == Approx(50));
  CHECK(holds(*parse_threshold("error_rate<=1%"), *metric_value(t, "error_rate")));
  CHECK_FALSE(holds(*parse_threshold("error_rate<1%"), *metric_value(t, "error_rate")));
}
