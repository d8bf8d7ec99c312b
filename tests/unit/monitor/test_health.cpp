#include "monitor/health.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace mp::monitor;

namespace {

constexpr double k_now = 1'700'000'000;

SlaWindowSample good_sample(double ts) {
  SlaWindowSample s;
  s.ts = ts;
  s.p50_ms = 200;
  s.p95_ms = 900;
  s.p99_ms = 1500;
  s.urgent_p99_ms = 1000;
  s.cache_hit_rate_percent = 95;
  s.requests = 1000;
  s.errors = 2;
  return s;
}

// Six hours of one-minute samples ending at k_now, 1000 requests each; `errors_at(age)`
// gives each sample's errors from its age in seconds.
template <class F> std::vector<SlaWindowSample> six_hours(F errors_at) {
  std::vector<SlaWindowSample> out;
  for (int k = 359; k >= 0; --k) {
    SlaWindowSample s;
    s.ts = k_now - 60.0 * k;
    s.requests = 1000;
    s.errors = errors_at(60.0 * k);
    out.push_back(s);
  }
  return out;
}

const BurnWindow& window(const BurnRateReport& r, double seconds) {
  for (const auto& w : r.windows) {
    if (w.seconds == seconds) {
      return w;
    }
  }
  FAIL("no window of " << seconds << " s");
  return r.windows.front();
}

} // namespace

TEST_CASE("sla: compliance per objective and overall", "[health]") {
  std::vector<SlaWindowSample> samples;
  for (int i = 0; i < 4; ++i) {
    samples.push_back(good_sample(k_now - 60.0 * (3 - i)));
  }
  samples[1].p95_ms = 1600;                     // misses p95
  samples[2].error_rate_percent = 3;            // misses the error rate
  samples[2].cache_hit_rate_percent = 90;       // exactly the target: met
  samples[3].urgent_p99_ms = NAN;               // no urgent request in that minute
  samples.push_back(good_sample(k_now - 3600)); // outside the window
  samples.back().p50_ms = 9999;

  const SlaCompliance c = sla_compliance(samples, SlaTargets{}, k_now - 600, k_now);
  REQUIRE(c.samples == 4);
  REQUIRE(c.objectives.size() == 6);
  auto objective = [&](std::string_view name) -> const ObjectiveCompliance& {
    for (const auto& o : c.objectives) {
      if (o.objective == name) {
        return o;
      }
    }
    FAIL(name);
    return c.objectives.front();
  };
  REQUIRE(objective("p50_ms").compliance_percent == 100.0);
  REQUIRE(objective("p95_ms").compliance_percent == 75.0);
  REQUIRE(objective("p95_ms").worst == 1600);
  REQUIRE(objective("p95_ms").comparison == "<=");
  REQUIRE(objective("urgent_ms").observed == 3);
  REQUIRE(objective("urgent_ms").compliance_percent == 100.0);
  REQUIRE(objective("error_rate_percent").compliance_percent == 75.0);
  REQUIRE(objective("error_rate_percent").worst == 3);
  REQUIRE(objective("cache_hit_rate_percent").compliance_percent == 100.0);
  REQUIRE(objective("cache_hit_rate_percent").comparison == ">=");
  REQUIRE(objective("cache_hit_rate_percent").worst == 90);
  REQUIRE(c.overall_percent == 50.0); // two samples met everything they observed
  REQUIRE(c.requests == 4000);
  REQUIRE(c.errors == 8);
  REQUIRE(c.error_ratio == Approx(0.002));
  REQUIRE(c.error_budget_remaining == Approx(0.8)); // 0.2% of a 1% budget used

  const SlaCompliance empty = sla_compliance({}, SlaTargets{}, 0, k_now);
  REQUIRE_FALSE(empty.overall_percent);
  REQUIRE_FALSE(empty.objectives[0].compliance_percent);
  REQUIRE(empty.error_budget_remaining == 1.0);
}

