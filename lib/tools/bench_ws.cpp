// mp-bench run --url ws://...: drives bench::run_ws and writes its lines (bench_ws.hpp).

#include "tools/bench_ws.hpp"
#include "bench/run_state.hpp"
#include "bench/ws_run.hpp"
#include "util/clock.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ostream>

namespace mp::tools {

namespace {

double round3(double v) {
  return std::round(v * 1000) / 1000;
}

void write_interval(std::ostream& out, const bench::RunState& s, const bench::WsInterval& iv, double rate) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  bench::write_header(w, s, "interval");
  for (auto [k, v] : {std::pair{"t", iv.t}, {"dt", iv.dt}}) {
    util::write_key(w, k);
    w.Double(round3(v));
  }
  util::write_key(w, "stage");
  w.Uint(iv.warmup ? 0 : 1);
  util::write_key(w, "warmup");
  w.Bool(iv.warmup);
  util::write_key(w, "target_rps");
  w.Double(round3(rate * static_cast<double>(iv.connections_open)));
  util::write_key(w, "achieved_rps");
  w.Double(round3(iv.dt > 0 ? static_cast<double>(iv.received) / iv.dt : 0));
  for (auto [k, v] : {std::pair{"requests", iv.received},
                      {"ok", iv.received},
                      {"errors", iv.failures},
                      {"published", iv.published},
                      {"late", std::uint64_t{0}},
                      {"dropped", std::uint64_t{0}}}) {
    util::write_key(w, k);
    w.Uint64(v);
  }
  bench::write_latency(w, "latency_ms", iv.latency, false);
  util::write_key(w, "error_kinds");
  w.StartObject();
  w.EndObject();
  util::write_key(w, "generator_cpu");
  w.Double(std::round(iv.generator_cpu_percent * 10) / 10);
  util::write_key(w, "connections");
  w.Uint64(iv.connections_open);
  w.EndObject();
  out << buf.GetString() << '\n' << std::flush;
}

std::optional<double> ws_metric(const bench::WsResult& r, const bench::Totals& t, std::string_view m) {
  if (m == "handshake_p99") {
    return static_cast<double>(r.handshake.quantile_ns(0.99)) / 1e6;
  }
  if (m == "delivery_ratio") {
    return r.delivery_ratio();
  }
  if (m.starts_with("service_") || m == "late_rate") {
    return std::nullopt;
  }
  return bench::metric_value(t, m);
}

} // namespace

