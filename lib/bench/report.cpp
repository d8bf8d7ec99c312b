// `mp-bench report`: the table, JSON and CSV renderings of a run (HTML: report_html.cpp).

#include "bench/report.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <ctime>
#include <ostream>
#include <set>

namespace mp::bench {

namespace {

using rapidjson::Value;

const Value* member(const Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return nullptr;
  }
  const auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

double number(const Value& obj, const char* name) {
  return obj.IsObject() ? util::get_number(obj, name).value_or(0) : 0;
}

std::int64_t count(const Value& obj, const char* name) {
  return static_cast<std::int64_t>(number(obj, name));
}

std::string text(const Value& obj, const char* name) {
  return obj.IsObject() ? std::string(util::get_string(obj, name).value_or("")) : std::string();
}

Percentiles percentiles(const Value& summary, const char* name) {
  Percentiles p;
  if (const Value* v = member(summary, name)) {
    p = {number(*v, "p50"),   number(*v, "p90"), number(*v, "p95"), number(*v, "p99"),
         number(*v, "p99_9"), number(*v, "max"), number(*v, "mean")};
  }
  return p;
}

std::vector<std::string> strings(const Value& summary, const char* name) {
  std::vector<std::string> out;
  if (const Value* v = member(summary, name); v && v->IsArray()) {
    for (const auto& s : v->GetArray()) {
      if (s.IsString()) {
        out.emplace_back(s.GetString(), s.GetStringLength());
      }
    }
  }
  return out;
}

void view_thresholds(const Value& summary, SummaryView& v) {
  const Value* arr = member(summary, "thresholds");
  if (arr == nullptr || !arr->IsArray()) {
    return;
  }
  for (const auto& t : arr->GetArray()) {
    if (!t.IsObject()) {
      continue;
    }
    ThresholdResult r{text(t, "expr"),    text(t, "metric"),
                      number(t, "limit"), util::get_number(t, "value"),
                      text(t, "unit"),    util::get_bool(t, "ok").value_or(false)};
    if (r.expr.empty()) {
      r.expr = fmt::format("{}{}{:g}{}", text(t, "metric"), text(t, "op"), number(t, "limit"), r.unit);
    }
    v.thresholds.push_back(std::move(r));
  }
}

std::string ms(double v) {
  return fmt::format("{:.{}f}", v, v < 10 ? 2 : v < 1000 ? 1 : 0);
}

std::string percent(double fraction) {
  return fmt::format("{:.2f}%", fraction * 100);
}

void print_list(std::ostream& out, const char* title, const std::vector<std::string>& items) {
  if (items.empty()) {
    return;
  }
  out << title << '\n';
  for (const auto& s : items) {
    out << "  - " << s << '\n';
  }
}

void print_summary(std::ostream& out, const SummaryView& v, ReportOptions opts) {
  const char* red = opts.color ? "\x1b[1;31m" : "";
  const char* green = opts.color ? "\x1b[1;32m" : "";
  const char* bold = opts.color ? "\x1b[1m" : "";
  const char* reset = opts.color ? "\x1b[0m" : "";
  const std::string verdict = !v.passed ? "NOT EVALUATED" : *v.passed ? "PASS" : "FAIL";
  const char* hue = !v.passed ? "" : *v.passed ? green : red;
  out << bold << fmt::format("{} run {}", v.test.empty() ? "mp-bench" : v.test, v.run_id) << reset << "  "
      << format_utc(v.ts) << "  " << hue << verdict << reset << (v.aborted ? " (aborted)" : "") << '\n';
  if (!v.url.empty()) {
    out << fmt::format("{:<13}{} ({}{})\n", "target", v.url, v.target.empty() ? "?" : v.target,
                       v.model.empty() ? "" : ", " + v.model + " model");
  }
  out << fmt::format("{:<13}{:.1f} s measured (warm-up excluded)\n", "duration", v.duration_s);
  out << fmt::format("{:<13}target {:.1f} req/s, achieved {:.1f} req/s\n", "rate", v.target_rps,
                     v.achieved_rps);
  out << fmt::format("{:<13}{}  ok {}  errors {} ({})", "requests", group_thousands(v.requests),
                     group_thousands(v.ok), group_thousands(v.errors), percent(v.error_rate));
  if (!v.error_kinds.empty()) {
    std::vector<std::string> kinds;
    kinds.reserve(v.error_kinds.size());
    for (const auto& [k, n] : v.error_kinds) {
      kinds.push_back(fmt::format("{} {}", k, group_thousands(n)));
    }
    out << "  [" << fmt::format("{}", fmt::join(kinds, ", ")) << ']';
  }
  out << '\n';
  out << fmt::format("{:<13}{} ({})  dropped {}\n", "late", group_thousands(v.late), percent(v.late_rate),
                     group_thousands(v.dropped));
  const auto& l = v.latency_ms;
  out << fmt::format("{:<13}p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}  mean {}\n", "latency ms",
                     ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99), ms(l.p99_9), ms(l.max), ms(l.mean));
  if (v.service_ms.p99 > 0) {
    out << fmt::format("{:<13}p50 {}  p99 {}  (from actual send)\n", "service ms", ms(v.service_ms.p50),
                       ms(v.service_ms.p99));
  }
  out << fmt::format("{:<13}CPU mean {:.0f}%, max {:.0f}%{}\n", "generator", v.cpu_mean, v.cpu_max,
                     v.saturated ? " (saturated: its latencies are inflated)" : "");
  if (!v.ws.empty()) {
    out << "websocket\n";
    for (const auto& [label, value] : v.ws) {
      out << fmt::format("  {:<13}{}\n", label, value);
    }
  }
  if (!v.thresholds.empty()) {
    out << "thresholds\n";
    for (const auto& t : v.thresholds) {
      out << "  " << (t.ok ? green : red) << (t.ok ? "pass" : "FAIL") << reset
          << fmt::format("  {:<24} {}\n", t.expr, format_threshold_value(t));
    }
  }
  if (v.breaking_point) {
    out << fmt::format("{:<13}breaking point {} {} (limiting factor: {})\n", "capacity",
                       group_thousands(std::llround(*v.breaking_point)), v.breaking_point_unit,
                       v.limiting_factor.empty() ? "none" : v.limiting_factor);
  }
  print_list(out, "recommendations", v.recommendations);
  print_list(out, "warnings", v.warnings);
}

/// The CSV's table: every field of each measured interval, a column per error kind.
util::Table csv_table(const RunData& run) {
  std::set<std::string> kinds;
  for (const auto& iv : run.intervals) {
    for (const auto& [k, n] : iv.error_kinds) {
      kinds.insert(k);
    }
  }
  util::Table t;
  t.columns = {"t",        "dt",     "stage",   "target_rps",     "achieved_rps",  "requests",   "ok",
               "errors",   "late",   "dropped", "p50_ms",         "p90_ms",        "p95_ms",     "p99_ms",
               "p99_9_ms", "max_ms", "mean_ms", "service_p99_ms", "generator_cpu", "connections"};
  for (const auto& k : kinds) {
    t.columns.push_back("errors_" + k);
  }
  for (const auto* iv : measured_intervals(run)) {
    const auto& l = iv->latency_ms;
    std::vector<util::Cell> row{iv->t,
                                iv->dt,
                                iv->stage,
                                iv->target_rps,
                                iv->achieved_rps,
                                iv->requests,
                                iv->ok,
                                iv->errors,
                                iv->late,
                                iv->dropped,
                                l.p50,
                                l.p90,
                                l.p95,
                                l.p99,
                                l.p99_9,
                                l.max,
                                l.mean,
                                iv->service_p99_ms,
                                iv->generator_cpu,
                                iv->connections};
    for (const auto& k : kinds) {
      const auto it = iv->error_kinds.find(k);
      row.emplace_back(it == iv->error_kinds.end() ? std::int64_t{0} : it->second);
    }
    t.add(std::move(row));
  }
  return t;
}

/// The table's interval rows: right-aligned columns, fixed decimals per column so the
/// digits line up (util::render's {:.6g} would not).
void print_intervals(std::ostream& out, const RunData& run, ReportOptions opts) {
  const std::vector<std::string> header{"t",      "stage", "target",  "achieved", "requests",
                                        "errors", "late",  "dropped", "p50",      "p95",
                                        "p99",    "max",   "cpu%",    "conns"};
  std::vector<std::vector<std::string>> rows;
  for (const auto* iv : measured_intervals(run)) {
    const auto& l = iv->latency_ms;
    rows.push_back({fmt::format("{:g}", iv->t), std::to_string(iv->stage),
                    fmt::format("{:.0f}", iv->target_rps), fmt::format("{:.1f}", iv->achieved_rps),
                    group_thousands(iv->requests), group_thousands(iv->errors), group_thousands(iv->late),
                    group_thousands(iv->dropped), fmt::format("{:.2f}", l.p50), fmt::format("{:.2f}", l.p95),
                    fmt::format("{:.2f}", l.p99), fmt::format("{:.2f}", l.max),
                    fmt::format("{:.0f}", iv->generator_cpu), std::to_string(iv->connections)});
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& r : rows) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out << (i ? "  " : "") << fmt::format("{:>{}}", cells[i], width[i]);
    }
    out << '\n';
  };
  out << (opts.color ? "\x1b[1m" : "");
  line(header);
  out << (opts.color ? "\x1b[0m" : "");
  for (const auto& r : rows) {
    line(r);
  }
}