TEST_CASE("sla: a sample's error rate comes from its counts when not given", "[health]") {
  SlaWindowSample s;
  s.ts = k_now;
  s.requests = 100;
  s.errors = 5; // 5%
  const auto c = sla_compliance(std::vector{s}, SlaTargets{}, k_now - 60, k_now);
  REQUIRE(c.objectives[4].objective == "error_rate_percent");
  REQUIRE(c.objectives[4].compliance_percent == 0.0);
  REQUIRE(c.objectives[0].observed == 0); // no latency given: not judged
  REQUIRE(c.overall_percent == 0.0);
  REQUIRE(c.error_budget_remaining == 0.0); // 5x the budget: clamped at 0

  rapidjson::StringBuffer buf;
  mp::util::JsonWriter w(buf);
  write_json(w, c);
  auto doc = mp::util::parse_json(buf.GetString());
  REQUIRE(doc);
  REQUIRE((*doc)["objectives"]["p50_ms"]["compliance_percent"].IsNull());
  REQUIRE((*doc)["objectives"]["error_rate_percent"]["compliance_percent"].GetDouble() == 0.0);
  REQUIRE((*doc)["error_budget_remaining"].GetDouble() == 0.0);
}

TEST_CASE("burn rate: a fast burn pages but does not open a ticket", "[health]") {
  // 20% errors in the last hour (burn 20), none before: the 6 h burn is only 20 / 6.
  const auto samples = six_hours([](double age) { return age < 3600 ? 200u : 0u; });
  const auto r = burn_rates(samples, k_now);
  REQUIRE(r.windows.size() == 4);
  REQUIRE(r.windows[0].seconds == 300);
  REQUIRE(r.windows[3].seconds == 21600);
  REQUIRE(window(r, 300).requests == 5000);
  REQUIRE(window(r, 300).burn_rate == Approx(20));
  REQUIRE(window(r, 3600).requests == 60000);
  REQUIRE(window(r, 3600).burn_rate == Approx(20));
  REQUIRE(window(r, 1800).burn_rate == Approx(20));
  REQUIRE(window(r, 21600).burn_rate == Approx(20.0 / 6));
  REQUIRE(r.alerts[0].policy.name == "page");
  REQUIRE(r.alerts[0].active);
  REQUIRE(r.alerts[1].policy.name == "ticket");
  REQUIRE_FALSE(r.alerts[1].active);
  REQUIRE(r.alerts[1].long_burn_rate == Approx(20.0 / 6));
}

TEST_CASE("burn rate: a slow burn opens a ticket but does not page", "[health]") {
  // 8% errors for six hours: burn 8 in every window, over 6 but under 14.4.
  const auto samples = six_hours([](double) { return 80u; });
  const auto r = burn_rates(samples, k_now);
  for (const auto& w : r.windows) {
    REQUIRE(w.burn_rate == Approx(8));
  }
  REQUIRE_FALSE(r.alerts[0].active);
  REQUIRE(r.alerts[1].active);
}

TEST_CASE("burn rate: the short window stops the page once errors stop", "[health]") {
  // 30% errors from 60 to 10 minutes ago, then clean: the hour still burns, 5 min does not.
  const auto samples = six_hours([](double age) { return age >= 600 && age < 3600 ? 300u : 0u; });
  const auto r = burn_rates(samples, k_now);
  REQUIRE(window(r, 3600).burn_rate >= 14.4);
  REQUIRE(window(r, 300).burn_rate == 0);
  REQUIRE_FALSE(r.alerts[0].active);
  REQUIRE(burn_rates({}, k_now).windows[0].burn_rate == 0); // no traffic, no burn

  rapidjson::StringBuffer buf;
  mp::util::JsonWriter w(buf);
  write_json(w, r);
  auto doc = mp::util::parse_json(buf.GetString());
  REQUIRE(doc);
  REQUIRE((*doc)["slo_percent"].GetDouble() == Approx(99));
  REQUIRE((*doc)["alerts"][0]["name"] == "page");
  REQUIRE((*doc)["alerts"][0]["threshold"].GetDouble() == 14.4);
  REQUIRE((*doc)["alerts"][0]["active"].GetBool() == false);
}

