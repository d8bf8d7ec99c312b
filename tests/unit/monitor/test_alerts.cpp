#include "monitor/alerts.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using namespace mp::monitor;

namespace {

constexpr double k_t0 = 1'700'000'000; // a fake clock: every evaluation says what time it is

// The metrics an evaluation sees; a missing name is "no data".
struct Metrics {
  std::map<std::string, double, std::less<>> values;
  std::optional<double> operator()(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional(it->second);
  }
};

AlertRule rule(std::string metric, Condition c, double value) {
  AlertRule r;
  r.metric_name = std::move(metric);
  r.condition = c;
  r.value = value;
  r.description = "test rule";
  r.cooldown_seconds = 0;
  return r;
}

// Evaluates one rule's metric at `value` (nullopt: no data) at k_t0 + dt.
struct Harness {
  AlertEngine engine;
  explicit Harness(AlertRule r) : engine({std::move(r)}) {}
  std::vector<AlertEvent> at(double dt, std::optional<double> value) {
    Metrics m;
    if (value) {
      m.values[engine.rules()[0].metric_name] = *value;
    }
    return engine.evaluate(m, k_t0 + dt);
  }
  [[nodiscard]] std::optional<AlertState> state() const {
    auto a = engine.active();
    return a.empty() ? std::nullopt : std::optional(a[0].state);
  }
};

} // namespace

TEST_CASE("alerts: conditions, severities and no-data policies parse and print", "[alerts]") {
  for (std::string_view c : {">", "<", ">=", "<=", "==", "!="}) {
    auto parsed = parse_condition(c);
    REQUIRE(parsed);
    REQUIRE(condition_text(*parsed) == c);
  }
  REQUIRE_FALSE(parse_condition("=>"));
  REQUIRE_FALSE(parse_condition("gt"));
  REQUIRE(parse_severity("critical") == Severity::critical);
  REQUIRE(severity_name(Severity::info) == "info");
  REQUIRE_FALSE(parse_severity("fatal"));
  REQUIRE(parse_no_data("alert") == NoData::alert);
  REQUIRE(no_data_name(NoData::keep) == "keep");

  auto bad = parse_condition("=>", "monitoring.alerts[2].condition");
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().message == "monitoring.alerts[2].condition: expected one of > < >= <= == !=");
  REQUIRE(bad.error().field == "monitoring.alerts[2].condition");
  REQUIRE(bad.error().code == mp::Errc::config);
  REQUIRE(parse_severity("loud", "s").error().message == "s: expected one of info warning critical");
}

TEST_CASE("alerts: the seed's three rules are expressible and fire", "[alerts]") {
  AlertRule slow = rule("ai_response_time_ms", Condition::gt, 5000);
  slow.description = "Slow AI response time";
  AlertRule errors = rule("error_rate_percent", Condition::gt, 5);
  errors.severity = Severity::critical;
  errors.description = "High error rate";
  AlertRule ws = rule("active_websocket_connections", Condition::gt, 450);
  ws.description = "Approaching WebSocket limit";
  const std::vector<AlertRule> rules = {slow, errors, ws};
  REQUIRE(validate(rules));

  AlertEngine engine(rules);
  REQUIRE(engine.rules()[1].name == "error_rate_percent > 5");
  Metrics m{
      {{"ai_response_time_ms", 5200}, {"error_rate_percent", 2.5}, {"active_websocket_connections", 451}}};
  auto events = engine.evaluate(m, k_t0);
  REQUIRE(events.size() == 2);
  REQUIRE(events[0].rule == "ai_response_time_ms > 5000");
  REQUIRE(events[0].state == AlertState::firing);
  REQUIRE(events[0].severity == Severity::warning);
  REQUIRE(events[0].description == "Slow AI response time");
  REQUIRE(events[0].value == 5200);
  REQUIRE(events[0].ts == k_t0);
  REQUIRE(events[0].notify);
  REQUIRE(events[1].rule == "active_websocket_connections > 450");
  REQUIRE(engine.active().size() == 2);
}

