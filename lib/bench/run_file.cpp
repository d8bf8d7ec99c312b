// Reading a run file. The NDJSON is read line by line so an error names its line; a file
// that is one pretty JSON object (`report --format json`) is recognised when its first line
// does not parse alone but the whole text does.
//
// A run killed before its summary line is still worth a report, so the summary is rebuilt
// from the measured intervals. Counts and rates are exact sums; percentiles cannot be
// merged from per-interval percentiles, so each is the worst interval's: an upper bound,
// which errs on the side a reader of a failing run wants. The rebuilt summary says so in
// its `warnings` and carries `"complete": false`.

#include "bench/run_file.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <istream>
#include <iterator>

namespace mp::bench {

namespace {

using rapidjson::Value;

/// Sets `out` from member `name` when it is present; false when present but not a number.
bool read_number(const Value& obj, const char* name, double& out) {
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    return true;
  }
  if (!it->value.IsNumber()) {
    return false;
  }
  out = it->value.GetDouble();
  return true;
}

bool read_count(const Value& obj, const char* name, std::int64_t& out) {
  double v = static_cast<double>(out);
  if (!read_number(obj, name, v)) {
    return false;
  }
  out = static_cast<std::int64_t>(v);
  return true;
}

Expected<Percentiles> parse_percentiles(const Value& obj, const char* name) {
  Percentiles p;
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) {
    return p;
  }
  if (!it->value.IsObject()) {
    return fail(Errc::usage, fmt::format("\"{}\" is not an object", name), name);
  }
  const Value& v = it->value;
  for (auto [key, out] : {std::pair{"p50", &p.p50},
                          {"p90", &p.p90},
                          {"p95", &p.p95},
                          {"p99", &p.p99},
                          {"p99_9", &p.p99_9},
                          {"max", &p.max},
                          {"mean", &p.mean}}) {
    if (!read_number(v, key, *out)) {
      return fail(Errc::usage, fmt::format("\"{}.{}\" is not a number", name, key), name);
    }
  }
  return p;
}

Expected<Interval> parse_interval(const Value& v) {
  Interval iv;
  for (auto [key, out] : {std::pair{"t", &iv.t},
                          {"dt", &iv.dt},
                          {"target_rps", &iv.target_rps},
                          {"achieved_rps", &iv.achieved_rps},
                          {"generator_cpu", &iv.generator_cpu}}) {
    if (!read_number(v, key, *out)) {
      return fail(Errc::usage, fmt::format("\"{}\" is not a number", key), key);
    }
  }
  for (auto [key, out] : {std::pair{"stage", &iv.stage},
                          {"requests", &iv.requests},
                          {"ok", &iv.ok},
                          {"errors", &iv.errors},
                          {"late", &iv.late},
                          {"dropped", &iv.dropped},
                          {"connections", &iv.connections}}) {
    if (!read_count(v, key, *out)) {
      return fail(Errc::usage, fmt::format("\"{}\" is not a number", key), key);
    }
  }
  iv.warmup = util::get_bool(v, "warmup").value_or(false);
  auto latency = parse_percentiles(v, "latency_ms");
  if (!latency) {
    return std::unexpected(latency.error());
  }
  iv.latency_ms = *latency;
  auto service = parse_percentiles(v, "service_ms");
  if (!service) {
    return std::unexpected(service.error());
  }
  iv.service_p99_ms = service->p99;
  if (const auto it = v.FindMember("error_kinds"); it != v.MemberEnd() && it->value.IsObject()) {
    for (const auto& m : it->value.GetObject()) {
      if (!m.value.IsNumber()) {
        return fail(Errc::usage, fmt::format("\"error_kinds.{}\" is not a number", m.name.GetString()),
                    "error_kinds");
      }
      if (const auto n = static_cast<std::int64_t>(m.value.GetDouble()); n != 0) {
        iv.error_kinds[m.name.GetString()] = n;
      }
    }
  }
  return iv;
}

void add_number(Value& obj, const char* key, double v, rapidjson::Document::AllocatorType& a) {
  obj.AddMember(rapidjson::StringRef(key), Value(v), a);
}

void add_count(Value& obj, const char* key, std::int64_t v, rapidjson::Document::AllocatorType& a) {
  obj.AddMember(rapidjson::StringRef(key), Value(static_cast<std::int64_t>(v)), a);
}

void add_string(Value& obj, const char* key, std::string_view s, rapidjson::Document::AllocatorType& a) {
  obj.AddMember(rapidjson::StringRef(key), Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a), a);
}