Value interval_json(const Interval& iv, rapidjson::Document::AllocatorType& a) {
  Value o(rapidjson::kObjectType);
  o.AddMember("t", iv.t, a).AddMember("dt", iv.dt, a).AddMember("stage", iv.stage, a);
  o.AddMember("warmup", iv.warmup, a).AddMember("target_rps", iv.target_rps, a);
  o.AddMember("achieved_rps", iv.achieved_rps, a).AddMember("requests", iv.requests, a);
  o.AddMember("ok", iv.ok, a).AddMember("errors", iv.errors, a).AddMember("late", iv.late, a);
  o.AddMember("dropped", iv.dropped, a);
  const auto& l = iv.latency_ms;
  Value lat(rapidjson::kObjectType);
  lat.AddMember("p50", l.p50, a).AddMember("p90", l.p90, a).AddMember("p95", l.p95, a);
  lat.AddMember("p99", l.p99, a).AddMember("p99_9", l.p99_9, a).AddMember("max", l.max, a);
  lat.AddMember("mean", l.mean, a);
  o.AddMember("latency_ms", lat, a);
  Value service(rapidjson::kObjectType);
  service.AddMember("p99", iv.service_p99_ms, a);
  o.AddMember("service_ms", service, a);
  Value kinds(rapidjson::kObjectType);
  for (const auto& [k, n] : iv.error_kinds) {
    kinds.AddMember(Value(k.c_str(), a), Value(static_cast<std::int64_t>(n)), a);
  }
  o.AddMember("error_kinds", kinds, a);
  o.AddMember("generator_cpu", iv.generator_cpu, a).AddMember("connections", iv.connections, a);
  return o;
}

