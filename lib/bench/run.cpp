// The run loop (run.hpp): windows in, events out, thresholds and steps judged as they end.

#include "bench/run.hpp"
#include "bench/run_state.hpp"
#include "util/clock.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>

namespace mp::bench {

namespace {

std::atomic<bool> g_stop_requested{false};

constexpr double k_saturated_percent = 80;

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

bool is_latency_metric(std::string_view m) {
  return metric_unit(m) == "ms";
}

/// A window as Totals of its own, for judging one interval.
Totals interval_totals(const Window& w, double dt, double target) {
  Totals t;
  t.w = w;
  t.duration_s = dt;
  t.target_rps = target;
  return t;
}

void note_first(FirstEvent& e, double t, double target, double achieved, double value, std::string detail) {
  if (!e.seen) {
    e = FirstEvent{true, t, target, achieved, value, std::move(detail)};
  }
}

std::string error_detail(const Window& w) {
  std::string out;
  auto add = [&](std::string_view name, std::uint64_t n) {
    if (n > 0) {
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, name);
    }
  };
  for (int c = 400; c < k_max_status; ++c) {
    add(fmt::format("status_{}", c), w.status[static_cast<std::size_t>(c)]);
  }
  for (std::size_t k = 0; k < w.failures.size(); ++k) {
    add(error_kind_name(static_cast<ErrorKind>(k)), w.failures[k]);
  }
  return out;
}

void progress_line(const RunState& s, const Window& w, double t, double dt, double target) {
  const double total_s = s.cfg.engine.plan.duration_s();
  std::fprintf(stderr, "\r\033[K%6.1fs/%.0fs  %8.0f req/s (target %.0f)  p99 %8.2f ms  errors %llu", t,
               total_s, dt > 0 ? static_cast<double>(w.completed) / dt : 0, target,
               ms(w.latency.quantile_ns(0.99)), static_cast<unsigned long long>(s.total.w.errors()));
  std::fflush(stderr);
}

/// Per-interval bookkeeping for the recommendations and the abort rule.
void observe(RunState& s, const Window& w, double t_end, double dt, double target) {
  const Totals it = interval_totals(w, dt, target);
  const double achieved = it.achieved_rps();
  for (std::size_t i = 0; i < s.cfg.thresholds.size(); ++i) {
    const auto& th = s.cfg.thresholds[i];
    if (!is_latency_metric(th.metric) && th.metric != "error_rate") {
      continue;
    }
    if (auto v = metric_value(it, th.metric); v && w.completed > 0 && !holds(th, *v)) {
      note_first(s.crossed[i], t_end, target, achieved, *v, {});
    }
  }
  if (s.cfg.sla_p99_ms > 0 && w.completed > 0 && ms(w.latency.quantile_ns(0.99)) > s.cfg.sla_p99_ms) {
    note_first(s.sla_crossed, t_end, target, achieved, ms(w.latency.quantile_ns(0.99)), {});
  }
  if (w.errors() > 0) {
    note_first(s.first_errors, t_end, target, achieved, static_cast<double>(w.errors()), error_detail(w));
  }
  if (s.cfg.engine.plan.model == Model::open && target > 0 && achieved < 0.95 * target) {
    note_first(s.behind, t_end, target, achieved, achieved, {});
  }
  const double cpu = it.cpu_percent();
  s.cpu_max = std::max(s.cpu_max, cpu);
  if (cpu > k_saturated_percent) {
    note_first(s.saturated, t_end, target, achieved, cpu, {});
  }
}

/// The host's CPU time as (steal, total) jiffies from /proc/stat; steal is time a VM was
/// ready to run but the hypervisor ran someone else: on a noisy cloud VM it inflates
/// latencies in ways that are not the server's.
std::pair<double, double> steal_and_total() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) {
    return {0, 0};
  }
  unsigned long long v[8] = {};
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                            &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 8) {
    return {0, 0};
  }
  double total = 0;
  for (auto x : v) {
    total += static_cast<double>(x);
  }
  return {static_cast<double>(v[7]), total};
}

double stage_target(const Plan& plan, double a, double b) {
  if (b <= a) {
    return 0;
  }
  // A closed model has users, not a target rate.
  return plan.model == Model::open ? (plan.arrivals_until(b) - plan.arrivals_until(a)) / (b - a) : 0;
}

} // namespace

void request_stop() {
  g_stop_requested = true;
}

