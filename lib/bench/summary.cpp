// The NDJSON lines of a run and the judgement in its summary (run_state.hpp).
//
// Rules the summary applies (documented in mp-bench(1)):
// - thresholds are judged on the measured totals (warm-up excluded); for a scalability run
//   on the breaking-point step, so the gate asks "did it hold up to there";
// - a scalability step holds when its latency and ratio thresholds hold and it achieved at
//   least 95% of its target rate; the breaking point is the last step that held before the
//   first that did not.

#include "bench/run_state.hpp"
#include "util/clock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>

namespace mp::bench {

namespace {

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

double round3(double v) {
  return std::round(v * 1000) / 1000;
}

double unix_now() {
  return util::to_unix_seconds(std::chrono::system_clock::now());
}

/// "1,800"
std::string group(double v) {
  auto s = fmt::format("{:.0f}", v);
  for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) {
    s.insert(static_cast<std::size_t>(i), ",");
  }
  return s;
}

} // namespace

void write_header(util::JsonWriter& w, const RunState& s, std::string_view type) {
  util::write_kv(w, "type", type);
  util::write_kv(w, "run_id", s.cfg.run_id);
  util::write_kv(w, "test", test_type_name(s.cfg.type));
  util::write_key(w, "ts");
  w.Double(round3(unix_now()));
}

namespace {

void write_counts(util::JsonWriter& w, const Window& win) {
  util::write_key(w, "status");
  w.StartObject();
  for (int c = 0; c < k_max_status; ++c) {
    if (auto n = win.status[static_cast<std::size_t>(c)]) {
      util::write_key(w, std::to_string(c));
      w.Uint64(n);
    }
  }
  w.EndObject();
  util::write_key(w, "error_kinds");
  w.StartObject();
  for (int c = 400; c < k_max_status; ++c) {
    if (auto n = win.status[static_cast<std::size_t>(c)]) {
      util::write_key(w, fmt::format("status_{}", c));
      w.Uint64(n);
    }
  }
  if (auto n = win.status[0]) {
    util::write_key(w, "protocol_status");
    w.Uint64(n);
  }
  for (std::size_t k = 0; k < win.failures.size(); ++k) {
    if (win.failures[k]) {
      util::write_key(w, error_kind_name(static_cast<ErrorKind>(k)));
      w.Uint64(win.failures[k]);
    }
  }
  w.EndObject();
}

/// The unit a breaking point is in, by model.
std::string_view level_unit(const Plan& p) {
  return p.model == Model::open ? "req/s" : "users";
}

double stage_level(const Stage& st, Model m) {
  return m == Model::open ? st.end_rate : st.end_users;
}

std::string fmt_ms(double v) {
  return v >= 100 ? fmt::format("{:.0f} ms", v) : fmt::format("{:.3g} ms", v);
}

} // namespace