void render_json(std::ostream& out, const RunData& run) {
  rapidjson::Document doc;
  doc.CopyFrom(run.summary, doc.GetAllocator());
  if (!doc.IsObject()) {
    doc.SetObject();
  }
  auto& a = doc.GetAllocator();
  doc.RemoveMember("intervals");
  Value arr(rapidjson::kArrayType);
  for (const auto& iv : run.intervals) {
    arr.PushBack(interval_json(iv, a), a);
  }
  doc.AddMember("intervals", arr, a);
  out << util::to_json(doc, true) << '\n';
}

/// The WebSocket block: connections, handshake time and delivery (spec: "ws").
std::vector<std::pair<std::string, std::string>> view_ws(const Value& ws) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("connections", fmt::format("{} open of {}, {} failed to connect",
                                               group_thousands(count(ws, "connections_open")),
                                               group_thousands(count(ws, "connections_target")),
                                               group_thousands(count(ws, "connect_failures"))));
  if (const Value* hs = member(ws, "handshake_ms")) {
    rows.emplace_back("handshake",
                      fmt::format("p50 {} ms, p99 {} ms", ms(number(*hs, "p50")), ms(number(*hs, "p99"))));
  }
  rows.emplace_back("messages", fmt::format("{} received of {} expected ({} published)",
                                            group_thousands(count(ws, "messages_received")),
                                            group_thousands(count(ws, "messages_expected")),
                                            group_thousands(count(ws, "messages_published"))));
  rows.emplace_back("delivery", fmt::format("{:.4f}, {} gaps, {} dropped notices",
                                            number(ws, "delivery_ratio"), group_thousands(count(ws, "gaps")),
                                            group_thousands(count(ws, "dropped_notices"))));
  return rows;
}

} // namespace