TEST_CASE("apdex: counts from given numbers, buckets and the histogram", "[health]") {
  REQUIRE(apdex(ApdexCounts{170, 20, 10}) == Approx(0.9)); // New Relic's worked example
  REQUIRE(apdex(ApdexCounts{}) == 1.0);

  // Buckets (le): 100, 500, 1000, 2000, 5000, +inf ms; T = 500.
  const std::vector<LatencyBucket> buckets = {{100, 50}, {500, 30}, {1000, 10},
                                              {2000, 6}, {5000, 3}, {INFINITY, 1}};
  auto c = apdex_counts(buckets, 500);
  REQUIRE(c.satisfied == 80);
  REQUIRE(c.tolerating == 16); // up to 4T = 2000
  REQUIRE(c.frustrated == 4);
  // T = 750 falls inside (500, 1000]: half that bucket is satisfied; 4T = 3000 is a
  // third of the way into (2000, 5000].
  c = apdex_counts(buckets, 750);
  REQUIRE(c.satisfied == Approx(85));
  REQUIRE(c.tolerating == Approx(5 + 6 + 1));
  REQUIRE(c.frustrated == Approx(3));

  mp::util::Histogram h;
  h.record_ns(100'000'000, 7);   // 100 ms
  h.record_ns(1'000'000'000, 2); // 1 s
  h.record_ns(3'000'000'000, 1); // 3 s
  c = apdex_counts(h, 500);
  REQUIRE(c.satisfied == 7);
  REQUIRE(c.tolerating == 2);
  REQUIRE(c.frustrated == 1);
  REQUIRE(apdex(c) == Approx(0.8));
}

TEST_CASE("health: the score adds its weighted components and subtracts the alert penalty", "[health]") {
  HealthInputs in;
  in.latency = {170, 20, 10}; // apdex 0.9
  in.error_budget_remaining = 0.5;
  in.cpu_percent = 40;
  in.memory_percent = 60; // headroom 0.4
  in.alerts = {0, 1, 1};  // one warning, one info: 12 points
  const auto h = health_score(in);
  REQUIRE(h.apdex == Approx(0.9));
  REQUIRE(h.apdex_points == Approx(36));
  REQUIRE(h.budget_points == Approx(15));
  REQUIRE(h.headroom == Approx(0.4));
  REQUIRE(h.headroom_points == Approx(12));
  REQUIRE(h.alert_penalty == 12);
  REQUIRE(h.score == Approx(51));
  REQUIRE(h.status == "degraded");

  const auto doc = mp::util::parse_json(to_json(h));
  REQUIRE(doc);
  const auto& comp = (*doc)["components"];
  REQUIRE((*doc)["score"].GetDouble() == Approx(51));
  REQUIRE((*doc)["status"] == "degraded");
  REQUIRE(std::string((*doc)["formula"].GetString()).find("0.4 * apdex") != std::string::npos);
  REQUIRE(comp["apdex"]["value"].GetDouble() == Approx(0.9));
  REQUIRE(comp["apdex"]["t_ms"].GetDouble() == 500);
  REQUIRE(comp["apdex"]["satisfied"].GetDouble() == 170);
  REQUIRE(comp["error_budget"]["points"].GetDouble() == Approx(15));
  REQUIRE(comp["headroom"]["memory_percent"].GetDouble() == 60);
  REQUIRE(comp["alerts"]["warning"].GetUint() == 1);
  REQUIRE(comp["alerts"]["penalty"].GetDouble() == 12);
}

TEST_CASE("health: perfect is 100, the penalty is capped and the score clamped", "[health]") {
  HealthInputs ideal;
  ideal.cpu_percent = 0;
  ideal.memory_percent = 0;
  const auto top = health_score(ideal);
  REQUIRE(top.score == Approx(100));
  REQUIRE(top.status == "healthy");

  HealthInputs burning = ideal;
  burning.alerts = {3, 2, 0}; // 95 points of penalty, capped at 50
  const auto capped = health_score(burning);
  REQUIRE(capped.alert_penalty == 50);
  REQUIRE(capped.score == Approx(50));

  HealthInputs worst;
  worst.latency = {0, 0, 100};
  worst.error_budget_remaining = -3; // overspent: clamped to 0
  worst.cpu_percent = 250;           // over 100 (several cores): no headroom, not negative
  worst.alerts = {1, 0, 0};
  const auto bottom = health_score(worst);
  REQUIRE(bottom.error_budget_remaining == 0);
  REQUIRE(bottom.headroom == 0);
  REQUIRE(bottom.score == 0);
  REQUIRE(bottom.status == "unhealthy");

  HealthInputs unknown; // no resource numbers: full headroom, shown as null
  const auto doc = mp::util::parse_json(to_json(health_score(unknown)));
  REQUIRE((*doc)["components"]["headroom"]["cpu_percent"].IsNull());
  REQUIRE((*doc)["components"]["headroom"]["value"].GetDouble() == 1);

  HealthConfig strict;
  strict.apdex_t_ms = 100;
  strict.critical_penalty = 60;
  strict.max_penalty = 100;
  REQUIRE(health_score(worst, strict).alert_penalty == 60);
  REQUIRE(health_score(worst, strict).apdex_t_ms == 100);

  ActiveAlert firing{"a", AlertState::firing, Severity::critical, 1, 0, 0, ""};
  ActiveAlert pending{"b", AlertState::pending, Severity::warning, 1, 0, 0, ""};
  const auto counts = count_firing({firing, pending});
  REQUIRE(counts.critical == 1);
  REQUIRE(counts.warning == 0);
}

TEST_CASE("scaling: the HPA formula, its tolerance and its bounds", "[health]") {
  ScalingInputs in;
  in.current_instances = 50;
  in.cpu_percent = 90;
  in.target_cpu_percent = 75;
  in.max_instances = 100;
  in.queue_depth = 0;
  ScalingAdvisor advisor;
  auto recs = advisor.recommend(in, k_now);
  REQUIRE(recs.size() == 2);
  const auto& inst = recs[1];
  REQUIRE(inst.resource == "instances");
  REQUIRE(inst.desired == 60); // Kubernetes' worked example: 50 pods at 90% vs 75%
  REQUIRE(inst.action == "scale_up");
  REQUIRE(inst.metric == "cpu_percent");
  REQUIRE(inst.ratio == Approx(1.2));
  REQUIRE(inst.reason.starts_with("cpu 90.0% vs target 75% on 50 instances: 60 instances"));

  in.current_instances = 4;
  in.target_cpu_percent = 70;
  in.cpu_percent = 77; // ratio 1.1: inside the tolerance
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[1].desired == 4);
  REQUIRE(recs[1].action == "none");
  REQUIRE(recs[1].reason.find("within 0.1") != std::string::npos);
  in.cpu_percent = 78; // ratio 1.114: outside it, ceil(4 * 1.114) = 5
  REQUIRE(ScalingAdvisor{}.recommend(in, k_now)[1].desired == 5);

  in.cpu_percent = 100;
  in.current_instances = 9;
  in.max_instances = 10; // ceil(9 * 100 / 70) = 13, capped
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[1].desired == 10);
  REQUIRE(recs[1].proposed == 10);
  REQUIRE(recs[1].reason.find("capped at max 10") != std::string::npos);

  in.cpu_percent = NAN; // no CPU figure: only the queue rule, which says 0 -> min 2
  in.min_instances = 2;
  in.current_instances = 2;
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[1].metric == "queue_depth");
  REQUIRE(recs[1].desired == 2);

  in.queue_depth = NAN; // a broken input never becomes a count: the bounds hold
  in.current_workers = 5;
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[0].desired == 1);
  REQUIRE(recs[1].desired == 2);
}

