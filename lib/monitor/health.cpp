// SLA compliance, burn rates, the health score and scaling advice (formulas in health.hpp).

#include "monitor/health.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace mp::monitor {

namespace {

void write_number(util::JsonWriter& w, std::string_view key, double v) {
  util::write_key(w, key);
  if (std::isfinite(v)) {
    w.Double(v);
  } else {
    w.Null(); // JSON has no NaN or infinity
  }
}

void write_count(util::JsonWriter& w, std::string_view key, std::uint64_t v) {
  util::write_key(w, key);
  w.Uint64(v);
}

double clamp01(double v) {
  return std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0);
}

double ratio_of(std::uint64_t errors, std::uint64_t requests) {
  return requests == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(requests);
}

// A sample's error rate: the recorded one, else derived from its counts.
double error_rate_of(const SlaWindowSample& s) {
  if (!std::isnan(s.error_rate_percent)) {
    return s.error_rate_percent;
  }
  return s.requests == 0 ? NAN : 100.0 * ratio_of(s.errors, s.requests);
}

struct Objective {
  std::string_view name;
  bool at_most; // met when value <= target (else >=)
  double target;
  double (*value)(const SlaWindowSample&);
};

std::array<Objective, 6> objectives_of(const SlaTargets& t) {
  return {{
      {"p50_ms", true, t.p50_ms, [](const SlaWindowSample& s) { return s.p50_ms; }},
      {"p95_ms", true, t.p95_ms, [](const SlaWindowSample& s) { return s.p95_ms; }},
      {"p99_ms", true, t.p99_ms, [](const SlaWindowSample& s) { return s.p99_ms; }},
      {"urgent_ms", true, t.urgent_ms, [](const SlaWindowSample& s) { return s.urgent_p99_ms; }},
      {"error_rate_percent", true, t.error_rate_percent, error_rate_of},
      {"cache_hit_rate_percent", false, t.cache_hit_rate_percent,
       [](const SlaWindowSample& s) { return s.cache_hit_rate_percent; }},
  }};
}

} // namespace

SlaCompliance sla_compliance(std::span<const SlaWindowSample> samples, const SlaTargets& targets, double from,
                             double to) {
  const auto objectives = objectives_of(targets);
  SlaCompliance c;
  c.from = from;
  c.to = to;
  for (const auto& o : objectives) {
    c.objectives.push_back(ObjectiveCompliance{o.name, o.at_most ? "<=" : ">=", o.target});
  }
  std::size_t judged = 0, all_met = 0;
  for (const auto& s : samples) {
    if (!(s.ts > from && s.ts <= to)) {
      continue;
    }
    ++c.samples;
    c.requests += s.requests;
    c.errors += s.errors;
    bool any = false, every = true;
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      const double v = objectives[i].value(s);
      if (std::isnan(v)) {
        continue;
      }
      auto& oc = c.objectives[i];
      const bool met = objectives[i].at_most ? v <= oc.target : v >= oc.target;
      ++oc.observed;
      oc.met += met ? 1 : 0;
      if (std::isnan(oc.worst) || (objectives[i].at_most ? v > oc.worst : v < oc.worst)) {
        oc.worst = v;
      }
      any = true;
      every = every && met;
    }
    judged += any ? 1 : 0;
    all_met += any && every ? 1 : 0;
  }
  for (auto& oc : c.objectives) {
    if (oc.observed > 0) {
      oc.compliance_percent = 100.0 * static_cast<double>(oc.met) / static_cast<double>(oc.observed);
    }
  }
  if (judged > 0) {
    c.overall_percent = 100.0 * static_cast<double>(all_met) / static_cast<double>(judged);
  }
  c.error_ratio = ratio_of(c.errors, c.requests);
  const double budget = targets.error_rate_percent / 100.0;
  c.error_budget_remaining = budget > 0 ? clamp01(1.0 - c.error_ratio / budget) : (c.errors == 0 ? 1.0 : 0.0);
  return c;
}

