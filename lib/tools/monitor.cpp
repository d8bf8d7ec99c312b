// mp-monitor: the metrics history mp-serve writes, read straight from its SQLite file
// (--db, default monitoring.db_path), or the report and alerts of a running server (--url).

#include "cli/tool.hpp"
#include "monitor/report.hpp"
#include "monitor/store.hpp"
#include "tools/http_client.hpp"
#include "tools/monitor_cmds.hpp"
#include "tools/tools.hpp"
#include "util/clock.hpp"
#include "util/json.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <iostream>

namespace mp::tools {

namespace {

double unix_now() {
  return util::to_unix_seconds(std::chrono::system_clock::now());
}

/// "90s", "30m", "24h", "7d" before now, or absolute Unix seconds; `flag` names errors.
double parse_time(const std::string& text, const char* flag, double now) {
  if (text.empty() || text == "now") {
    return now;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (ec != std::errc{} || v < 0) {
    throw Fatal(Error{Errc::usage,
                      fmt::format("{}: '{}' is not a time (24h, 30m, 90s, 7d or Unix seconds)", flag, text),
                      flag});
  }
  if (unit.empty()) {
    return v; // Unix seconds
  }
  const double scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : -1;
  if (scale < 0) {
    throw Fatal(Error{Errc::usage, fmt::format("{}: unknown unit in '{}' (s, m, h, d)", flag, text), flag});
  }
  return now - v * scale;
}

/// GET base + path with the admin key from MP_API_KEY, if any.
std::string http_get(const std::string& base, const std::string& path) {
  const char* key = std::getenv("MP_API_KEY");
  HttpClient client(key ? key : "", std::chrono::milliseconds{30'000});
  const std::string url = base + path;
  std::string error;
  auto answer = client.request("GET", url, {}, {}, error);
  if (!answer) {
    throw Fatal(Error{Errc::unavailable, fmt::format("--url {}: {}", base, error), "--url"});
  }
  if (answer->status != 200) {
    throw Fatal(Error{Errc::unavailable, fmt::format("{} answered {}: {}", url, answer->status, answer->body),
                      "--url"});
  }
  return std::move(answer->body);
}

std::unique_ptr<monitor::Store> open_store(const std::string& path) {
  auto store = monitor::Store::open(path, {}, true);
  if (!store) {
    throw Fatal(Error{Errc::config, fmt::format("--db {}: {}", path, store.error().message), "--db"});
  }
  return std::move(*store);
}

void print_json(const std::string& json) {
  if (isatty(STDOUT_FILENO) != 0) {
    if (auto doc = util::parse_json(json)) {
      std::cout << util::to_json(*doc, true) << '\n';
      return;
    }
  }
  std::cout << json << '\n';
}

} // namespace

int monitor_main(int argc, char** argv) {
  CLI::App app{"mp-monitor: metrics history, alerts and reports for mp-serve.", "mp-monitor"};
  cli::CommonOptions common;
  cli::add_common_options(app, common);
  std::string db, url, format;
  app.add_option("--db", db, "the SQLite history (default: monitoring.db_path of the config)");
  app.add_option("--url", url,
                 "a running mp-serve (report, alerts), e.g. http://127.0.0.1:8002; key from MP_API_KEY");
  cli::add_format_option(app, format);
  app.require_subcommand(0, 1);
  app.fallthrough(); // --db, --url and --format may follow the command

  auto* query = app.add_subcommand("query", "a metric's series over a time range");
  std::string metric, labels, since = "1h", until = "now", agg = "avg", tier;
  double step = 0;
  query->add_option("metric", metric, "metric name (mp-monitor query --list shows them)");
  bool list = false;
  query->add_flag("--list", list, "list the stored metrics instead");
  query->add_option("--labels", labels, "one series: k=v,k2=v2 (default: every series of the metric)");
  query->add_option("--since", since, "start: 90s, 30m, 24h, 7d ago, or Unix seconds")->capture_default_str();
  query->add_option("--until", until, "end, likewise")->capture_default_str();
  query->add_option("--step", step, "bucket seconds (0: about 300 points)")->capture_default_str();
  query->add_option("--agg", agg, "avg min max sum count last p50 p90 p95 p99")->capture_default_str();
  query->add_option("--tier", tier, "raw, minute or hour (default: automatic)");

  auto* report = app.add_subcommand("report", "health score, SLA, burn rates, alerts, scaling advice (JSON)");
  double hours = 24;
  std::string fail_on;
  report->add_option("--hours", hours, "the report's period")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 8784.0));
  report->add_option("--fail-on", fail_on, "exit 99 when an alert of this severity or worse fires")
      ->check(CLI::IsMember({"warning", "critical"}));

  auto* alerts = app.add_subcommand("alerts", "alert records (state changes), newest last");
  bool active_only = false;
  std::string alerts_since = "24h";
  alerts->add_flag("--active", active_only, "only alerts pending or firing now");
  alerts->add_option("--since", alerts_since, "start: 90s, 30m, 24h, 7d ago, or Unix seconds")
      ->capture_default_str();

  auto* exp = app.add_subcommand("export", "raw samples for cron and other tools");
  std::string exp_since = "1h", exp_until = "now", exp_format = "jsonl";
  exp->add_option("--since", exp_since, "start")->capture_default_str();
  exp->add_option("--until", exp_until, "end")->capture_default_str();
  exp->add_option("--format", exp_format, "jsonl or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();

  auto* ingest = app.add_subcommand("ingest", "store mp-bench NDJSON from stdin as series (bench_*)");
  auto* watch = app.add_subcommand("watch", "a live view of the main metrics");
  double watch_interval = 2;
  int watch_count = 0;
  watch->add_option("--interval", watch_interval, "seconds between redraws")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  watch->add_option("--count", watch_count, "stop after this many redraws (0: until Ctrl-C)")
      ->capture_default_str();
  auto* test_rules =
      app.add_subcommand("test-rules", "check alert rules against given series (like promtool test rules)");
  std::string rules_file;
  test_rules
      ->add_option(
          "file", rules_file,
          "a TOML file: [[monitoring.alerts]], [test] interval_seconds, [[test.series]], [[test.expect]]")
      ->required();

  return cli::run_tool("mp-monitor", app, argc, argv, [&]() -> int {
    auto cfg = cli::load_config("mp-monitor", common);
    if (common.print_config) {
      cli::print_config(cfg);
      return 0;
    }
    const double now = unix_now();
    const std::string path = db.empty() ? cfg.monitoring.db_path : db;
    if (report->parsed()) {
      std::string json;
      if (!url.empty()) {
        json = http_get(url, fmt::format("/api/performance/report?hours={}", hours));
      } else {
        auto store = open_store(path);
        monitor::ReportInputs in;
        in.now = now;
        in.hours = hours;
        const auto& s = cfg.monitoring.sla;
        in.sla = {s.urgent_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.error_rate_percent, s.cache_hit_rate_percent};
        in.apdex_t_ms = cfg.monitoring.apdex_t_ms;
        json = value_or_throw(monitor::build_report(*store, in));
      }
      print_json(json);
      const auto v = monitor::verdict_of(json);
      const bool failed =
          (fail_on == "critical" && v.critical > 0) || (fail_on == "warning" && v.critical + v.warning > 0);
      if (failed) {
        std::cerr << fmt::format("mp-monitor: {} critical and {} warning alert(s) firing\n", v.critical,
                                 v.warning);
        return static_cast<int>(ExitCode::threshold);
      }
      return 0;
    }
    if (alerts->parsed()) {
      if (!url.empty()) {
        print_json(http_get(url, fmt::format("/api/performance/alerts?hours={}",
                                             (now - parse_time(alerts_since, "--since", now)) / 3600)));
        return 0;
      }
      auto store = open_store(path);
      const auto records =
          value_or_throw(store->alerts(parse_time(alerts_since, "--since", now), active_only));
      util::Table t{{"ts", "rule", "state", "severity", "value", "description"}, {}};
      for (const auto& r : records) {
        t.add({r.ts, r.rule, r.state, r.severity, r.value, r.description});
      }
      util::render(std::cout, t, value_or_throw(cli::resolve_format(format)));
      return 0;
    }
    if (test_rules->parsed()) {
      return run_test_rules(rules_file);
    }
    if (url.size() && (query->parsed() || exp->parsed() || ingest->parsed() || watch->parsed())) {
      throw Fatal(Error{Errc::usage, "--url: query, export, ingest and watch use the history file: give --db",
                        "--url"});
    }
    if (query->parsed()) {
      auto store = open_store(path);
      if (list) {
        util::Table t{{"metric"}, {}};
        for (const auto& m : value_or_throw(store->metrics())) {
          t.add({m});
        }
        util::render(std::cout, t, value_or_throw(cli::resolve_format(format)));
        return 0;
      }
      if (metric.empty()) {
        throw Fatal(Error{Errc::usage, "query: give a METRIC (or --list)", "metric"});
      }
      monitor::Query q;
      q.metric = metric;
      if (!labels.empty()) {
        q.labels = labels;
      }
      q.since = parse_time(since, "--since", now);
      q.until = parse_time(until, "--until", now);
      q.step = step;
      auto a = monitor::parse_agg(agg);
      if (!a) {
        throw Fatal(
            Error{Errc::usage,
                  fmt::format("--agg: '{}' is not one of avg min max sum count last p50 p90 p95 p99", agg),
                  "--agg"});
      }
      q.agg = *a;
      if (!tier.empty()) {
        q.tier = monitor::parse_tier(tier);
        if (!q.tier) {
          throw Fatal(
              Error{Errc::usage, fmt::format("--tier: '{}' is not raw, minute or hour", tier), "--tier"});
        }
      }
      auto result = store->query(q);
      if (!result && result.error().code == Errc::not_found) {
        throw Fatal(Error{Errc::usage, fmt::format("query: {}", result.error().message), "metric"});
      }
      util::Table t{{"ts", "metric", "labels", "value"}, {}};
      for (const auto& s : value_or_throw(std::move(result))) {
        for (const auto& p : s.points) {
          t.add({p.ts, s.metric, s.labels, p.value});
        }
      }
      util::render(std::cout, t, value_or_throw(cli::resolve_format(format)));
      return 0;
    }
    if (ingest->parsed()) {
      auto store = monitor::Store::open(path);
      if (!store) {
        throw Fatal(Error{Errc::config, fmt::format("--db {}: {}", path, store.error().message), "--db"});
      }
      return run_ingest(**store, std::cin);
    }
    if (watch->parsed()) {
      auto store = open_store(path);
      return run_watch(*store, watch_interval, watch_count);
    }
    if (exp->parsed()) {
      auto store = open_store(path);
      const auto samples = value_or_throw(store->export_samples(parse_time(exp_since, "--since", now),
                                                                parse_time(exp_until, "--until", now)));
      util::Table t{{"ts", "metric", "labels", "value"}, {}};
      for (const auto& s : samples) {
        t.add({s.ts, s.metric, s.labels, s.value});
      }
      util::render(std::cout, t, exp_format == "csv" ? util::Format::csv : util::Format::jsonl);
      return 0;
    }
    std::cout << app.help();
    return 0;
  });
}

} // namespace mp::tools