Expected<ReportFormat> parse_report_format(std::string_view name) {
  if (name == "table") {
    return ReportFormat::table;
  }
  if (name == "json") {
    return ReportFormat::json;
  }
  if (name == "csv") {
    return ReportFormat::csv;
  }
  if (name == "html") {
    return ReportFormat::html;
  }
  return fail(Errc::usage, fmt::format("--format: unknown format '{}' (table, json, csv, html)", name),
              "--format");
}

std::optional<ReportFormat> report_format_for_path(std::string_view path) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  const auto ext = path.substr(dot + 1);
  if (ext == "html" || ext == "htm") {
    return ReportFormat::html;
  }
  if (ext == "json") {
    return ReportFormat::json;
  }
  if (ext == "csv") {
    return ReportFormat::csv;
  }
  if (ext == "txt") {
    return ReportFormat::table;
  }
  return std::nullopt;
}

SummaryView view_summary(const RunData& run) {
  const Value& s = run.summary;
  SummaryView v;
  v.test = text(s, "test").empty() ? run.test : text(s, "test");
  v.run_id = text(s, "run_id").empty() ? run.run_id : text(s, "run_id");
  v.ts = run.ts != 0 ? run.ts : number(s, "ts");
  if (const Value* cfg = member(s, "config")) {
    v.target = text(*cfg, "target");
    v.url = text(*cfg, "url");
    v.model = text(*cfg, "model");
  }
  if (const Value* p = member(s, "passed"); p && p->IsBool()) {
    v.passed = p->GetBool();
  }
  v.aborted = s.IsObject() && util::get_bool(s, "aborted").value_or(false);
  v.complete = run.complete;
  v.duration_s = number(s, "duration_s");
  v.target_rps = number(s, "target_rps");
  v.achieved_rps = member(s, "achieved_rps") ? number(s, "achieved_rps") : number(s, "rps");
  v.requests = count(s, "requests");
  v.ok = count(s, "ok");
  v.errors = count(s, "errors");
  v.late = count(s, "late");
  v.dropped = count(s, "dropped");
  v.error_rate = number(s, "error_rate");
  v.late_rate = number(s, "late_rate");
  v.latency_ms = percentiles(s, "latency_ms");
  v.service_ms = percentiles(s, "service_ms");
  if (const Value* kinds = member(s, "error_kinds"); kinds && kinds->IsObject()) {
    for (const auto& m : kinds->GetObject()) {
      if (m.value.IsNumber() && m.value.GetDouble() != 0) {
        v.error_kinds[m.name.GetString()] = static_cast<std::int64_t>(m.value.GetDouble());
      }
    }
  }
  if (const Value* cap = member(s, "system_capacity")) {
    v.breaking_point = util::get_number(*cap, "breaking_point");
    v.breaking_point_unit = text(*cap, "breaking_point_unit");
    v.limiting_factor = text(*cap, "limiting_factor");
  }
  if (const Value* gen = member(s, "generator")) {
    v.cpu_mean = number(*gen, "cpu_percent_mean");
    v.cpu_max = number(*gen, "cpu_percent_max");
    v.saturated = util::get_bool(*gen, "saturated").value_or(false);
  }
  view_thresholds(s, v);
  if (const Value* ws = member(s, "ws"); ws && ws->IsObject()) {
    v.ws = view_ws(*ws);
  }
  v.recommendations = strings(s, "recommendations");
  v.warnings = strings(s, "warnings");
  return v;
}

std::string format_threshold_value(const ThresholdResult& t) {
  if (!t.value) {
    return "-";
  }
  // Rates are fractions in the summary whatever unit the expression was written in.
  if (t.unit == "ratio" || t.unit == "%") {
    return fmt::format("{:.3g}%", *t.value * 100);
  }
  return t.unit.empty() ? fmt::format("{:g}", *t.value) : fmt::format("{:g} {}", *t.value, t.unit);
}

std::string group_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_utc(double unix_seconds) {
  if (unix_seconds <= 0) {
    return {};
  }
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void render_report(std::ostream& out, const RunData& run, ReportFormat format, ReportOptions opts) {
  switch (format) {
  case ReportFormat::table:
    print_summary(out, view_summary(run), opts);
    out << "\nintervals (measured, warm-up excluded; latency in ms)\n";
    print_intervals(out, run, opts);
    return;
  case ReportFormat::json: render_json(out, run); return;
  case ReportFormat::csv: util::render(out, csv_table(run), util::Format::csv); return;
  case ReportFormat::html: render_html(out, run); return;
  }
}

} // namespace mp::bench
