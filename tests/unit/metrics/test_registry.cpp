#include "metrics/registry.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/stringbuffer.h>

using namespace mp::metrics;

TEST_CASE("registry: counters and gauges in exposition format", "[metrics]") {
  Registry r;
  auto& c = r.counter("mp_things_total", "Things done", {"kind"});
  c.with({"a"}).inc(3);
  c.with({"b\"q"}).inc();
  r.gauge("mp_level", "A level").with({}).set(2.5);
  const auto text = r.prometheus_text();
  REQUIRE(text.find("# HELP mp_things_total Things done\n# TYPE mp_things_total counter\n") !=
          std::string::npos);
  REQUIRE(text.find("mp_things_total{kind=\"a\"} 3\n") != std::string::npos);
  REQUIRE(text.find("mp_things_total{kind=\"b\\\"q\"} 1\n") != std::string::npos);
  REQUIRE(text.find("# TYPE mp_level gauge\nmp_level 2.5\n") != std::string::npos);
}

TEST_CASE("registry: histograms expose cumulative buckets in seconds", "[metrics]") {
  Registry r;
  auto& h = r.histogram("mp_op_duration_seconds", "Op time", {"op"}).with({"x"});
  h.observe(std::chrono::microseconds(50));
  h.observe(std::chrono::milliseconds(2));
  h.observe(std::chrono::seconds(3));
  const auto text = r.prometheus_text();
  REQUIRE(text.find("mp_op_duration_seconds_bucket{op=\"x\",le=\"0.0001\"} 1\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_bucket{op=\"x\",le=\"0.0025\"} 2\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_bucket{op=\"x\",le=\"2.5\"} 2\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_bucket{op=\"x\",le=\"5\"} 3\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_sum{op=\"x\"} 3.00205\n") != std::string::npos);
  REQUIRE(text.find("mp_op_duration_seconds_count{op=\"x\"} 3\n") != std::string::npos);
}

TEST_CASE("registry: the same family is returned; a different shape is refused", "[metrics]") {
  Registry r;
  auto& a = r.counter("mp_x_total", "x", {"l"});
  auto& b = r.counter("mp_x_total", "x", {"l"});
  REQUIRE(&a == &b);
  REQUIRE_THROWS(r.gauge("mp_x_total", "x", {"l"}));
  REQUIRE_THROWS(r.counter("mp_x_total", "x", {"other"}));
  REQUIRE_THROWS(a.with({"1", "2"}));
}

TEST_CASE("registry: series per family are capped", "[metrics]") {
  Registry r;
  auto& f = r.counter("mp_many_total", "many", {"id"});
  for (std::size_t i = 0; i < Registry::k_max_series + 50; ++i) {
    f.with({std::to_string(i)}).inc();
  }
  REQUIRE(f.series().size() == Registry::k_max_series + 1);
  REQUIRE(f.with({"_overflow"}).value() == 50);
}

TEST_CASE("registry: collect hooks refresh values before exposition", "[metrics]") {
  Registry r;
  auto& g = r.gauge("mp_now", "now").with({});
  int calls = 0;
  r.on_collect([&] { g.set(++calls); });
  REQUIRE(r.prometheus_text().find("mp_now 1\n") != std::string::npos);
  REQUIRE(r.prometheus_text().find("mp_now 2\n") != std::string::npos);
}

TEST_CASE("registry: JSON carries percentiles in milliseconds", "[metrics]") {
  Registry r;
  auto& h = r.histogram("mp_t_seconds", "t").with({});
  for (int i = 1; i <= 100; ++i) {
    h.observe(std::chrono::milliseconds(i));
  }
  rapidjson::StringBuffer buf;
  mp::util::JsonWriter w(buf);
  r.write_json(w);
  auto doc = mp::util::parse_json(std::string_view(buf.GetString(), buf.GetSize()));
  REQUIRE(doc);
  const auto& s = (*doc)["mp_t_seconds"]["series"][0];
  REQUIRE(s["count"].GetUint64() == 100);
  REQUIRE(s["p50_ms"].GetDouble() == Approx(50).epsilon(0.01));
  REQUIRE(s["p99_ms"].GetDouble() == Approx(99).epsilon(0.01));
  REQUIRE(s["max_ms"].GetDouble() == Approx(100).epsilon(0.001));
}

TEST_CASE("registry: fractional counters are counters", "[metrics]") {
  Registry r;
  auto& c = r.float_counter("mp_spent_dollars_total", "Spent").with({});
  c.add(0.25);
  c.add(0.5);
  c.add(-3); // counters never go down
  const auto text = r.prometheus_text();
  REQUIRE(text.find("# TYPE mp_spent_dollars_total counter\nmp_spent_dollars_total 0.75\n") !=
          std::string::npos);
}