int run_ws_command(bench::RunConfig rc, const WsFlags& f, std::ostream& out) {
  bench::WsRunOptions opt;
  opt.url = f.url;
  opt.connections = f.connections;
  opt.ramp_rate = f.ramp_rate;
  opt.threads = std::max(1, f.threads);
  opt.publish_url = f.base_url;
  opt.publish_rate = f.publish_rate;
  opt.token = f.token;
  if (opt.token.empty()) {
    // The URL's own token= publishes too (it must be an admin key for the broadcasts).
    if (auto at = f.url.find("token="); at != std::string::npos) {
      opt.token =
          f.url.substr(at + 6, f.url.find('&', at) == std::string::npos ? std::string::npos
                                                                        : f.url.find('&', at) - at - 6);
    }
  }
  opt.topic = f.topic;
  opt.interval_s = f.interval_s;
  const auto& plan = rc.engine.plan;
  opt.duration_s = opt.warmup_s = 0;
  for (const auto& st : plan.stages) {
    (st.warmup ? opt.warmup_s : opt.duration_s) += st.duration_s;
  }
  // The plan as the config shows it: the warm-up and one measured stage at the publish rate.
  bench::Plan shown;
  if (opt.warmup_s > 0) {
    shown.stages.push_back(bench::Stage{opt.warmup_s, f.publish_rate, f.publish_rate, 0, 0, true, false});
  }
  shown.stages.push_back(bench::Stage{opt.duration_s, f.publish_rate, f.publish_rate, 0, 0, false, false});
  rc.engine.plan = shown;
  rc.engine.connections = f.connections;
  rc.engine.threads = opt.threads;
  rc.engine.interval_s = f.interval_s;
  rc.url = bench::ws_connect_url(opt);
  bench::RunState s;
  s.cfg = std::move(rc);
  bench::write_start(out, s);

  std::atomic<bool> stop{false};
  double cpu_max = 0;
  auto result = bench::run_ws(
      opt,
      [&](const bench::WsInterval& iv) {
        write_interval(out, s, iv, f.publish_rate);
        cpu_max = std::max(cpu_max, iv.generator_cpu_percent);
      },
      stop);
  if (!result) {
    if (result.error().code == Errc::unavailable) {
      throw Fatal(result.error());
    }
    throw Fatal(result.error());
  }
  const bench::WsResult& r = *result;
  bench::Totals t;
  t.w.latency = r.latency;
  t.w.completed = r.messages_received;
  t.w.ok = r.messages_received;
  t.duration_s = r.duration_s;
  t.target_rps = r.duration_s > 0 ? static_cast<double>(r.messages_expected) / r.duration_s : 0;
  bool passed = true;
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  bench::write_header(w, s, "summary");
  bench::write_config(w, s);
  util::write_key(w, "duration_s");
  w.Double(round3(r.duration_s));
  const std::uint64_t errors = r.connect_failures + r.connections_lost + r.publish_errors;
  for (auto [k, v] :
       {std::pair{"requests", r.messages_received},
        {"ok", r.messages_received},
        {"errors", errors},
        {"late", std::uint64_t{0}},
        {"dropped", r.messages_expected > r.messages_received ? r.messages_expected - r.messages_received
                                                              : std::uint64_t{0}}}) {
    util::write_key(w, k);
    w.Uint64(v);
  }
  const double total = static_cast<double>(r.connections_target + r.messages_published);
  for (auto [k, v] : {std::pair{"error_rate", total > 0 ? static_cast<double>(errors) / total : 0.0},
                      {"late_rate", 0.0},
                      {"target_rps", t.target_rps},
                      {"achieved_rps", t.achieved_rps()},
                      {"rps", t.achieved_rps()}}) {
    util::write_key(w, k);
    w.Double(std::round(v * 1e6) / 1e6);
  }
  bench::write_latency(w, "latency_ms", r.latency, true);
  util::write_key(w, "error_kinds");
  w.StartObject();
  for (const auto& [kind, n] : r.failures) {
    util::write_key(w, kind);
    w.Uint64(n);
  }
  w.EndObject();
  util::write_key(w, "generator");
  w.StartObject();
  util::write_key(w, "cpu_percent_mean");
  w.Double(std::round(r.generator_cpu_percent * 10) / 10);
  util::write_key(w, "cpu_percent_max");
  w.Double(std::round(cpu_max * 10) / 10);
  util::write_key(w, "saturated");
  w.Bool(cpu_max > 80);
  util::write_key(w, "threads");
  w.Int(opt.threads);
  w.EndObject();
  util::write_key(w, "performance_summary");
  w.StartObject();
  for (auto [k, v] : {std::pair{"max_requests_per_second", t.achieved_rps()},
                      {"avg_response_time_ms", r.latency.mean_ns() / 1e6},
                      {"p95_response_time_ms", static_cast<double>(r.latency.quantile_ns(0.95)) / 1e6},
                      {"p99_response_time_ms", static_cast<double>(r.latency.quantile_ns(0.99)) / 1e6}}) {
    util::write_key(w, k);
    w.Double(round3(v));
  }
  w.EndObject();
  std::vector<std::string> rec, warn;
  if (r.delivery_ratio() < 1.0) {
    rec.push_back(
        fmt::format("{} of {} expected deliveries arrived ({:.3f}%): see dropped notices ({}) and close "
                    "codes",
                    r.messages_received, r.messages_expected, 100 * r.delivery_ratio(), r.dropped_notices));
  }
  if (r.connect_failures > 0) {
    rec.push_back(
        fmt::format("{} of {} connections failed to open", r.connect_failures, r.connections_target));
  }
  if (r.publish_errors > 0) {
    std::string statuses;
    for (const auto& [code, n] : r.publish_statuses) {
      if (code != 200) {
        statuses += fmt::format("{}{} x HTTP {}", statuses.empty() ? "" : ", ", n, code);
      }
    }
    warn.push_back(fmt::format("{} broadcasts failed ({}): POST /api/ws/broadcast needs an admin --token",
                               r.publish_errors, statuses));
  }
  if (f.publish_rate > 0 && r.messages_published == 0) {
    passed = false; // nothing was measured: a run that published nothing did not pass
    rec.emplace_back("no broadcast was published, so no delivery was measured");
  }
  if (cpu_max > 80) {
    warn.push_back(
        fmt::format("generator CPU reached {:.0f}%: its latencies are inflated (add --threads)", cpu_max));
  }
  if (rec.empty()) {
    rec.push_back(fmt::format("{} connections held; every broadcast reached every one; p99 {:.2f} ms",
                              r.connections_open, static_cast<double>(r.latency.quantile_ns(0.99)) / 1e6));
  }
  std::vector<bench::Judged> judged;
  for (const auto& th : s.cfg.thresholds) {
    const auto v = ws_metric(r, t, th.metric);
    judged.push_back(bench::Judged{th, v, v && bench::holds(th, *v)});
    passed = passed && judged.back().ok;
  }
  bench::write_thresholds(w, judged, s.cfg.threshold_sources);
  util::write_key(w, "passed");
  w.Bool(passed);
  util::write_key(w, "aborted");
  w.Bool(r.stopped);
  bench::write_strings(w, "recommendations", rec);
  bench::write_strings(w, "warnings", warn);
  util::write_key(w, "ws");
  w.StartObject();
  for (auto [k, v] : {std::pair{"connections_target", r.connections_target},
                      {"connections_open", r.connections_open},
                      {"connect_failures", r.connect_failures},
                      {"connections_lost", r.connections_lost},
                      {"messages_published", r.messages_published},
                      {"publish_errors", r.publish_errors},
                      {"messages_expected", r.messages_expected},
                      {"messages_received", r.messages_received},
                      {"dropped_notices", r.dropped_notices},
                      {"gaps", r.gaps}}) {
    util::write_key(w, k);
    w.Uint64(v);
  }
  util::write_key(w, "delivery_ratio");
  w.Double(std::round(r.delivery_ratio() * 1e6) / 1e6);
  util::write_key(w, "connect_s");
  w.Double(round3(r.connect_s));
  bench::write_latency(w, "handshake_ms", r.handshake, true);
  bench::write_latency(w, "publish_ms", r.publish, true);
  util::write_key(w, "close_codes");
  w.StartObject();
  for (const auto& [code, n] : r.close_codes) {
    util::write_key(w, std::to_string(code));
    w.Uint64(n);
  }
  w.EndObject();
  w.EndObject();
  w.EndObject();
  out << buf.GetString() << '\n' << std::flush;
  return passed ? 0 : static_cast<int>(ExitCode::threshold);
}

} // namespace mp::tools