/// The upper-bound latency object of `ivs` (see the top of the file).
Value rebuilt_latency(const std::vector<const Interval*>& ivs, rapidjson::Document::AllocatorType& a) {
  Percentiles worst;
  double weighted_mean = 0;
  std::int64_t n = 0;
  for (const auto* iv : ivs) {
    const auto& p = iv->latency_ms;
    worst.p50 = std::max(worst.p50, p.p50);
    worst.p90 = std::max(worst.p90, p.p90);
    worst.p95 = std::max(worst.p95, p.p95);
    worst.p99 = std::max(worst.p99, p.p99);
    worst.p99_9 = std::max(worst.p99_9, p.p99_9);
    worst.max = std::max(worst.max, p.max);
    weighted_mean += p.mean * static_cast<double>(iv->requests);
    n += iv->requests;
  }
  Value lat(rapidjson::kObjectType);
  add_number(lat, "p50", worst.p50, a);
  add_number(lat, "p90", worst.p90, a);
  add_number(lat, "p95", worst.p95, a);
  add_number(lat, "p99", worst.p99, a);
  add_number(lat, "p99_9", worst.p99_9, a);
  add_number(lat, "max", worst.max, a);
  add_number(lat, "mean", n > 0 ? weighted_mean / static_cast<double>(n) : 0.0, a);
  return lat;
}

/// Sums of the intervals a rebuilt summary covers; rates are weighted by interval length.
struct Totals {
  double duration = 0, target = 0, cpu_sum = 0, cpu_max = 0;
  std::int64_t requests = 0, ok = 0, errors = 0, late = 0, dropped = 0;
  std::map<std::string, std::int64_t> kinds;
};

Totals totals(const std::vector<const Interval*>& ivs) {
  Totals t;
  for (const auto* iv : ivs) {
    t.duration += iv->dt;
    t.target += iv->target_rps * iv->dt;
    t.cpu_sum += iv->generator_cpu * iv->dt;
    t.cpu_max = std::max(t.cpu_max, iv->generator_cpu);
    t.requests += iv->requests;
    t.ok += iv->ok;
    t.errors += iv->errors;
    t.late += iv->late;
    t.dropped += iv->dropped;
    for (const auto& [k, n] : iv->error_kinds) {
      t.kinds[k] += n;
    }
  }
  return t;
}

/// A summary rebuilt from the measured intervals of a run that has no summary line.
void rebuild_summary(RunData& run) {
  auto ivs = measured_intervals(run);
  std::string why = fmt::format("no summary line: the run stopped after {} intervals (t={:.0f} s); "
                                "figures are rebuilt from the measured intervals, percentiles are "
                                "the worst interval's (an upper bound) and thresholds are not evaluated",
                                run.intervals.size(), run.intervals.empty() ? 0.0 : run.intervals.back().t);
  if (ivs.empty()) {
    for (const auto& iv : run.intervals) {
      ivs.push_back(&iv);
    }
    why += "; it stopped during the warm-up, whose intervals are used";
  }
  run.complete = false;
  run.warnings.push_back(why);

  auto& s = run.summary;
  auto& a = s.GetAllocator();
  s.SetObject();
  add_string(s, "type", "summary", a);
  add_string(s, "run_id", run.run_id, a);
  add_string(s, "test", run.test, a);
  add_number(s, "ts", run.ts, a);
  if (run.start.IsObject() && run.start.HasMember("config")) {
    s.AddMember("config", Value(run.start["config"], a), a);
  }
  const Totals sum = totals(ivs);
  const double duration = sum.duration, target = sum.target, cpu_sum = sum.cpu_sum, cpu_max = sum.cpu_max;
  const std::int64_t requests = sum.requests, ok = sum.ok, errors = sum.errors, late = sum.late,
                     dropped = sum.dropped;
  const auto& kinds = sum.kinds;
  const auto per = [](double x, double d) { return d > 0 ? x / d : 0.0; };
  add_number(s, "duration_s", duration, a);
  add_count(s, "requests", requests, a);
  add_count(s, "ok", ok, a);
  add_count(s, "errors", errors, a);
  add_number(s, "error_rate", per(static_cast<double>(errors), static_cast<double>(requests)), a);
  add_count(s, "late", late, a);
  add_count(s, "dropped", dropped, a);
  add_number(s, "late_rate", per(static_cast<double>(late), static_cast<double>(requests)), a);
  add_number(s, "target_rps", per(target, duration), a);
  add_number(s, "achieved_rps", per(static_cast<double>(requests), duration), a);
  add_number(s, "rps", per(static_cast<double>(requests), duration), a);
  s.AddMember("latency_ms", rebuilt_latency(ivs, a), a);
  Value kinds_obj(rapidjson::kObjectType);
  for (const auto& [k, n] : kinds) {
    kinds_obj.AddMember(Value(k.c_str(), a), Value(static_cast<std::int64_t>(n)), a);
  }
  s.AddMember("error_kinds", kinds_obj, a);
  Value gen(rapidjson::kObjectType);
  add_number(gen, "cpu_percent_mean", per(cpu_sum, duration), a);
  add_number(gen, "cpu_percent_max", cpu_max, a);
  gen.AddMember("saturated", cpu_max > 80, a);
  s.AddMember("generator", gen, a);
  s.AddMember("complete", false, a);
  Value warnings(rapidjson::kArrayType);
  for (const auto& w : run.warnings) {
    warnings.PushBack(Value(w.c_str(), a), a);
  }
  s.AddMember("warnings", warnings, a);
}