void write_thresholds(util::JsonWriter& w, const std::vector<Judged>& judged,
                      const std::vector<std::string>& sources) {
  util::write_key(w, "thresholds");
  w.StartArray();
  for (std::size_t i = 0; i < judged.size(); ++i) {
    const auto& j = judged[i];
    w.StartObject();
    util::write_kv(w, "expr", j.threshold.expr);
    util::write_kv(w, "metric", j.threshold.metric);
    util::write_kv(w, "op", op_text(j.threshold.op));
    util::write_key(w, "limit");
    w.Double(j.threshold.limit);
    util::write_kv(w, "unit", metric_unit(j.threshold.metric));
    util::write_key(w, "value");
    if (j.value) {
      w.Double(std::round(*j.value * 1e6) / 1e6);
    } else {
      w.Null();
    }
    util::write_key(w, "ok");
    w.Bool(j.ok);
    if (i < sources.size()) {
      util::write_kv(w, "source", sources[i]);
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_strings(util::JsonWriter& w, std::string_view key, const std::vector<std::string>& list) {
  util::write_key(w, key);
  w.StartArray();
  for (const auto& x : list) {
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
  }
  w.EndArray();
}

void write_latency(util::JsonWriter& w, std::string_view key, const util::Histogram& h, bool with_min) {
  util::write_key(w, key);
  w.StartObject();
  const std::pair<const char*, double> qs[] = {
      {"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p99_9", 0.999}};
  for (const auto& [name, q] : qs) {
    util::write_key(w, name);
    w.Double(round3(ms(h.quantile_ns(q))));
  }
  util::write_key(w, "max");
  w.Double(round3(ms(h.max_ns())));
  util::write_key(w, "mean");
  w.Double(round3(h.mean_ns() / 1e6));
  if (with_min) {
    util::write_key(w, "min");
    w.Double(round3(ms(h.min_ns())));
  }
  w.EndObject();
}

void write_config(util::JsonWriter& w, const RunState& s) {
  const auto& e = s.cfg.engine;
  util::write_key(w, "config");
  w.StartObject();
  util::write_kv(w, "target", s.cfg.target);
  util::write_kv(w, "url", s.cfg.url);
  util::write_kv(w, "model", e.plan.model == Model::open ? "open" : "closed");
  double rate = 0, users = 0, warmup = 0;
  for (const auto& st : e.plan.stages) {
    rate = std::max({rate, st.rate, st.end_rate});
    users = std::max({users, st.users, st.end_users});
    warmup += st.warmup ? st.duration_s : 0;
  }
  util::write_key(w, "rate");
  w.Double(rate);
  util::write_key(w, "duration_s");
  w.Double(round3(e.plan.duration_s() - warmup));
  util::write_key(w, "warmup_s");
  w.Double(round3(warmup));
  util::write_key(w, "connections");
  w.Int(e.plan.model == Model::open ? e.connections : static_cast<int>(users));
  util::write_key(w, "threads");
  w.Int(e.threads);
  util::write_key(w, "users");
  w.Double(e.plan.model == Model::closed ? users : 0);
  util::write_key(w, "think_time_s");
  w.Double(e.think_s);
  util::write_key(w, "timeout_s");
  w.Double(e.timeout_s);
  util::write_key(w, "interval_s");
  w.Double(e.interval_s);
  util::write_key(w, "stages");
  w.StartArray();
  for (const auto& st : e.plan.stages) {
    w.StartObject();
    util::write_key(w, "duration_s");
    w.Double(round3(st.duration_s));
    if (e.plan.model == Model::open) {
      util::write_key(w, "rate");
      w.Double(st.rate);
      util::write_key(w, "end_rate");
      w.Double(st.end_rate);
    } else {
      util::write_key(w, "users");
      w.Double(st.users);
      util::write_key(w, "end_users");
      w.Double(st.end_users);
    }
    util::write_key(w, "warmup");
    w.Bool(st.warmup);
    w.EndObject();
  }
  w.EndArray();
  util::write_key(w, "thresholds");
  w.StartArray();
  for (const auto& t : s.cfg.thresholds) {
    w.String(t.expr.c_str());
  }
  w.EndArray();
  w.EndObject();
}

void write_start(std::ostream& out, const RunState& s) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  write_header(w, s, "start");
  write_config(w, s);
  w.EndObject();
  out << buf.GetString() << '\n' << std::flush;
}

void write_interval(std::ostream& out, const RunState& s, const Window& win, double t_end, double dt,
                    std::size_t stage, double target_rps) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  write_header(w, s, "interval");
  util::write_key(w, "t");
  w.Double(round3(t_end));
  util::write_key(w, "dt");
  w.Double(round3(dt));
  util::write_key(w, "stage");
  w.Uint64(stage);
  util::write_key(w, "warmup");
  w.Bool(s.cfg.engine.plan.stages[stage].warmup);
  util::write_key(w, "target_rps");
  w.Double(round3(target_rps));
  util::write_key(w, "achieved_rps");
  w.Double(round3(dt > 0 ? static_cast<double>(win.completed) / dt : 0));
  for (auto [k, v] : {std::pair{"requests", win.completed},
                      {"sent", win.sent},
                      {"ok", win.ok},
                      {"errors", win.errors()},
                      {"late", win.late},
                      {"dropped", win.dropped}}) {
    util::write_key(w, k);
    w.Uint64(v);
  }
  write_latency(w, "latency_ms", win.latency, false);
  write_latency(w, "service_ms", win.service, false);
  write_counts(w, win);
  util::write_key(w, "generator_cpu");
  w.Double(
      std::round(10 * (dt > 0 ? 100.0 * static_cast<double>(win.cpu_ns) /
                                    (dt * 1e9 * static_cast<double>(std::max<std::uint64_t>(win.threads, 1)))
                              : 0)) /
      10);
  if (s.last_steal >= 0) {
    util::write_key(w, "host_steal");
    w.Double(std::round(s.last_steal * 10) / 10);
  }
  util::write_key(w, "connections");
  w.Uint64(win.connections);
  util::write_key(w, "users");
  w.Uint64(win.users);
  w.EndObject();
  out << buf.GetString() << '\n' << std::flush;
}

namespace {

void recommend(RunState& s, std::vector<std::string>& rec, std::optional<double> breaking_point) {
  const Plan& plan = s.cfg.engine.plan;
  for (std::size_t i = 0; i < s.cfg.thresholds.size(); ++i) {
    const auto& th = s.cfg.thresholds[i];
    const auto& e = s.crossed[i];
    if (!e.seen) {
      continue;
    }
    const std::string value =
        metric_unit(th.metric) == "ms" ? fmt_ms(e.value) : fmt::format("{:.2f}%", e.value * 100);
    const std::string limit =
        metric_unit(th.metric) == "ms" ? fmt_ms(th.limit) : fmt::format("{:.2f}%", th.limit * 100);
    rec.push_back(fmt::format("{} crossed {} at {} req/s (t={:.0f}s: {})", th.metric, limit,
                              group(e.target_rps), e.t, value));
  }
  if (s.sla_crossed.seen) {
    rec.push_back(fmt::format("p99 crossed the SLA's {} at {} req/s (t={:.0f}s: {})",
                              fmt_ms(s.cfg.sla_p99_ms), group(s.sla_crossed.target_rps), s.sla_crossed.t,
                              fmt_ms(s.sla_crossed.value)));
  }
  if (s.first_errors.seen) {
    rec.push_back(fmt::format("errors began at {} req/s (t={:.0f}s: {})", group(s.first_errors.target_rps),
                              s.first_errors.t, s.first_errors.detail));
  }
  if (s.behind.seen) {
    rec.push_back(fmt::format(
        "throughput fell behind the target at t={:.0f}s: {} of {} req/s{}", s.behind.t,
        group(s.behind.achieved_rps), group(s.behind.target_rps),
        s.total.w.late > 0 ? "; requests waited for a free connection (raise --connections)" : ""));
  }
  if (s.saturated.seen) {
    rec.push_back(
        fmt::format("the generator itself was saturated ({:.0f}% CPU at t={:.0f}s): add --threads or run "
                    "mp-bench on another machine",
                    s.saturated.value, s.saturated.t));
  }
  if (s.cfg.type == TestType::scalability) {
    if (breaking_point) {
      rec.push_back(s.stopped_after_stage == SIZE_MAX
                        ? fmt::format("no breaking point up to {} {}: raise --rate or --max-steps",
                                      group(*breaking_point), level_unit(plan))
                        : fmt::format("capacity: {} {} holds the SLA; plan for at most ~{} {} per instance",
                                      group(*breaking_point), level_unit(plan), group(*breaking_point * 0.7),
                                      level_unit(plan)));
    } else {
      rec.emplace_back("even the first step broke the SLA: lower --rate");
    }
  }
  if (rec.empty() && s.total.w.completed > 0) {
    rec.push_back(fmt::format("held {} req/s with p99 {} and no errors", group(s.total.achieved_rps()),
                              fmt_ms(ms(s.total.w.latency.quantile_ns(0.99)))));
  }
}

} // namespace

int write_summary(std::ostream& out, RunState& s) {
  const Plan& plan = s.cfg.engine.plan;
  // Scalability: the breaking point and the step the gate is judged on.
  std::optional<double> breaking_point;
  std::string limiting = "none";
  const StageTotals* gate_stage = nullptr;
  double max_rps = 0;
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    const auto& st = s.stages[i];
    if (!st.measured || plan.stages[i].warmup) {
      continue;
    }
    max_rps = std::max(max_rps, st.totals.achieved_rps());
    if (s.cfg.type != TestType::scalability || !plan.stages[i].step) {
      continue;
    }
    std::string why;
    const bool ok = step_holds(s, st.totals, &why) && i != s.stopped_after_stage;
    if (!ok) {
      limiting = why.starts_with("achieved")              ? "throughput"
                 : why.find("error") != std::string::npos ? "errors"
                                                          : "latency";
      break;
    }
    breaking_point = stage_level(plan.stages[i], plan.model);
    gate_stage = &st;
  }
  const Totals& gate = s.cfg.type == TestType::scalability && gate_stage ? gate_stage->totals : s.total;
  const auto judged = judge(s.cfg.thresholds, gate);
  bool passed = true;
  for (const auto& j : judged) {
    passed = passed && j.ok;
  }
  if (s.cfg.type == TestType::scalability && !breaking_point) {
    passed = false;
  }
  if (s.saturated.seen) {
    s.warnings.push_back(fmt::format(
        "generator CPU reached {:.0f}% (over {:.0f}%): its latencies are inflated", s.saturated.value, 80.0));
  }
  if (s.steal_samples && s.steal_sum / static_cast<double>(s.steal_samples) > 5) {
    s.warnings.push_back(fmt::format("the hypervisor stole {:.0f}% of the host's CPU time (max {:.0f}% in an "
                                     "interval): latencies include waits that are neither the server's nor "
                                     "mp-bench's",
                                     s.steal_sum / static_cast<double>(s.steal_samples), s.steal_max));
  }
  if (s.total.w.completed == 0) {
    s.warnings.emplace_back("no request completed outside the warm-up");
  }
  std::vector<std::string> rec;
  recommend(s, rec, breaking_point);

  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  write_header(w, s, "summary");
  write_config(w, s);
  const Totals& t = s.total;
  util::write_key(w, "duration_s");
  w.Double(round3(t.duration_s));
  for (auto [k, v] : {std::pair{"requests", t.w.completed},
                      {"sent", t.w.sent},
                      {"ok", t.w.ok},
                      {"errors", t.w.errors()},
                      {"late", t.w.late},
                      {"dropped", t.w.dropped}}) {
    util::write_key(w, k);
    w.Uint64(v);
  }
  for (auto [k, v] : {std::pair{"error_rate", t.error_rate()},
                      {"late_rate", t.late_rate()},
                      {"target_rps", t.target_rps},
                      {"achieved_rps", t.achieved_rps()},
                      {"rps", t.achieved_rps()}}) {
    util::write_key(w, k);
    w.Double(std::round(v * 1e6) / 1e6);
  }
  write_latency(w, "latency_ms", t.w.latency, true);
  write_latency(w, "service_ms", t.w.service, true);
  write_counts(w, t.w);
  util::write_key(w, "generator");
  w.StartObject();
  util::write_key(w, "cpu_percent_mean");
  w.Double(std::round(t.cpu_percent() * 10) / 10);
  util::write_key(w, "cpu_percent_max");
  w.Double(std::round(s.cpu_max * 10) / 10);
  util::write_key(w, "saturated");
  w.Bool(s.saturated.seen);
  util::write_key(w, "threads");
  w.Int(s.cfg.engine.threads);
  const double steal_mean = s.steal_samples ? s.steal_sum / static_cast<double>(s.steal_samples) : 0;
  util::write_key(w, "host_steal_percent_mean");
  w.Double(std::round(steal_mean * 10) / 10);
  util::write_key(w, "host_steal_percent_max");
  w.Double(std::round(s.steal_max * 10) / 10);
  w.EndObject();
  util::write_key(w, "stages");
  w.StartArray();
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    const auto& st = s.stages[i];
    if (!st.measured) {
      continue;
    }
    w.StartObject();
    util::write_key(w, "index");
    w.Uint64(i);
    util::write_key(w, "warmup");
    w.Bool(plan.stages[i].warmup);
    for (auto [k, v] : {std::pair{"start_s", st.start_s},
                        {"end_s", st.end_s},
                        {"target_rps", st.totals.target_rps},
                        {"achieved_rps", st.totals.achieved_rps()},
                        {"error_rate", st.totals.error_rate()}}) {
      util::write_key(w, k);
      w.Double(round3(v));
    }
    util::write_key(w, "requests");
    w.Uint64(st.totals.w.completed);
    util::write_key(w, "errors");
    w.Uint64(st.totals.w.errors());
    write_latency(w, "latency_ms", st.totals.w.latency, false);
    util::write_key(w, "sla_ok");
    if (plan.stages[i].warmup) {
      w.Null(); // a warm-up is not judged
    } else {
      w.Bool(step_holds(s, st.totals, nullptr));
    }
    w.EndObject();
  }
  w.EndArray();
  util::write_key(w, "performance_summary");
  w.StartObject();
  for (auto [k, v] : {std::pair{"max_requests_per_second", max_rps},
                      {"avg_response_time_ms", t.w.latency.mean_ns() / 1e6},
                      {"p95_response_time_ms", ms(t.w.latency.quantile_ns(0.95))},
                      {"p99_response_time_ms", ms(t.w.latency.quantile_ns(0.99))},
                      {"error_rate", t.error_rate()}}) {
    util::write_key(w, k);
    w.Double(round3(v));
  }
  w.EndObject();
  util::write_key(w, "system_capacity");
  w.StartObject();
  util::write_key(w, "breaking_point");
  if (breaking_point) {
    w.Double(*breaking_point);
  } else {
    w.Null();
  }
  util::write_kv(w, "breaking_point_unit", level_unit(plan));
  util::write_kv(w, "limiting_factor", s.cfg.type == TestType::scalability ? limiting : "none");
  w.EndObject();
  write_thresholds(w, judged, s.cfg.threshold_sources);
  util::write_key(w, "passed");
  w.Bool(passed);
  util::write_key(w, "aborted");
  w.Bool(s.aborted);
  if (s.aborted) {
    util::write_kv(w, "abort_reason", s.abort_reason);
  }
  write_strings(w, "recommendations", rec);
  write_strings(w, "warnings", s.warnings);
  w.EndObject();
  out << buf.GetString() << '\n' << std::flush;

  if (s.responses_ever == 0 && s.connect_failures_ever > 0) {
    return static_cast<int>(ExitCode::unavailable);
  }
  return passed ? 0 : static_cast<int>(ExitCode::threshold);
}

} // namespace mp::bench
