#include "bench/engine.hpp"
#include "bench/plan.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

using namespace mp::bench;

namespace {
ShapeKnobs knobs(double rate, double duration, double warmup) {
  ShapeKnobs k;
  k.rate = rate;
  k.duration_s = duration;
  k.warmup_s = warmup;
  return k;
}
} // namespace

TEST_CASE("a constant stage schedules its arrivals evenly, without drift", "[bench]") {
  const Plan p = default_plan(TestType::load, knobs(1000, 600, 0));
  REQUIRE(p.stages.size() == 1);
  CHECK(p.arrival_time(0) == Approx(0));
  CHECK(p.arrival_time(1) == Approx(0.001));
  CHECK(p.arrival_time(599'999) == Approx(599.999));
  CHECK(std::isinf(p.arrival_time(600'000)));
  CHECK(p.arrivals_until(300) == Approx(300'000));
}

TEST_CASE("a ramp's arrivals follow the integral of its rate", "[bench]") {
  Plan p;
  p.stages.push_back(Stage{10, 0, 100, 0, 0, false, false}); // 0 -> 100 req/s over 10 s: 500 arrivals
  CHECK(p.arrivals_until(10) == Approx(500));
  CHECK(p.arrivals_until(5) == Approx(125));
  CHECK(p.arrival_time(125) == Approx(5));
  CHECK(p.arrival_time(499.999) == Approx(10).epsilon(1e-3));
  CHECK(p.level_at(2.5) == Approx(25));
}

TEST_CASE("the default shapes: warm-up first, then the documented stages", "[bench]") {
  const Plan load = default_plan(TestType::load, knobs(100, 30, -1));
  REQUIRE(load.stages.size() == 2);
  CHECK(load.stages[0].warmup);
  CHECK(load.stages[0].duration_s == Approx(3)); // 10% of 30 s
  CHECK(load.stages[1].rate == Approx(100));
  CHECK(load.duration_s() == Approx(33));

  const Plan stress = default_plan(TestType::stress, knobs(100, 40, 0));
  REQUIRE(stress.stages.size() == 4);
  CHECK(stress.stages[3].rate == Approx(300));

  const Plan spike = default_plan(TestType::spike, knobs(100, 10, 0));
  REQUIRE(spike.stages.size() == 3);
  CHECK(spike.stages[1].rate == Approx(500));
  CHECK(spike.stages[1].duration_s == Approx(2));

  ShapeKnobs k = knobs(50, 0, 0);
  k.step_s = 5;
  k.max_steps = 4;
  const Plan scal = default_plan(TestType::scalability, k);
  REQUIRE(scal.stages.size() == 4);
  CHECK(scal.stages[3].rate == Approx(200));
  CHECK(scal.stages[3].step);
}

TEST_CASE("cuts fall on every interval tick and every stage end", "[bench]") {
  Plan p;
  p.stages.push_back(Stage{1.5, 10, 10, 0, 0, true, false});
  p.stages.push_back(Stage{2, 10, 10, 0, 0, false, false});
  const auto cuts = plan_cuts(p, 1);
  REQUIRE(cuts.size() == 5);
  CHECK(cuts[0] == Approx(1));
  CHECK(cuts[1] == Approx(1.5));
  CHECK(cuts[2] == Approx(2));
  CHECK(cuts[3] == Approx(3));
  CHECK(cuts[4] == Approx(3.5));
}

TEST_CASE("durations take units and name the flag when they are wrong", "[bench]") {
  CHECK(*parse_duration("250ms", "--d") == Approx(0.25));
  CHECK(*parse_duration("5m", "--d") == Approx(300));
  CHECK(*parse_duration("2", "--d") == Approx(2));
  CHECK(*parse_duration("1h", "--d") == Approx(3600));
  auto bad = parse_duration("5x", "--duration");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "--duration");
  CHECK_FALSE(parse_duration("", "--d"));
  CHECK_FALSE(parse_duration("-1s", "--d"));
}

TEST_CASE("a TOML profile gives stages, a warm-up and thresholds; bad keys are named", "[bench]") {
  const std::string path = "mp_bench_profile_test.toml";
  {
    std::ofstream f(path);
    f << "thresholds = [\"p99<500ms\"]\nwarmup = \"2s\"\n"
         "[[stages]]\nduration = \"10s\"\nrate = 100\n"
         "[[stages]]\nduration = 5\nrate = 100\nend_rate = 300\n";
  }
  auto prof = load_profile(path, Model::open);
  REQUIRE(prof);
  REQUIRE(prof->plan.stages.size() == 3);
  CHECK(prof->plan.stages[0].warmup);
  CHECK(prof->plan.stages[0].duration_s == Approx(2));
  CHECK(prof->plan.stages[2].end_rate == Approx(300));
  CHECK(prof->thresholds == std::vector<std::string>{"p99<500ms"});
  {
    std::ofstream f(path);
    f << "[[stages]]\nduration = \"10s\"\nrat = 100\n";
  }
  auto bad = load_profile(path, Model::open);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("rat") != std::string::npos);
  std::remove(path.c_str());
}