void write_json(util::JsonWriter& w, const SlaCompliance& c) {
  w.StartObject();
  write_number(w, "from", c.from);
  write_number(w, "to", c.to);
  write_count(w, "samples", c.samples);
  write_number(w, "overall_percent", c.overall_percent.value_or(NAN));
  util::write_key(w, "objectives");
  w.StartObject();
  for (const auto& o : c.objectives) {
    util::write_key(w, o.objective);
    w.StartObject();
    util::write_kv(w, "comparison", o.comparison);
    write_number(w, "target", o.target);
    write_number(w, "compliance_percent", o.compliance_percent.value_or(NAN));
    write_count(w, "observed", o.observed);
    write_count(w, "met", o.met);
    write_number(w, "worst", o.worst);
    w.EndObject();
  }
  w.EndObject();
  write_count(w, "requests", c.requests);
  write_count(w, "errors", c.errors);
  write_number(w, "error_ratio", c.error_ratio);
  write_number(w, "error_budget_remaining", c.error_budget_remaining);
  w.EndObject();
}

BurnRateReport burn_rates(std::span<const SlaWindowSample> samples, double now, double error_budget,
                          std::span<const BurnAlertPolicy> policies) {
  BurnRateReport r;
  r.error_budget = error_budget;
  std::vector<double> lengths;
  for (const auto& p : policies) {
    lengths.push_back(p.long_seconds);
    lengths.push_back(p.short_seconds);
  }
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  for (double len : lengths) {
    BurnWindow bw{len};
    for (const auto& s : samples) {
      if (s.ts > now - len && s.ts <= now) {
        bw.requests += s.requests;
        bw.errors += s.errors;
      }
    }
    bw.error_ratio = ratio_of(bw.errors, bw.requests);
    if (error_budget > 0) {
      bw.burn_rate = bw.error_ratio / error_budget;
    } else {
      bw.burn_rate = bw.errors > 0 ? INFINITY : 0.0;
    }
    r.windows.push_back(bw);
  }
  auto burn_of = [&](double len) {
    for (const auto& bw : r.windows) {
      if (bw.seconds == len) {
        return bw.burn_rate;
      }
    }
    return 0.0;
  };
  for (const auto& p : policies) {
    BurnAlert a{p, burn_of(p.long_seconds), burn_of(p.short_seconds)};
    a.active = a.long_burn_rate >= p.burn_rate && a.short_burn_rate >= p.burn_rate;
    r.alerts.push_back(a);
  }
  return r;
}