TEST_CASE("scaling: the queue-depth rule for workers and instances", "[health]") {
  ScalingInputs in;
  in.current_workers = 4;
  in.queue_depth = 1200;
  in.target_queue_per_worker = 100;
  in.max_workers = 16;
  in.current_instances = 1;
  auto recs = ScalingAdvisor{}.recommend(in, k_now);
  const auto& workers = recs[0];
  REQUIRE(workers.resource == "workers");
  REQUIRE(workers.desired == 12);
  REQUIRE(workers.reason == "queue depth 1200 at 100 per worker: 12 workers");
  REQUIRE(workers.value == 1200);
  REQUIRE(workers.target == 100);
  REQUIRE(workers.ratio == Approx(3));
  REQUIRE(recs[1].desired == 1); // an instance takes 16 * 100 = 1600

  in.queue_depth = 4000; // over what one instance's workers can hold at target
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[0].desired == 16);
  REQUIRE(recs[0].reason.find("capped at max 16") != std::string::npos);
  REQUIRE(recs[1].desired == 3);
  REQUIRE(recs[1].reason == "queue depth 4000 at 1600 per instance: 3 instances");

  in.target_queue_per_instance = 500;
  in.cpu_percent = 70; // at target: the queue rule decides, both are explained
  recs = ScalingAdvisor{}.recommend(in, k_now);
  REQUIRE(recs[1].desired == 8);
  REQUIRE(recs[1].metric == "queue_depth");
  REQUIRE(recs[1].reason.find("cpu 70.0% vs target 70%") != std::string::npos);

  const auto doc = mp::util::parse_json(to_json(recs));
  REQUIRE(doc);
  REQUIRE(doc->IsArray());
  REQUIRE((*doc)[1]["resource"] == "instances");
  REQUIRE((*doc)[1]["desired"].GetInt() == 8);
  REQUIRE((*doc)[1]["value"].GetDouble() == 4000);
  REQUIRE((*doc)[1]["target"].GetDouble() == 500);
}