TEST_CASE("alerts: validation names the field at fault", "[alerts]") {
  auto message = [](const AlertRule& r) { return validate(std::vector{r}).error().message; };
  AlertRule r = rule("m", Condition::gt, 10);
  REQUIRE(validate(r));

  AlertRule no_metric = r;
  no_metric.metric_name.clear();
  REQUIRE(message(no_metric) == "monitoring.alerts[0].metric_name: required");
  AlertRule bad_for = r;
  bad_for.for_seconds = -1;
  REQUIRE(message(bad_for) == "monitoring.alerts[0].for_seconds: must be a finite number >= 0");
  REQUIRE(validate(bad_for).error().field == "alert.for_seconds");
  AlertRule bad_value = r;
  bad_value.value = NAN;
  REQUIRE(message(bad_value) == "monitoring.alerts[0].value: must be a finite number");

  AlertRule wrong_side = r;
  wrong_side.clear_value = 12; // for ">", the clear value must be at or below the threshold
  REQUIRE(message(wrong_side).starts_with("monitoring.alerts[0].clear_value: must be <= value (10) for >"));
  wrong_side.condition = Condition::lt;
  REQUIRE(validate(wrong_side));
  wrong_side.clear_value = 8;
  REQUIRE(message(wrong_side).starts_with("monitoring.alerts[0].clear_value: must be >= value (10) for <"));
  AlertRule eq = rule("m", Condition::eq, 1);
  eq.clear_value = 1;
  REQUIRE(message(eq).starts_with("monitoring.alerts[0].clear_value: not used with == or !="));

  AlertRule critical = r;
  critical.severity = Severity::critical;
  critical.escalate_after_seconds = 60;
  REQUIRE(
      message(critical).starts_with("monitoring.alerts[0].escalate_after_seconds: only a warning escalates"));

  auto dup = validate(std::vector{r, rule("other", Condition::lt, 1), r});
  REQUIRE(dup.error().message == "monitoring.alerts[2].name: 'm > 10' is the name of an earlier rule");
}

TEST_CASE("alerts: each condition compares as written", "[alerts]") {
  struct Case {
    Condition c;
    bool below, equal, above; // fires for 9, 10, 11 against a threshold of 10
  };
  const Case cases[] = {
      {Condition::gt, false, false, true}, {Condition::lt, true, false, false},
      {Condition::ge, false, true, true},  {Condition::le, true, true, false},
      {Condition::eq, false, true, false}, {Condition::ne, true, false, true},
  };
  for (const auto& c : cases) {
    INFO("condition " << condition_text(c.c));
    const std::pair<double, bool> checks[] = {{9, c.below}, {10, c.equal}, {11, c.above}};
    for (auto [v, fires] : checks) {
      Harness h(rule("m", c.c, 10));
      auto events = h.at(0, v);
      REQUIRE(events.size() == (fires ? 1u : 0u));
      if (fires) {
        REQUIRE(events[0].state == AlertState::firing);
      }
    }
  }
}

TEST_CASE("alerts: a breach is pending, then firing after for_seconds", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.for_seconds = 60;
  Harness h(r);
  auto e = h.at(0, 150);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::pending);
  REQUIRE_FALSE(e[0].notify); // pending is history, never a notification
  REQUIRE(h.state() == AlertState::pending);
  REQUIRE(h.engine.active()[0].since == k_t0);
  REQUIRE(h.at(30, 160).empty());
  REQUIRE(h.at(59, 170).empty());
  e = h.at(60, 180);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE(e[0].notify);
  REQUIRE(e[0].value == 180);
  const auto active = h.engine.active();
  REQUIRE(active[0].state == AlertState::firing);
  REQUIRE(active[0].since == k_t0 + 60);
  REQUIRE(active[0].last_notified == k_t0 + 60);
  REQUIRE(h.at(90, 190).empty()); // still firing: nothing new to say
}

TEST_CASE("alerts: a pending alert whose breach ends goes back to inactive unnotified", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.for_seconds = 60;
  Harness h(r);
  REQUIRE(h.at(0, 150).size() == 1);
  auto e = h.at(30, 90);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::inactive);
  REQUIRE_FALSE(e[0].notify);
  REQUIRE_FALSE(h.state());
  // A new breach starts the clock again: 60 s from t=40, not from t=0.
  REQUIRE(h.at(40, 150)[0].state == AlertState::pending);
  REQUIRE(h.at(60, 150).empty());
  REQUIRE(h.at(99, 150).empty());
  REQUIRE(h.at(100, 150)[0].state == AlertState::firing);
}