void write_json(util::JsonWriter& w, const BurnRateReport& r) {
  w.StartObject();
  write_number(w, "error_budget", r.error_budget);
  write_number(w, "slo_percent", 100.0 * (1.0 - r.error_budget));
  util::write_key(w, "windows");
  w.StartArray();
  for (const auto& bw : r.windows) {
    w.StartObject();
    write_number(w, "seconds", bw.seconds);
    write_count(w, "requests", bw.requests);
    write_count(w, "errors", bw.errors);
    write_number(w, "error_ratio", bw.error_ratio);
    write_number(w, "burn_rate", bw.burn_rate);
    w.EndObject();
  }
  w.EndArray();
  util::write_key(w, "alerts");
  w.StartArray();
  for (const auto& a : r.alerts) {
    w.StartObject();
    util::write_kv(w, "name", a.policy.name);
    write_number(w, "long_seconds", a.policy.long_seconds);
    write_number(w, "short_seconds", a.policy.short_seconds);
    write_number(w, "threshold", a.policy.burn_rate);
    write_number(w, "long_burn_rate", a.long_burn_rate);
    write_number(w, "short_burn_rate", a.short_burn_rate);
    util::write_key(w, "active");
    w.Bool(a.active);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

double apdex(const ApdexCounts& c) {
  const double total = c.total();
  return total > 0 ? (c.satisfied + c.tolerating / 2.0) / total : 1.0;
}

ApdexCounts apdex_counts(std::span<const LatencyBucket> buckets, double t_ms) {
  // How many requests took at most `x` ms, splitting the bucket that holds x linearly.
  auto at_or_below = [&](double x) {
    double n = 0, lower = 0;
    for (const auto& b : buckets) {
      const auto count = static_cast<double>(b.count);
      if (b.upper_ms <= x) {
        n += count;
      } else {
        if (std::isfinite(b.upper_ms) && b.upper_ms > lower && x > lower) {
          n += count * (x - lower) / (b.upper_ms - lower);
        }
        break;
      }
      lower = b.upper_ms;
    }
    return n;
  };
  double total = 0;
  for (const auto& b : buckets) {
    total += static_cast<double>(b.count);
  }
  const double sat = at_or_below(t_ms);
  const double within4 = at_or_below(4 * t_ms);
  return ApdexCounts{sat, within4 - sat, total - within4};
}

ApdexCounts apdex_counts(const util::Histogram& h, double t_ms) {
  auto ns = [](double ms) { return static_cast<std::uint64_t>(std::llround(std::max(ms, 0.0) * 1e6)); };
  const auto sat = static_cast<double>(h.count_at_or_below(ns(t_ms)));
  const auto within4 = static_cast<double>(h.count_at_or_below(ns(4 * t_ms)));
  return ApdexCounts{sat, within4 - sat, static_cast<double>(h.count()) - within4};
}

AlertCounts count_firing(const std::vector<ActiveAlert>& active) {
  AlertCounts c;
  for (const auto& a : active) {
    if (a.state != AlertState::firing) {
      continue;
    }
    switch (a.severity) {
    case Severity::critical: ++c.critical; break;
    case Severity::warning: ++c.warning; break;
    case Severity::info: ++c.info; break;
    }
  }
  return c;
}

HealthScore health_score(const HealthInputs& in, const HealthConfig& config) {
  HealthScore h;
  h.config = config;
  h.apdex_t_ms = config.apdex_t_ms;
  h.latency = in.latency;
  h.apdex = apdex(in.latency);
  h.error_budget_remaining = clamp01(in.error_budget_remaining);
  h.cpu_percent = in.cpu_percent;
  h.memory_percent = in.memory_percent;
  const double used = std::max(std::isnan(in.cpu_percent) ? 0.0 : in.cpu_percent,
                               std::isnan(in.memory_percent) ? 0.0 : in.memory_percent);
  h.headroom = clamp01(1.0 - used / 100.0);
  h.alerts = in.alerts;
  const double penalty = config.critical_penalty * in.alerts.critical +
                         config.warning_penalty * in.alerts.warning + config.info_penalty * in.alerts.info;
  h.alert_penalty = std::clamp(penalty, 0.0, std::max(config.max_penalty, 0.0));
  h.apdex_points = 100.0 * config.apdex_weight * h.apdex;
  h.budget_points = 100.0 * config.budget_weight * h.error_budget_remaining;
  h.headroom_points = 100.0 * config.headroom_weight * h.headroom;
  h.score = std::clamp(h.apdex_points + h.budget_points + h.headroom_points - h.alert_penalty, 0.0, 100.0);
  h.status = h.score >= 80 ? "healthy" : h.score >= 50 ? "degraded" : "unhealthy";
  return h;
}

void write_json(util::JsonWriter& w, const HealthScore& h) {
  const HealthConfig& c = h.config;
  w.StartObject();
  write_number(w, "score", h.score);
  util::write_kv(w, "status", h.status);
  util::write_kv(
      w, "formula",
      fmt::format("clamp(100 * ({} * apdex + {} * error_budget + {} * headroom) - alert_penalty, 0, 100)",
                  c.apdex_weight, c.budget_weight, c.headroom_weight));
  util::write_key(w, "components");
  w.StartObject();
  util::write_key(w, "apdex");
  w.StartObject();
  write_number(w, "value", h.apdex);
  write_number(w, "t_ms", h.apdex_t_ms);
  write_number(w, "satisfied", h.latency.satisfied);
  write_number(w, "tolerating", h.latency.tolerating);
  write_number(w, "frustrated", h.latency.frustrated);
  write_number(w, "weight", c.apdex_weight);
  write_number(w, "points", h.apdex_points);
  w.EndObject();
  util::write_key(w, "error_budget");
  w.StartObject();
  write_number(w, "remaining", h.error_budget_remaining);
  write_number(w, "weight", c.budget_weight);
  write_number(w, "points", h.budget_points);
  w.EndObject();
  util::write_key(w, "headroom");
  w.StartObject();
  write_number(w, "value", h.headroom);
  write_number(w, "cpu_percent", h.cpu_percent);
  write_number(w, "memory_percent", h.memory_percent);
  write_number(w, "weight", c.headroom_weight);
  write_number(w, "points", h.headroom_points);
  w.EndObject();
  util::write_key(w, "alerts");
  w.StartObject();
  write_count(w, "critical", static_cast<std::uint64_t>(std::max(h.alerts.critical, 0)));
  write_count(w, "warning", static_cast<std::uint64_t>(std::max(h.alerts.warning, 0)));
  write_count(w, "info", static_cast<std::uint64_t>(std::max(h.alerts.info, 0)));
  write_number(w, "penalty", h.alert_penalty);
  write_number(w, "max_penalty", c.max_penalty);
  w.EndObject();
  w.EndObject();
  w.EndObject();
}

std::string to_json(const HealthScore& h) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  write_json(w, h);
  return {buf.GetString(), buf.GetSize()};
}

namespace {

// One rule's proposal for a resource, before bounds and stabilisation.
struct Proposal {
  std::string metric;
  double value = 0, target = 0, ratio = NAN;
  int desired = 0;
  std::string reason;
};

// ceil() that ignores floating-point dust (50 * 90 / 75 must give 60, not 61), and never
// converts NaN or a huge value to int.
int ceil_count(double x) {
  return x > 0 ? static_cast<int>(std::ceil(std::min(x, 1e9) - 1e-9)) : 0;
}

// |ratio - 1| <= tolerance, where 77 / 70 counts as exactly 1.1.
bool within(double ratio, double tolerance) {
  return std::abs(ratio - 1.0) <= tolerance + 1e-9;
}

std::string plural(int n, std::string_view what) {
  return fmt::format("{} {}", n, n == 1 ? what.substr(0, what.size() - 1) : what);
}

// HPA with an average-value target: the metric is a total (a queue), its target per replica.
Proposal by_queue(double depth, double per_replica, int current, double tolerance, std::string_view what) {
  Proposal p{"queue_depth", depth, per_replica};
  const std::string_view one = what.substr(0, what.size() - 1);
  if (per_replica <= 0) {
    p.desired = current;
    p.reason = fmt::format("no queue target per {}: stay at {}", one, plural(current, what));
    return p;
  }
  if (current > 0) {
    p.ratio = depth / current / per_replica;
    if (within(p.ratio, tolerance)) {
      p.desired = current;
      p.reason = fmt::format("queue depth {} at {} per {} on {} (ratio {:.2f}, within {}): stay", depth,
                             per_replica, one, plural(current, what), p.ratio, tolerance);
      return p;
    }
  }
  p.desired = ceil_count(depth / per_replica);
  p.reason = fmt::format("queue depth {} at {} per {}: {}", depth, per_replica, one, plural(p.desired, what));
  return p;
}

// HPA with a utilisation target: the metric is an average over the current replicas.
Proposal by_cpu(double cpu, double target, int current, double tolerance) {
  Proposal p{"cpu_percent", cpu, target, cpu / target};
  if (within(p.ratio, tolerance)) {
    p.desired = current;
    p.reason = fmt::format("cpu {:.1f}% vs target {}% on {} (ratio {:.2f}, within {}): stay", cpu, target,
                           plural(current, "instances"), p.ratio, tolerance);
    return p;
  }
  p.desired = ceil_count(current * p.ratio);
  p.reason = fmt::format("cpu {:.1f}% vs target {}% on {}: {}", cpu, target, plural(current, "instances"),
                         plural(p.desired, "instances"));
  return p;
}

} // namespace

int ScalingAdvisor::stabilise(std::deque<Seen>& history, int current, int proposed, double now) const {
  while (!history.empty() && history.front().ts <= now - m_config.scale_down_window_seconds) {
    history.pop_front();
  }
  history.push_back({now, proposed});
  if (proposed >= current) {
    return proposed; // scale-up (or staying) is never delayed
  }
  int highest = proposed;
  for (const auto& s : history) {
    highest = std::max(highest, s.desired);
  }
  // Like the HPA, the window only holds a scale-down back; it never scales up by itself.
  return std::min(current, highest);
}

std::vector<ScalingRecommendation> ScalingAdvisor::recommend(const ScalingInputs& in, double now) {
  const double tol = m_config.tolerance;
  std::vector<ScalingRecommendation> out;
  auto finish = [&](std::string resource, Proposal p, int current, int lo, int hi,
                    std::deque<Seen>& history) {
    hi = std::max(hi, lo);
    ScalingRecommendation r{std::move(resource), current};
    r.proposed = std::clamp(p.desired, lo, hi);
    r.reason = std::move(p.reason);
    if (r.proposed != p.desired) {
      r.reason += fmt::format("; {} at {} {}", p.desired > hi ? "capped" : "raised",
                              p.desired > hi ? "max" : "min", r.proposed);
    }
    r.desired = stabilise(history, current, r.proposed, now);
    if (r.desired != r.proposed) {
      r.reason += fmt::format("; scale-down held at {} by the {} s stabilisation window", r.desired,
                              m_config.scale_down_window_seconds);
    }
    r.action = r.desired > current ? "scale_up" : r.desired < current ? "scale_down" : "none";
    r.metric = std::move(p.metric);
    r.value = p.value;
    r.target = p.target;
    r.ratio = p.ratio;
    r.min = lo;
    r.max = hi;
    out.push_back(std::move(r));
  };

  finish("workers", by_queue(in.queue_depth, in.target_queue_per_worker, in.current_workers, tol, "workers"),
         in.current_workers, in.min_workers, in.max_workers, m_workers);

  const double per_instance = in.target_queue_per_instance > 0
                                  ? in.target_queue_per_instance
                                  : in.target_queue_per_worker * std::max(in.max_workers, 1);
  Proposal inst = by_queue(in.queue_depth, per_instance, in.current_instances, tol, "instances");
  if (!std::isnan(in.cpu_percent) && in.target_cpu_percent > 0 && in.current_instances > 0) {
    Proposal cpu = by_cpu(in.cpu_percent, in.target_cpu_percent, in.current_instances, tol);
    // Several metrics: the HPA takes the largest proposal, and so do we; both are explained.
    const bool cpu_wins = cpu.desired >= inst.desired;
    std::string both = cpu_wins ? cpu.reason + "; " + inst.reason : inst.reason + "; " + cpu.reason;
    if (cpu_wins) {
      inst = std::move(cpu);
    }
    inst.reason = std::move(both);
  }
  finish("instances", std::move(inst), in.current_instances, in.min_instances, in.max_instances, m_instances);
  return out;
}

void write_json(util::JsonWriter& w, const ScalingRecommendation& r) {
  w.StartObject();
  util::write_kv(w, "resource", r.resource);
  util::write_key(w, "current");
  w.Int(r.current);
  util::write_key(w, "desired");
  w.Int(r.desired);
  util::write_kv(w, "action", r.action);
  util::write_kv(w, "reason", r.reason);
  util::write_kv(w, "metric", r.metric);
  write_number(w, "value", r.value);
  write_number(w, "target", r.target);
  write_number(w, "ratio", r.ratio);
  util::write_key(w, "proposed");
  w.Int(r.proposed);
  util::write_key(w, "min");
  w.Int(r.min);
  util::write_key(w, "max");
  w.Int(r.max);
  w.EndObject();
}

std::string to_json(const std::vector<ScalingRecommendation>& recs) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartArray();
  for (const auto& r : recs) {
    write_json(w, r);
  }
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace mp::monitor