TEST_CASE("scaling: scale-up is immediate, scale-down waits out the stabilisation window", "[health]") {
  ScalingAdvisor advisor; // 300 s window
  ScalingInputs in;
  in.current_workers = 2;
  in.queue_depth = 1200;
  auto recs = advisor.recommend(in, k_now);
  REQUIRE(recs[0].desired == 12);
  REQUIRE(recs[0].action == "scale_up");

  in.current_workers = 12;
  in.queue_depth = 200; // wants 2 now, but 12 was recommended within the window
  for (double dt : {15.0, 100.0, 299.0}) {
    recs = advisor.recommend(in, k_now + dt);
    REQUIRE(recs[0].proposed == 2);
    REQUIRE(recs[0].desired == 12);
    REQUIRE(recs[0].action == "none");
    REQUIRE(recs[0].reason.find("held at 12 by the 300 s stabilisation window") != std::string::npos);
  }
  recs = advisor.recommend(in, k_now + 300);
  REQUIRE(recs[0].desired == 2);
  REQUIRE(recs[0].action == "scale_down");

  // A spike inside the window is the new high-water mark; a dip only follows it later.
  in.current_workers = 2;
  in.queue_depth = 800;
  REQUIRE(advisor.recommend(in, k_now + 400)[0].desired == 8);
  in.current_workers = 8;
  in.queue_depth = 400;
  REQUIRE(advisor.recommend(in, k_now + 500)[0].desired == 8);
  REQUIRE(advisor.recommend(in, k_now + 700)[0].desired == 4);

  // The window never raises above the current count by itself.
  in.current_workers = 3;
  in.queue_depth = 100;
  REQUIRE(advisor.recommend(in, k_now + 710)[0].desired == 3);
}