/// Appends the reader's warnings to the summary's own `warnings` array.
void merge_warnings(RunData& run) {
  auto& s = run.summary;
  auto& a = s.GetAllocator();
  if (!s.HasMember("warnings") || !s["warnings"].IsArray()) {
    s.RemoveMember("warnings");
    s.AddMember("warnings", Value(rapidjson::kArrayType), a);
  }
  for (const auto& w : run.warnings) {
    s["warnings"].PushBack(Value(w.c_str(), a), a);
  }
}

/// `mp-bench report --format json` output: the summary plus an "intervals" array.
Expected<RunData> from_report_json(rapidjson::Document doc) {
  RunData run;
  const auto arr = doc.FindMember("intervals");
  if (arr == doc.MemberEnd() || !arr->value.IsArray()) {
    return fail(Errc::usage, "a JSON object without \"intervals\": not an mp-bench report");
  }
  std::size_t i = 0;
  for (const auto& v : arr->value.GetArray()) {
    ++i;
    Expected<Interval> iv = fail(Errc::usage, "not a JSON object");
    if (v.IsObject()) {
      iv = parse_interval(v);
    }
    if (!iv) {
      return fail(Errc::usage, fmt::format("intervals[{}]: {}", i - 1, iv.error().message));
    }
    run.intervals.push_back(*iv);
  }
  doc.RemoveMember("intervals");
  run.run_id = std::string(util::get_string(doc, "run_id").value_or(""));
  run.test = std::string(util::get_string(doc, "test").value_or(""));
  run.ts = util::get_number(doc, "ts").value_or(0);
  run.complete = util::get_bool(doc, "complete").value_or(true);
  run.summary = std::move(doc);
  return run;
}

struct LineReader {
  RunData run;
  bool have_run_id = false;
  std::size_t foreign = 0;
  bool have_summary = false;

  Expected<void> take(const rapidjson::Document& doc, std::size_t line);
};

Expected<void> LineReader::take(const rapidjson::Document& doc, std::size_t line) {
  const auto type = util::get_string(doc, "type");
  if (!type) {
    return fail(Errc::usage, fmt::format("line {}: no \"type\" string", line), "type");
  }
  const auto run_id = util::get_string(doc, "run_id").value_or("");
  if (!have_run_id) {
    run.run_id = std::string(run_id);
    run.test = std::string(util::get_string(doc, "test").value_or(""));
    run.ts = util::get_number(doc, "ts").value_or(0);
    have_run_id = true;
  } else if (run_id != run.run_id) {
    ++foreign;
    return {};
  }
  if (*type == "start") {
    run.start.CopyFrom(doc, run.start.GetAllocator());
  } else if (*type == "interval") {
    auto iv = parse_interval(doc);
    if (!iv) {
      return fail(Errc::usage, fmt::format("line {}: interval: {}", line, iv.error().message),
                  iv.error().field);
    }
    run.intervals.push_back(*iv);
  } else if (*type == "summary") {
    run.summary.CopyFrom(doc, run.summary.GetAllocator());
    have_summary = true;
  }
  return {};
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

} // namespace

std::vector<const Interval*> measured_intervals(const RunData& run) {
  std::vector<const Interval*> out;
  for (const auto& iv : run.intervals) {
    if (!iv.warmup) {
      out.push_back(&iv);
    }
  }
  return out;
}

Expected<RunData> read_run(std::istream& in) {
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return fail(Errc::io, "read failed");
  }
  LineReader reader;
  std::size_t line = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const auto content = trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line;
    if (content.empty()) {
      continue;
    }
    auto doc = util::parse_json(content);
    if (!doc && line == 1 && content == "{") {
      if (auto whole = util::parse_json(text); whole && whole->IsObject()) {
        return from_report_json(std::move(*whole));
      }
    }
    if (!doc) {
      return fail(Errc::usage, fmt::format("line {}: not JSON: {}", line, doc.error().message));
    }
    if (!doc->IsObject()) {
      return fail(Errc::usage, fmt::format("line {}: not a JSON object", line));
    }
    if (auto ok = reader.take(*doc, line); !ok) {
      return std::unexpected(ok.error());
    }
  }
  RunData& run = reader.run;
  if (reader.foreign > 0) {
    run.warnings.push_back(
        fmt::format("skipped {} lines of other runs (this report is run_id {})", reader.foreign, run.run_id));
  }
  if (reader.have_summary) {
    merge_warnings(run);
    return std::move(run);
  }
  if (run.intervals.empty()) {
    return fail(Errc::usage, run.start.IsObject()
                                 ? "no interval or summary lines: the run stopped before its first interval"
                                 : "no mp-bench lines (start, interval or summary)");
  }
  rebuild_summary(run);
  return std::move(run);
}

} // namespace mp::bench