TEST_CASE("alerts: cooldown records repeats without sending them, then sends a lasting one", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.cooldown_seconds = 300;
  Harness h(r);
  auto e = h.at(0, 150);
  REQUIRE((e[0].state == AlertState::firing && e[0].notify));
  e = h.at(10, 50);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[0].notify); // the firing was sent, so its resolve is too; cooldown now runs to t=310
  e = h.at(20, 150);
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE_FALSE(e[0].notify); // a re-fire inside the cooldown is recorded, not sent
  e = h.at(30, 50);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE_FALSE(e[0].notify); // nobody was told it fired
  e = h.at(40, 150);
  REQUIRE_FALSE(e[0].notify);
  REQUIRE(h.at(309, 150).empty());
  e = h.at(310, 150); // cooldown over and still firing: now it is sent
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE(e[0].notify);
  REQUIRE(h.at(320, 150).empty());
  e = h.at(330, 50);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[0].notify);
}

TEST_CASE("alerts: hysteresis keeps an alert firing between the clear value and the threshold", "[alerts]") {
  AlertRule r = rule("ai_response_time_ms", Condition::gt, 5000);
  r.clear_value = 4000;
  Harness h(r);
  REQUIRE(h.at(0, 5100)[0].state == AlertState::firing);
  double dt = 0;
  for (double v : {4900.0, 5100.0, 4100.0, 5001.0, 4000.5}) { // hovering around the threshold
    REQUIRE(h.at(dt += 10, v).empty());
  }
  REQUIRE(h.state() == AlertState::firing);
  REQUIRE(h.engine.active()[0].value == 4000.5);
  auto e = h.at(dt += 10, 4000);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[0].value == 4000);
  // Below the threshold again, so 4900 does not fire a resolved alert.
  REQUIRE(h.at(dt += 10, 4900).empty());

  // The same hovering without a clear value flaps on every crossing.
  Harness flappy(rule("ai_response_time_ms", Condition::gt, 5000));
  std::size_t events = 0;
  dt = 0;
  for (double v : {5100.0, 4900.0, 5100.0, 4100.0, 5001.0, 4000.5}) {
    events += flappy.at(dt += 10, v).size();
  }
  REQUIRE(events == 6);

  // For "<" the clear value is above the threshold.
  AlertRule low = rule("cache_hit_rate_percent", Condition::lt, 80);
  low.clear_value = 85;
  Harness l(low);
  REQUIRE(l.at(0, 79)[0].state == AlertState::firing);
  REQUIRE(l.at(10, 84).empty());
  REQUIRE(l.at(20, 85)[0].state == AlertState::resolved);
}

TEST_CASE("alerts: a warning firing past escalate_after_seconds becomes critical", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.escalate_after_seconds = 600;
  r.cooldown_seconds = 3600; // escalation is sent even inside the cooldown
  Harness h(r);
  auto e = h.at(0, 150);
  REQUIRE(e[0].severity == Severity::warning);
  REQUIRE(h.at(599, 150).empty());
  e = h.at(600, 150);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE(e[0].severity == Severity::critical);
  REQUIRE(e[0].notify);
  REQUIRE(h.engine.active()[0].severity == Severity::critical);
  REQUIRE(h.at(1200, 150).empty()); // escalates once
  e = h.at(1210, 50);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[0].severity == Severity::critical);
  REQUIRE(e[0].notify);
  // The next incident starts as a warning again (and within the cooldown, unsent).
  e = h.at(1220, 150);
  REQUIRE(e[0].severity == Severity::warning);
  REQUIRE_FALSE(e[0].notify);
}

TEST_CASE("alerts: no data with policy keep changes nothing", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.for_seconds = 60;
  r.escalate_after_seconds = 300;
  Harness h(r);
  h.at(0, 150);
  REQUIRE(h.at(30, std::nullopt).empty());
  REQUIRE(h.at(70, std::nullopt).empty()); // a pending alert needs a breach to fire
  REQUIRE(h.state() == AlertState::pending);
  REQUIRE(h.at(80, 150)[0].state == AlertState::firing);
  REQUIRE(h.at(100, NAN).empty()); // NaN is no data too
  REQUIRE(h.state() == AlertState::firing);
  auto e = h.at(380, std::nullopt); // time still passes for escalation
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].severity == Severity::critical);
  REQUIRE(h.engine.active()[0].value == 150); // the last value seen
}

