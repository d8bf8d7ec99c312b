#include "bench/compare.hpp"
#include "util/json.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <ostream>

namespace mp::bench {

namespace {

enum class Worse { higher, lower };

struct MetricSpec {
  const char* name;
  const char* object; ///< "latency_ms" or nullptr for a top-level member
  const char* key;
  const char* unit;
  Worse worse;
  double floor; ///< differences below this never count
};

constexpr MetricSpec k_metrics[] = {
    {"p50", "latency_ms", "p50", "ms", Worse::higher, k_latency_floor_ms},
    {"p95", "latency_ms", "p95", "ms", Worse::higher, k_latency_floor_ms},
    {"p99", "latency_ms", "p99", "ms", Worse::higher, k_latency_floor_ms},
    {"p99_9", "latency_ms", "p99_9", "ms", Worse::higher, k_latency_floor_ms},
    {"max", "latency_ms", "max", "ms", Worse::higher, k_latency_floor_ms},
    {"achieved_rps", nullptr, "achieved_rps", "req/s", Worse::lower, 0},
    {"error_rate", nullptr, "error_rate", "%", Worse::higher, k_rate_floor},
    {"late_rate", nullptr, "late_rate", "%", Worse::higher, k_rate_floor},
};

std::optional<double> metric_value(const rapidjson::Value& summary, const MetricSpec& m) {
  if (!summary.IsObject()) {
    return std::nullopt;
  }
  if (m.object == nullptr) {
    auto v = util::get_number(summary, m.key);
    if (!v && std::string_view(m.key) == "achieved_rps") {
      v = util::get_number(summary, "rps");
    }
    return v;
  }
  const auto it = summary.FindMember(m.object);
  if (it == summary.MemberEnd() || !it->value.IsObject()) {
    return std::nullopt;
  }
  return util::get_number(it->value, m.key);
}

Verdict judge(const MetricSpec& m, double base, double current, double tolerance) {
  const double diff = current - base;
  if (std::fabs(diff) < m.floor || diff == 0) {
    return Verdict::ok;
  }
  // With base 0 any difference is "infinitely" relative, so only the floor decides.
  const double rel = base != 0 ? diff / std::fabs(base) : (diff > 0 ? INFINITY : -INFINITY);
  const bool up = rel > tolerance;
  const bool down = rel < -tolerance;
  if (m.worse == Worse::higher) {
    return up ? Verdict::regression : down ? Verdict::improvement : Verdict::ok;
  }
  return down ? Verdict::regression : up ? Verdict::improvement : Verdict::ok;
}

void add_comparability_notes(const rapidjson::Value& base, const rapidjson::Value& current,
                             std::vector<std::string>& notes) {
  const auto bt = util::get_string(base, "test").value_or("");
  const auto ct = util::get_string(current, "test").value_or("");
  if (bt != ct) {
    notes.push_back(fmt::format("the runs are of different tests ({} and {})", bt, ct));
  }
  const auto br = util::get_number(base, "target_rps");
  const auto cr = util::get_number(current, "target_rps");
  if (br && cr && *br > 0 && std::fabs(*cr - *br) / *br > 0.01) {
    notes.push_back(fmt::format("target rates differ ({:.0f} and {:.0f} req/s): achieved_rps and "
                                "latency are not like for like",
                                *br, *cr));
  }
  for (auto [v, which] : {std::pair{&base, "BASE"}, {&current, "NEW"}}) {
    if (!util::get_bool(*v, "complete").value_or(true)) {
      notes.push_back(fmt::format("{} has no summary line: its percentiles are upper bounds", which));
    }
  }
}

std::string format_value(const CompareRow& r, double v) {
  if (r.unit == "%") {
    return fmt::format("{:.2f}%", v * 100);
  }
  if (r.unit == "req/s") {
    return fmt::format("{:.1f}", v);
  }
  return fmt::format("{:.{}f}", v, v < 10 ? 3 : v < 1000 ? 2 : 0);
}

std::string format_change(const CompareRow& r) {
  if (r.change) {
    return fmt::format("{:+.1f}%", *r.change * 100);
  }
  if (r.unit == "%") {
    return fmt::format("{:+.2f} pp", (r.current - r.base) * 100);
  }
  return r.current == r.base ? "+0.0%" : "new";
}

} // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
  case Verdict::ok: return "ok";
  case Verdict::regression: return "regression";
  case Verdict::improvement: return "improvement";
  }
  return "ok";
}

