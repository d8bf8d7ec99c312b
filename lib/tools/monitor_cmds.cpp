// mp-monitor's ingest, watch and test-rules commands.

#include "tools/monitor_cmds.hpp"
#include "config/tables.hpp"
#include "monitor/alerts.hpp"
#include "monitor/report.hpp"
#include "monitor/store.hpp"
#include "serve/monitor_service.hpp"
#include "util/clock.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <fmt/format.h>
#include <iostream>
#include <thread>

namespace mp::tools {

namespace {

double unix_now() {
  return util::to_unix_seconds(std::chrono::system_clock::now());
}

/// Metric names from JSON keys: bench_ + the key path with non-alphanumerics as `_`.
std::string metric_name(std::string_view path) {
  std::string out = "bench_";
  for (char c : path) {
    out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return out;
}

void numbers(const rapidjson::Value& v, const std::string& path, int depth,
             std::vector<std::pair<std::string, double>>& out) {
  if (v.IsNumber()) {
    out.emplace_back(path, v.GetDouble());
  } else if (v.IsObject() && depth < 3) {
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      const std::string key(m->name.GetString(), m->name.GetStringLength());
      numbers(m->value, path.empty() ? key : fmt::format("{}.{}", path, key), depth + 1, out);
    }
  }
}

volatile std::sig_atomic_t g_stop = 0;

} // namespace

int run_ingest(monitor::Store& store, std::istream& in) {
  std::vector<monitor::Sample> batch;
  std::uint64_t lines = 0, samples = 0;
  const double now = unix_now();
  std::string line;
  auto flush = [&] {
    if (auto ok = store.write(batch); !ok) {
      throw Fatal(ok.error());
    }
    samples += batch.size();
    batch.clear();
  };
  while (std::getline(in, line)) {
    ++lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    auto doc = util::parse_json(line);
    if (!doc || !doc->IsObject()) {
      throw Fatal(Error{
          Errc::usage,
          fmt::format("stdin line {}: {}", lines, doc ? "not a JSON object" : doc.error().message), "stdin"});
    }
    const double ts = util::get_number(*doc, "ts").value_or(now);
    std::string labels;
    for (const char* key : {"run_id", "run", "test", "type"}) {
      if (auto v = util::get_string(*doc, key); v && !v->empty() && v->find(',') == std::string_view::npos) {
        labels += labels.empty() ? "" : ",";
        labels += fmt::format("{}={}", key, *v);
      }
    }
    std::vector<std::pair<std::string, double>> values;
    numbers(*doc, "", 0, values);
    for (auto& [path, value] : values) {
      if (path != "ts" && std::isfinite(value)) {
        batch.push_back({metric_name(path), labels, ts, value});
      }
    }
    if (batch.size() >= 1000) {
      flush();
    }
  }
  flush();
  std::cerr << fmt::format("mp-monitor: ingested {} samples from {} lines\n", samples, lines);
  return 0;
}

int run_watch(const monitor::Store& store, double interval, int count) {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  const bool tty = isatty(STDOUT_FILENO) != 0;
  namespace n = monitor::names;
  const std::vector<const char*> metrics = {n::response_mean,      n::response_p99,    n::error_rate,
                                            n::cache_hit_rate,     n::per_minute,      n::websockets,
                                            n::queue_depth,        n::workers,         n::host_cpu,
                                            "process_cpu_percent", "process_rss_bytes"};
  for (int i = 0; !g_stop && (count <= 0 || i < count); ++i) {
    const double now = unix_now();
    util::Table t{{"metric", "last", "avg_5m", "max_5m"}, {}};
    for (const char* m : metrics) {
      auto value = [&](monitor::Agg agg, double since) -> util::Cell {
        monitor::Query q{m, std::string(), since, now, now - since, agg, std::nullopt};
        auto r = store.query(q);
        if (!r || r->empty() || r->front().points.empty()) {
          return std::monostate{};
        }
        return r->front().points.back().value;
      };
      t.add({std::string(m), value(monitor::Agg::last, now - 60), value(monitor::Agg::avg, now - 300),
             value(monitor::Agg::max, now - 300)});
    }
    if (tty) {
      std::cout << "\x1b[H\x1b[2J"
                << fmt::format("mp-monitor watch (every {} s, Ctrl-C to stop)\n", interval);
    }
    util::render(std::cout, t, tty ? util::Format::table : util::Format::jsonl);
    std::cout.flush();
    if (count > 0 && i + 1 >= count) {
      break;
    }
    for (double slept = 0; slept < interval && !g_stop; slept += 0.1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return 0;
}

// A rules test, like `promtool test rules`: the [[monitoring.alerts]] of a config, input
// series with one value per evaluation, and the states expected after given evaluations.
int run_test_rules(const std::string& file) {
  toml::table doc;
  try {
    doc = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw Fatal(Error{Errc::usage, fmt::format("{}: {}", file, e.description()), "FILE"});
  }
  config::Config cfg;
  if (const auto* rules = doc.at_path("monitoring.alerts").as_array()) {
    if (auto ok = config::apply_alert_rules(cfg, *rules, file); !ok) {
      throw Fatal(Error{Errc::usage, ok.error().message, ok.error().field});
    }
  } else {
    throw Fatal(Error{Errc::usage, fmt::format("{}: no [[monitoring.alerts]] rules to test", file),
                      "monitoring.alerts"});
  }
  if (auto ok = serve::MonitorService::check(cfg.monitoring); !ok) {
    throw Fatal(Error{Errc::usage, ok.error().message, ok.error().field});
  }
  const double interval = doc.at_path("test.interval_seconds").value_or(1.0);
  std::map<std::string, std::vector<double>> series;
  std::size_t steps = 0;
  if (const auto* arr = doc.at_path("test.series").as_array()) {
    for (const auto& node : *arr) {
      const auto* t = node.as_table();
      const auto metric = t ? (*t)["metric"].value<std::string>() : std::nullopt;
      const auto* values = t ? (*t)["values"].as_array() : nullptr;
      if (!metric || !values) {
        throw Fatal(
            Error{Errc::usage, "test.series: each needs metric = \"...\" and values = [...]", "test.series"});
      }
      auto& v = series[*metric];
      for (const auto& x : *values) {
        v.push_back(x.value<double>().value_or(NAN)); // nan = no data at that step
      }
      steps = std::max(steps, v.size());
    }
  }
  struct Expect {
    std::size_t at;
    std::string rule, state, severity;
  };
  std::vector<Expect> expects;
  if (const auto* arr = doc.at_path("test.expect").as_array()) {
    for (const auto& node : *arr) {
      const auto* t = node.as_table();
      Expect e{t ? static_cast<std::size_t>((*t)["at"].value_or(std::int64_t{0})) : 0,
               t ? (*t)["rule"].value_or(std::string()) : "", t ? (*t)["state"].value_or(std::string()) : "",
               t ? (*t)["severity"].value_or(std::string()) : ""};
      if (e.rule.empty() || e.state.empty()) {
        throw Fatal(Error{Errc::usage, "test.expect: each needs at, rule and state", "test.expect"});
      }
      steps = std::max(steps, e.at + 1);
      expects.push_back(std::move(e));
    }
  }
  monitor::AlertEngine engine(serve::MonitorService::rules(cfg.monitoring));
  int failed = 0;
  for (std::size_t step = 0; step < steps; ++step) {
    const auto events = engine.evaluate(
        [&](std::string_view metric) -> std::optional<double> {
          auto it = series.find(std::string(metric));
          if (it == series.end() || step >= it->second.size() || std::isnan(it->second[step])) {
            return std::nullopt;
          }
          return it->second[step];
        },
        static_cast<double>(step) * interval);
    const auto active = engine.active();
    for (const auto& e : expects) {
      if (e.at != step) {
        continue;
      }
      std::string state = "inactive", severity;
      for (const auto& a : active) {
        if (a.rule == e.rule) {
          state = std::string(monitor::state_name(a.state));
          severity = std::string(monitor::severity_name(a.severity));
        }
      }
      for (const auto& ev : events) {
        if (ev.rule == e.rule && ev.state == monitor::AlertState::resolved) {
          state = "resolved";
        }
      }
      const bool ok = state == e.state && (e.severity.empty() || severity == e.severity);
      failed += ok ? 0 : 1;
      std::cout << fmt::format(
          "{} step {}: {} is {}{}{}\n", ok ? "PASS" : "FAIL", step, e.rule, state,
          severity.empty() ? "" : " " + severity,
          ok ? "" : fmt::format(" (expected {}{})", e.state, e.severity.empty() ? "" : " " + e.severity));
    }
  }
  std::cout << fmt::format("{} of {} expectations met\n", expects.size() - static_cast<std::size_t>(failed),
                           expects.size());
  return failed > 0 ? static_cast<int>(ExitCode::threshold) : 0;
}

} // namespace mp::tools
