#include "monitor/report.hpp"
#include "util/json.hpp"

#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <map>

namespace mp::monitor {

namespace {

/// The unlabelled series' points; empty when the metric was never stored.
std::vector<Point> points(const Store& store, const char* metric, double from, double to, double step,
                          Agg agg) {
  Query q;
  q.metric = metric;
  q.labels = std::string();
  q.since = from;
  q.until = to;
  q.step = step;
  q.agg = agg;
  auto r = store.query(q);
  if (!r || r->empty()) {
    return {};
  }
  return std::move(r->front().points);
}

/// One figure over the whole window (NaN when there is no data).
double over_window(const Store& store, const char* metric, const ReportInputs& in, Agg agg) {
  const double from = in.now - in.hours * 3600;
  const auto p = points(store, metric, from, in.now, in.hours * 3600, agg);
  if (p.empty()) {
    return NAN;
  }
  if (agg == Agg::sum || agg == Agg::count) {
    double total = 0;
    for (const auto& x : p) {
      total += x.value;
    }
    return total;
  }
  return p.back().value; // the window may straddle two aligned buckets: the later is the larger
}

double last_value(const Store& store, const char* metric, const ReportInputs& in) {
  const auto p = points(store, metric, in.now - std::min(in.hours, 1.0) * 3600, in.now, 0, Agg::last);
  return p.empty() ? NAN : p.back().value;
}

void number(util::JsonWriter& w, std::string_view key, double v) {
  util::write_key(w, key);
  if (std::isfinite(v)) {
    w.Double(v);
  } else {
    w.Null();
  }
}

std::vector<SlaWindowSample> sla_samples(const Store& store, double from, double to, double step) {
  std::map<double, SlaWindowSample> by_ts;
  auto fill = [&](const char* metric, Agg agg, auto setter) {
    for (const auto& p : points(store, metric, from, to, step, agg)) {
      auto& s = by_ts[p.ts];
      s.ts = std::min(p.ts + step, to); // the current bucket counts now, not when it closes
      setter(s, p.value);
    }
  };
  fill(names::response_p50, Agg::avg, [](SlaWindowSample& s, double v) { s.p50_ms = v; });
  fill(names::response_p95, Agg::max, [](SlaWindowSample& s, double v) { s.p95_ms = v; });
  fill(names::response_p99, Agg::max, [](SlaWindowSample& s, double v) { s.p99_ms = v; });
  fill(names::urgent_p99, Agg::max, [](SlaWindowSample& s, double v) { s.urgent_p99_ms = v; });
  fill(names::cache_hit_rate, Agg::avg, [](SlaWindowSample& s, double v) { s.cache_hit_rate_percent = v; });
  fill(names::requests, Agg::sum,
       [](SlaWindowSample& s, double v) { s.requests = static_cast<std::uint64_t>(std::llround(v)); });
  fill(names::errors, Agg::sum,
       [](SlaWindowSample& s, double v) { s.errors = static_cast<std::uint64_t>(std::llround(v)); });
  std::vector<SlaWindowSample> out;
  for (auto& [ts, s] : by_ts) {
    if (s.requests > 0) {
      s.error_rate_percent = 100.0 * static_cast<double>(s.errors) / static_cast<double>(s.requests);
    }
    out.push_back(s);
  }
  return out;
}

} // namespace

BurnRateReport burn_rates_from(const Store& store, double now, double error_budget) {
  return burn_rates(sla_samples(store, now - 6 * 3600, now, 60), now, error_budget);
}

Expected<std::string> build_report(const Store& store, const ReportInputs& in, bool pretty) {
  const double from = in.now - in.hours * 3600;
  const double step = std::max(60.0, std::ceil(in.hours * 3600 / 300 / 60) * 60);
  const auto samples = sla_samples(store, from, in.now, step);
  const SlaCompliance sla = sla_compliance(samples, in.sla, from, in.now);
  const BurnRateReport burn = burn_rates_from(store, in.now, in.sla.error_rate_percent / 100.0);

  std::vector<ActiveAlert> active;
  if (in.active) {
    active = *in.active;
  } else if (auto records = store.alerts(0, true); records) {
    for (const auto& r : *records) {
      ActiveAlert a;
      a.rule = r.rule;
      a.state = r.state == "firing" ? AlertState::firing : AlertState::pending;
      a.severity = parse_severity(r.severity).value_or(Severity::warning);
      a.value = r.value;
      a.since = r.ts;
      a.description = r.description;
      active.push_back(std::move(a));
    }
  }
  const auto recent = store.alerts(from, false);

  HealthInputs hi;
  hi.latency.satisfied = std::max(0.0, over_window(store, names::satisfied, in, Agg::sum));
  hi.latency.tolerating = std::max(0.0, over_window(store, names::tolerating, in, Agg::sum));
  hi.latency.frustrated = std::max(0.0, over_window(store, names::frustrated, in, Agg::sum));
  for (double* v : {&hi.latency.satisfied, &hi.latency.tolerating, &hi.latency.frustrated}) {
    *v = std::isfinite(*v) ? *v : 0;
  }
  hi.error_budget_remaining = sla.error_budget_remaining;
  hi.alerts = count_firing(active);
  hi.cpu_percent = last_value(store, names::host_cpu, in);
  hi.memory_percent = last_value(store, names::host_memory, in);
  HealthConfig hc;
  hc.apdex_t_ms = in.apdex_t_ms;
  const HealthScore health = health_score(hi, hc);

  ScalingInputs si;
  const double workers = last_value(store, names::workers, in);
  si.current_workers = std::isfinite(workers) ? std::max(1, static_cast<int>(workers)) : 1;
  si.cpu_percent = hi.cpu_percent;
  const double depth = last_value(store, names::queue_depth, in);
  si.queue_depth = std::isfinite(depth) ? depth : 0;
  ScalingAdvisor fresh;
  const auto scaling = (in.advisor ? in.advisor : &fresh)->recommend(si, in.now);

  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  number(w, "report_period_hours", in.hours);
  number(w, "generated_at", in.now);
  number(w, "system_health_score", health.score);
  util::write_key(w, "health");
  write_json(w, health);
  util::write_key(w, "sla_compliance");
  write_json(w, sla);
  util::write_key(w, "error_budget_burn");
  write_json(w, burn);
  util::write_key(w, "alerts");
  w.StartObject();
  util::write_key(w, "active");
  w.StartArray();
  for (const auto& a : active) {
    write_json(w, a);
  }
  w.EndArray();
  util::write_key(w, "records_in_period");
  w.Uint64(recent ? recent->size() : 0);
  w.EndObject();
  util::write_key(w, "scaling_recommendations");
  w.StartArray();
  for (const auto& r : scaling) {
    write_json(w, r);
  }
  w.EndArray();
  util::write_key(w, "performance_summary");
  w.StartObject();
  for (const char* metric :
       {names::response_mean, names::response_p99, names::error_rate, names::cache_hit_rate,
        names::per_minute, names::websockets, names::queue_depth, names::host_cpu}) {
    util::write_key(w, metric);
    w.StartObject();
    number(w, "avg", over_window(store, metric, in, Agg::avg));
    number(w, "p95", over_window(store, metric, in, Agg::p95));
    number(w, "p99", over_window(store, metric, in, Agg::p99));
    number(w, "max", over_window(store, metric, in, Agg::max));
    number(w, "last", last_value(store, metric, in));
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  std::string json(buf.GetString(), buf.GetSize());
  if (pretty) {
    if (auto doc = util::parse_json(json)) {
      return util::to_json(*doc, true);
    }
  }
  return json;
}

ReportVerdict verdict_of(const std::string& report_json) {
  ReportVerdict v;
  auto doc = util::parse_json(report_json);
  if (!doc || !doc->IsObject()) {
    return v;
  }
  if (auto s = util::get_number(*doc, "system_health_score")) {
    v.score = *s;
  }
  auto alerts = doc->FindMember("alerts");
  if (alerts != doc->MemberEnd() && alerts->value.IsObject()) {
    auto active = alerts->value.FindMember("active");
    if (active != alerts->value.MemberEnd() && active->value.IsArray()) {
      for (const auto& a : active->value.GetArray()) {
        const auto sev = util::get_string(a, "severity").value_or("");
        const auto state = util::get_string(a, "state").value_or("");
        if (state != "firing") {
          continue;
        }
        v.critical += sev == "critical";
        v.warning += sev == "warning";
      }
    }
  }
  return v;
}

} // namespace mp::monitor