Expected<double> parse_tolerance(std::string_view text) {
  const bool percent = !text.empty() && text.back() == '%';
  const auto num = percent ? text.substr(0, text.size() - 1) : text;
  double v = 0;
  const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  const bool parsed = ec == std::errc{} && end == num.data() + num.size() && !num.empty();
  if (parsed && percent && v >= 0 && v <= 1000) {
    return v / 100;
  }
  if (parsed && !percent && v >= 0 && v < 1) {
    return v;
  }
  return fail(Errc::usage,
              fmt::format("--tolerance: '{}' is not a tolerance (10% or a fraction such as 0.05)", text),
              "--tolerance");
}

Comparison compare_summaries(const rapidjson::Value& base, const rapidjson::Value& current,
                             double tolerance) {
  Comparison c;
  c.tolerance = tolerance;
  add_comparability_notes(base, current, c.notes);
  for (const auto& m : k_metrics) {
    const auto b = metric_value(base, m);
    const auto n = metric_value(current, m);
    if (!b || !n) {
      c.notes.push_back(fmt::format("{}: not in {}", m.name, !b && !n ? "either run" : !b ? "BASE" : "NEW"));
      continue;
    }
    CompareRow row{m.name, m.unit, *b, *n, std::nullopt, judge(m, *b, *n, tolerance)};
    if (*b != 0) {
      row.change = (*n - *b) / std::fabs(*b);
    }
    c.regressed = c.regressed || row.verdict == Verdict::regression;
    c.rows.push_back(std::move(row));
  }
  return c;
}

void render_comparison(std::ostream& out, const Comparison& c, util::Format f, bool color) {
  if (f != util::Format::table) {
    rapidjson::StringBuffer buf;
    util::JsonWriter w(buf);
    w.StartObject();
    w.Key("tolerance");
    w.Double(c.tolerance);
    w.Key("regressed");
    w.Bool(c.regressed);
    w.Key("metrics");
    w.StartArray();
    for (const auto& r : c.rows) {
      w.StartObject();
      util::write_kv(w, "metric", r.metric);
      util::write_kv(w, "unit", r.unit);
      w.Key("base");
      w.Double(r.base);
      w.Key("new");
      w.Double(r.current);
      w.Key("change_percent");
      r.change ? w.Double(*r.change * 100) : w.Null();
      w.Key("difference");
      w.Double(r.current - r.base);
      util::write_kv(w, "verdict", verdict_name(r.verdict));
      w.EndObject();
    }
    w.EndArray();
    w.Key("notes");
    w.StartArray();
    for (const auto& n : c.notes) {
      w.String(n.c_str(), static_cast<rapidjson::SizeType>(n.size()));
    }
    w.EndArray();
    w.EndObject();
    out << buf.GetString() << '\n';
    return;
  }
  const char* red = color ? "\x1b[31m" : "";
  const char* green = color ? "\x1b[32m" : "";
  const char* bold = color ? "\x1b[1m" : "";
  const char* reset = color ? "\x1b[0m" : "";
  out << bold << fmt::format("{:<20} {:>12} {:>12} {:>10}  {}", "metric", "base", "new", "change", "verdict")
      << reset << '\n';
  std::vector<std::string> worse;
  for (const auto& r : c.rows) {
    const char* hue = r.verdict == Verdict::regression ? red : r.verdict == Verdict::improvement ? green : "";
    out << fmt::format("{:<20} {:>12} {:>12} {:>10}  ", fmt::format("{} ({})", r.metric, r.unit),
                       format_value(r, r.base), format_value(r, r.current), format_change(r))
        << hue << verdict_name(r.verdict) << (*hue ? reset : "") << '\n';
    if (r.verdict == Verdict::regression) {
      worse.push_back(fmt::format("{} {}", r.metric, format_change(r)));
    }
  }
  for (const auto& n : c.notes) {
    out << "note: " << n << '\n';
  }
  if (worse.empty()) {
    out << fmt::format("no regression beyond {:g}%\n", c.tolerance * 100);
  } else {
    out << red << fmt::format("REGRESSION beyond {:g}%: {}", c.tolerance * 100, fmt::join(worse, ", "))
        << reset << '\n';
  }
}

} // namespace mp::bench