TEST_CASE("alerts: no data with policy resolve clears pending and firing alerts", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.no_data = NoData::resolve;
  Harness h(r);
  h.at(0, 150);
  auto e = h.at(10, std::nullopt);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(std::isnan(e[0].value));
  REQUIRE(e[0].notify);
  REQUIRE(h.at(20, std::nullopt).empty());

  r.for_seconds = 60;
  Harness p(r);
  p.at(0, 150);
  e = p.at(10, std::nullopt);
  REQUIRE(e[0].state == AlertState::inactive);
  REQUIRE_FALSE(p.state());
}

TEST_CASE("alerts: no data with policy alert fires with value NaN", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.no_data = NoData::alert;
  Harness h(r);
  auto e = h.at(0, std::nullopt);
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE(std::isnan(e[0].value));
  REQUIRE(e[0].notify);
  REQUIRE(h.at(10, 150).empty());          // a breaching value keeps it firing
  REQUIRE(h.at(20, std::nullopt).empty()); // and so does no data
  REQUIRE(h.at(30, 50)[0].state == AlertState::resolved);

  r.for_seconds = 60; // the pending period applies to missing data as well
  Harness p(r);
  REQUIRE(p.at(0, std::nullopt)[0].state == AlertState::pending);
  REQUIRE(p.at(30, std::nullopt).empty());
  REQUIRE(p.at(60, std::nullopt)[0].state == AlertState::firing);
}

TEST_CASE("alerts: rules are independent and events come in rule order", "[alerts]") {
  AlertRule a = rule("a", Condition::gt, 1);
  AlertRule b = rule("b", Condition::gt, 1);
  b.for_seconds = 10;
  AlertEngine engine({a, b});
  Metrics m{{{"a", 2}, {"b", 2}}};
  auto e = engine.evaluate(m, k_t0);
  REQUIRE(e.size() == 2);
  REQUIRE(e[0].rule == "a > 1");
  REQUIRE(e[0].state == AlertState::firing);
  REQUIRE(e[1].rule == "b > 1");
  REQUIRE(e[1].state == AlertState::pending);
  m.values["a"] = 0;
  e = engine.evaluate(m, k_t0 + 10);
  REQUIRE(e.size() == 2);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[1].state == AlertState::firing);
}

TEST_CASE("alerts: restore picks up saved states after a restart", "[alerts]") {
  AlertRule r = rule("m", Condition::gt, 100);
  r.cooldown_seconds = 300;
  r.escalate_after_seconds = 600;
  Harness before(r);
  before.at(0, 150);
  const auto saved = before.engine.active();

  Harness after(r);
  after.engine.restore(saved);
  REQUIRE(after.state() == AlertState::firing);
  REQUIRE(after.at(10, 150).empty()); // already sent: no second notification
  REQUIRE(after.at(600, 150)[0].severity == Severity::critical);
  auto e = after.at(610, 50);
  REQUIRE(e[0].state == AlertState::resolved);
  REQUIRE(e[0].notify);
}

TEST_CASE("alerts: events and active alerts as JSON", "[alerts]") {
  AlertEvent e{"m > 1", AlertState::firing, Severity::critical, NAN, 1.5, "d \"q\"", true};
  rapidjson::StringBuffer buf;
  mp::util::JsonWriter w(buf);
  write_json(w, e);
  REQUIRE(std::string(buf.GetString()) ==
          R"({"rule":"m > 1","state":"firing","severity":"critical","value":null,"ts":1.5,)"
          R"("description":"d \"q\"","notify":true})");

  ActiveAlert a{"m > 1", AlertState::pending, Severity::warning, 3, 2, 0, "d"};
  rapidjson::StringBuffer buf2;
  mp::util::JsonWriter w2(buf2);
  write_json(w2, a);
  REQUIRE(std::string(buf2.GetString()) ==
          R"({"rule":"m > 1","state":"pending","severity":"warning","value":3.0,)"
          R"("since":2.0,"last_notified":null,"description":"d"})");
}