int run_http(RunConfig cfg, std::ostream& out) {
  RunState s;
  s.cfg = std::move(cfg);
  s.started_unix = util::to_unix_seconds(std::chrono::system_clock::now());
  const Plan& plan = s.cfg.engine.plan;
  s.stages.resize(plan.stages.size());
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    s.stages[i].start_s = plan.stage_start(i);
    s.stages[i].end_s = s.stages[i].start_s + plan.stages[i].duration_s;
  }
  s.crossed.resize(s.cfg.thresholds.size());
  auto engine = value_or_throw(Engine::create(s.cfg.engine));
  write_start(out, s);
  engine->start();
  const auto& cuts = engine->cuts();
  double measured_start = -1;
  auto steal_mark = steal_and_total();
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    auto w = engine->next();
    if (!w) {
      break;
    }
    const double t0 = i ? cuts[i - 1] : 0, t1 = cuts[i], dt = t1 - t0;
    const std::size_t stage = plan.stage_at(t0 + 1e-9);
    const double target = stage_target(plan, t0, t1);
    const bool warmup = plan.stages[stage].warmup;
    s.responses_ever += w->completed - w->errors() + w->status_errors();
    s.connect_failures_ever += w->failures[static_cast<std::size_t>(ErrorKind::connect_refused)] +
                               w->failures[static_cast<std::size_t>(ErrorKind::connect_error)];
    const auto steal_now = steal_and_total();
    s.last_steal = steal_now.second > steal_mark.second
                       ? 100 * (steal_now.first - steal_mark.first) / (steal_now.second - steal_mark.second)
                       : -1;
    steal_mark = steal_now;
    if (!warmup && s.last_steal >= 0) {
      s.steal_sum += s.last_steal;
      s.steal_max = std::max(s.steal_max, s.last_steal);
      ++s.steal_samples;
    }
    write_interval(out, s, *w, t1, dt, stage, target);
    if (s.cfg.progress) {
      progress_line(s, *w, t1, dt, target);
    }
    if (!warmup) {
      if (measured_start < 0) {
        measured_start = t0;
      }
      observe(s, *w, t1, dt, target);
      s.total.w.merge(*w, true);
      s.total.target_rps += target * dt;
      s.total.duration_s += dt;
    }
    auto& st = s.stages[stage];
    st.totals.w.merge(*w, true);
    st.totals.target_rps += target * dt;
    st.totals.duration_s += dt;
    st.measured = true;
    if (g_stop_requested) {
      s.aborted = true;
      s.abort_reason = "interrupted";
      break;
    }
    if (s.cfg.abort_on_fail && !warmup && measured_start >= 0 && t1 - measured_start >= s.cfg.abort_grace_s) {
      for (const auto& j : judge(s.cfg.thresholds, s.total)) {
        if (!j.ok) {
          s.aborted = true;
          s.abort_reason = fmt::format("{} failed at t={:.1f}s (--abort-on-fail)", j.threshold.expr, t1);
          break;
        }
      }
      if (s.aborted) {
        break;
      }
    }
    const bool stage_ends = std::abs(t1 - st.end_s) < 1e-6;
    if (s.cfg.type == TestType::scalability && stage_ends && plan.stages[stage].step) {
      Totals t = st.totals;
      t.target_rps = t.duration_s > 0 ? t.target_rps / t.duration_s : 0;
      if (!step_holds(s, t, nullptr)) {
        s.stopped_after_stage = stage;
        break;
      }
    }
  }
  engine->stop();
  engine->join();
  if (s.cfg.progress) {
    std::fputs("\n", stderr);
  }
  if (s.total.duration_s > 0) {
    s.total.target_rps /= s.total.duration_s;
  }
  for (auto& st : s.stages) {
    if (st.totals.duration_s > 0) {
      st.totals.target_rps /= st.totals.duration_s;
    }
  }
  return write_summary(out, s);
}

std::vector<Judged> judge(const std::vector<Threshold>& ts, const Totals& totals) {
  std::vector<Judged> out;
  for (const auto& t : ts) {
    Judged j{t, metric_value(totals, t.metric), false};
    j.ok = j.value && holds(t, *j.value);
    out.push_back(std::move(j));
  }
  return out;
}

bool step_holds(const RunState& s, const Totals& t, std::string* why) {
  for (const auto& th : s.cfg.thresholds) {
    if (!is_latency_metric(th.metric) && metric_unit(th.metric) != "ratio") {
      continue;
    }
    auto v = metric_value(t, th.metric);
    if (v && !holds(th, *v)) {
      if (why) {
        *why = fmt::format("{} ({:.4g})", th.expr, *v);
      }
      return false;
    }
  }
  if (s.cfg.engine.plan.model == Model::open && t.achieved_rps() < 0.95 * t.target_rps) {
    if (why) {
      *why = fmt::format("achieved {:.0f} of {:.0f} req/s", t.achieved_rps(), t.target_rps);
    }
    return false;
  }
  return true;
}

} // namespace mp::bench
