// `mp-bench report --format html`: one page that opens in any browser, offline, from a CI
// artefact. Everything is inline: CSS, SVG drawn here by hand, no script, no font, no
// URL to fetch (inline <svg> needs no xmlns in HTML5, so not even that). Every string
// from the run file goes through html_escape: a run_id is user input.
//
// Charts share one frame: time on x (the run's own seconds), nice round ticks (1, 2, 2.5
// or 5 times a power of ten) on both axes, warm-up intervals shaded, a legend on top, and
// a <title> on each point (up to k_max_dots points) so hovering shows the value without
// JavaScript. Colours are the Okabe-Ito palette, readable by colour-blind people.

#include "bench/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <set>

namespace mp::bench {

namespace {

constexpr double k_width = 960;
constexpr double k_height = 300;
constexpr double k_left = 70;
constexpr double k_right = 20;
constexpr double k_top = 36;
constexpr double k_bottom = 46;
constexpr std::size_t k_max_dots = 300;

constexpr const char* k_blue = "#0072B2";
constexpr const char* k_green = "#009E73";
constexpr const char* k_orange = "#E69F00";
constexpr const char* k_vermillion = "#D55E00";
constexpr const char* k_grey = "#8C959F";
constexpr const char* k_kind_colours[] = {"#D55E00", "#E69F00", "#CC79A7", "#56B4E9",
                                          "#009E73", "#0072B2", "#F0E442", "#8C959F"};

constexpr const char* k_style = R"(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--panel:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--shade:rgba(140,149,159,.16)}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--bg:#0d1117;--panel:#151b23;--pass:#3fb950;--fail:#f85149;--warn:#d29922;--shade:rgba(145,152,161,.14)}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 24px 48px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:12px 20px;padding-bottom:16px;border-bottom:1px solid var(--line)}
h1{font-size:24px;margin:0;font-weight:600}
h2{font-size:16px;margin:32px 0 10px;font-weight:600}
.meta{color:var(--muted);font-size:13px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--panel);padding:1px 6px;border-radius:4px}
.badge{font-weight:700;font-size:13px;letter-spacing:.06em;padding:3px 12px;border-radius:999px;color:#fff}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.none{background:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:20px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card .s{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.n{text-align:right}
table.kv{width:auto;min-width:420px}
table.kv th{text-transform:none;letter-spacing:0;font-size:14px;font-weight:400;padding-right:48px}
.ok{color:var(--pass);font-weight:600}.bad{color:var(--fail);font-weight:700}
ul.notes{margin:0;padding-left:20px}
.warn{border-left:4px solid var(--warn);background:var(--panel);padding:8px 14px;border-radius:4px}
figure{margin:28px 0 0}
figcaption{font-weight:600;margin-bottom:6px}
svg{width:100%;height:auto;display:block}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .shade{fill:var(--shade)}
footer{margin-top:40px;color:var(--muted);font-size:12px}
)";

/// A round axis: ticks 0, step, ..., top >= the data's maximum.
struct Axis {
  double step = 1;
  double top = 1;
};

Axis nice_axis(double max_value, int target_ticks = 5) {
  if (!(max_value > 0) || !std::isfinite(max_value)) {
    return {};
  }
  const double raw = max_value / target_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return {step, std::ceil(max_value / step - 1e-9) * step};
}

std::string tick_label(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) {
    return group_thousands(std::llround(v));
  }
  return fmt::format("{:g}", v);
}

struct Series {
  std::string name;
  const char* colour;
  std::vector<std::pair<double, double>> points; ///< (t, value)
  bool dashed = false;
  std::string unit;
  bool bar = false; ///< a square legend swatch, for bars
};

/// The frame every chart shares: its scales, grid, axes, warm-up shading and legend.
class Frame {
public:
  Frame(const RunData& run, double y_max, std::string y_label)
      : m_x(nice_axis(run.intervals.empty() ? 1 : run.intervals.back().t, 8)), m_y(nice_axis(y_max)),
        m_y_label(std::move(y_label)) {
    shade_warmup(run);
  }

  [[nodiscard]] double x(double t) const { return k_left + t / m_x.top * (k_width - k_left - k_right); }
  [[nodiscard]] double y(double v) const {
    return k_height - k_bottom - v / m_y.top * (k_height - k_top - k_bottom);
  }
  [[nodiscard]] const Axis& y_axis() const { return m_y; }

  void add(const std::string& svg) { m_body += svg; }

  /// The finished <svg>, with the legend of `series` (name, colour, dashed).
  [[nodiscard]] std::string svg(const std::string& label, const std::vector<Series>& legend) const {
    std::string out = fmt::format(R"(<svg viewBox="0 0 {} {}" role="img" aria-label="{}">)", k_width,
                                  k_height, html_escape(label));
    out += m_shade + grid() + m_body + axes() + legend_svg(legend) + "</svg>\n";
    return out;
  }

private:
  void shade_warmup(const RunData& run) {
    bool first = true;
    for (std::size_t i = 0; i < run.intervals.size(); ++i) {
      const auto& iv = run.intervals[i];
      if (!iv.warmup) {
        continue;
      }
      // One rectangle per run of consecutive warm-up intervals.
      std::size_t j = i;
      while (j + 1 < run.intervals.size() && run.intervals[j + 1].warmup) {
        ++j;
      }
      const double x0 = x(std::max(0.0, iv.t - iv.dt));
      const double x1 = x(run.intervals[j].t);
      m_shade += fmt::format(R"(<rect class="shade" x="{:.1f}" y="{}" width="{:.1f}" height="{}"/>)", x0,
                             k_top, x1 - x0, k_height - k_top - k_bottom);
      if (first) {
        m_shade += fmt::format(R"(<text x="{:.1f}" y="{}">warm-up</text>)", x0 + 4, k_top + 14);
        first = false;
      }
      i = j;
    }
  }

  [[nodiscard]] std::string grid() const {
    std::string out;
    for (int i = 0; static_cast<double>(i) * m_y.step <= m_y.top + m_y.step / 2; ++i) {
      const double v = static_cast<double>(i) * m_y.step;
      out += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>)", k_left,
                         k_width - k_right, y(v), y(v));
      out += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end">{}</text>)", k_left - 8, y(v) + 4,
                         tick_label(v));
    }
    return out;
  }

  [[nodiscard]] std::string axes() const {
    const double base = k_height - k_bottom;
    std::string out = fmt::format(R"(<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>)", k_left,
                                  k_width - k_right, base, base);
    for (int i = 0; static_cast<double>(i) * m_x.step <= m_x.top + m_x.step / 2; ++i) {
      const double t = static_cast<double>(i) * m_x.step;
      out += fmt::format(R"(<line class="axis" x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}"/>)", x(t), base,
                         base + 5);
      out += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)", x(t), base + 19,
                         tick_label(t));
    }
    out += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">time (s)</text>)",
                       (k_left + k_width - k_right) / 2, k_height - 6);
    out += fmt::format(R"~(<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>)~",
                       (k_top + k_height - k_bottom) / 2, html_escape(m_y_label));
    return out;
  }

  static std::string legend_svg(const std::vector<Series>& legend) {
    std::string out;
    double at = k_left;
    for (const auto& s : legend) {
      if (s.bar) {
        out +=
            fmt::format(R"(<rect x="{}" y="8" width="12" height="12" rx="2" fill="{}"/>)", at + 10, s.colour);
      } else {
        out += fmt::format(R"(<line x1="{0}" x2="{1}" y1="14" y2="14" stroke="{2}" stroke-width="3"{3}/>)",
                           at, at + 22, s.colour, s.dashed ? R"( stroke-dasharray="6 4")" : "");
      }
      out += fmt::format(R"(<text x="{}" y="18" style="fill:currentColor">{}</text>)", at + 28,
                         html_escape(s.name));
      at += 44 + 7.5 * static_cast<double>(s.name.size());
    }
    return out;
  }

  Axis m_x;
  Axis m_y;
  std::string m_y_label;
  std::string m_shade;
  std::string m_body;
};

std::string line_chart(const RunData& run, const std::string& label, const std::string& y_label,
                       const std::vector<Series>& series,
                       const std::vector<std::pair<std::string, double>>& limits) {
  double y_max = 0;
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      y_max = std::max(y_max, p.second);
    }
  }
  Frame f(run, y_max, y_label);
  for (const auto& [name, limit] : limits) {
    if (limit > 0 && limit <= f.y_axis().top) {
      f.add(fmt::format(
          R"(<line x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}" stroke="{3}" stroke-dasharray="2 4"/>)",
          k_left, k_width - k_right, f.y(limit), k_vermillion));
      f.add(fmt::format(R"(<text x="{}" y="{:.1f}" style="fill:{}">{}</text>)", k_left + 6, f.y(limit) - 5,
                        k_vermillion, html_escape(name)));
    }
  }
  for (const auto& s : series) {
    std::string d;
    for (const auto& [t, v] : s.points) {
      d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : " L", f.x(t), f.y(v));
    }
    f.add(fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round"{}/>)",
                      d, s.colour, s.dashed ? R"( stroke-dasharray="6 4")" : ""));
    if (s.points.size() <= k_max_dots && !s.dashed) {
      for (const auto& [t, v] : s.points) {
        f.add(fmt::format(
            R"(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"><title>t={:g} s: {} {:.2f} {}</title></circle>)",
            f.x(t), f.y(v), s.colour, t, html_escape(s.name), v, s.unit));
      }
    }
  }
  if (y_max == 0 && run.intervals.empty()) {
    f.add(fmt::format(
        R"(<text x="{}" y="{}" text-anchor="middle" style="font-size:15px">no intervals in this file</text>)",
        (k_left + k_width - k_right) / 2, (k_top + k_height - k_bottom) / 2));
  }
  return f.svg(label, series);
}

std::string latency_chart(const RunData& run, const SummaryView& v) {
  std::vector<Series> s{{"p50", k_blue, {}, false, "ms"},
                        {"p95", k_green, {}, false, "ms"},
                        {"p99", k_orange, {}, false, "ms"},
                        {"max", k_vermillion, {}, false, "ms"}};
  for (const auto& iv : run.intervals) {
    s[0].points.emplace_back(iv.t, iv.latency_ms.p50);
    s[1].points.emplace_back(iv.t, iv.latency_ms.p95);
    s[2].points.emplace_back(iv.t, iv.latency_ms.p99);
    s[3].points.emplace_back(iv.t, iv.latency_ms.max);
  }
  std::vector<std::pair<std::string, double>> limits;
  for (const auto& t : v.thresholds) {
    // A threshold on a percentile or max drawn in this chart shows as its limit line.
    if (t.unit == "ms" &&
        (t.metric == "p50" || t.metric == "p95" || t.metric == "p99" || t.metric == "max")) {
      limits.emplace_back(t.expr, t.limit);
    }
  }
  return line_chart(run, "latency percentiles over time", "latency (ms)", s, limits);
}

std::string throughput_chart(const RunData& run) {
  std::vector<Series> s{{"target", k_grey, {}, true, "req/s"}, {"achieved", k_blue, {}, false, "req/s"}};
  for (const auto& iv : run.intervals) {
    s[0].points.emplace_back(iv.t, iv.target_rps);
    s[1].points.emplace_back(iv.t, iv.achieved_rps);
  }
  return line_chart(run, "throughput over time", "requests / s", s, {});
}

std::string errors_chart(const RunData& run) {
  std::set<std::string> kind_set;
  double y_max = 0;
  for (const auto& iv : run.intervals) {
    double sum = 0;
    for (const auto& [k, n] : iv.error_kinds) {
      kind_set.insert(k);
      sum += static_cast<double>(n);
    }
    y_max = std::max(y_max, std::max(sum, static_cast<double>(iv.errors)));
  }
  const std::vector<std::string> kinds(kind_set.begin(), kind_set.end());
  std::vector<Series> legend;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    legend.push_back({kinds[i], k_kind_colours[i % std::size(k_kind_colours)], {}, false, "", true});
  }
  Frame f(run, y_max, "errors per interval");
  for (const auto& iv : run.intervals) {
    const double x0 = f.x(std::max(0.0, iv.t - iv.dt));
    const double w = std::max(1.0, f.x(iv.t) - x0 - (f.x(iv.t) - x0 > 4 ? 1 : 0));
    double stacked = 0;
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      const auto it = iv.error_kinds.find(kinds[i]);
      if (it == iv.error_kinds.end()) {
        continue;
      }
      const double top = stacked + static_cast<double>(it->second);
      f.add(fmt::format(
          R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>t={:g} s: {} {}</title></rect>)",
          x0, f.y(top), w, f.y(stacked) - f.y(top), legend[i].colour, iv.t, html_escape(kinds[i]),
          it->second));
      stacked = top;
    }
  }
  if (kinds.empty()) {
    f.add(fmt::format(
        R"(<text x="{}" y="{}" text-anchor="middle" style="font-size:15px">no errors in this run</text>)",
        (k_left + k_width - k_right) / 2, (k_top + k_height - k_bottom) / 2));
  }
  return f.svg("errors per interval by kind", legend);
}

std::string card(std::string_view key, const std::string& value, const std::string& sub) {
  return fmt::format(
      R"(<div class="card"><div class="k">{}</div><div class="v">{}</div><div class="s">{}</div></div>)", key,
      html_escape(value), html_escape(sub));
}

std::string row(std::string_view key, const std::string& value) {
  return fmt::format("<tr><th>{}</th><td class=\"n\">{}</td></tr>\n", key, html_escape(value));
}

std::string ms(double v) {
  return fmt::format("{:.{}f} ms", v, v < 10 ? 2 : v < 1000 ? 1 : 0);
}

std::string pct(double fraction) {
  return fmt::format("{:.2f}%", fraction * 100);
}

void write_header(std::ostream& out, const SummaryView& v) {
  const char* badge = !v.passed ? "none" : *v.passed ? "pass" : "fail";
  const char* verdict = !v.passed ? "NOT EVALUATED" : *v.passed ? "PASS" : "FAIL";
  out << "<header><h1>" << html_escape(v.test.empty() ? "mp-bench" : v.test) << " test</h1>"
      << "<span class=\"badge " << badge << "\">" << verdict << (v.aborted ? " · ABORTED" : "") << "</span>"
      << "<div class=\"meta\">run <code>" << html_escape(v.run_id) << "</code> · "
      << html_escape(format_utc(v.ts));
  if (!v.url.empty()) {
    out << " · target <code>" << html_escape(v.url) << "</code>";
  }
  if (!v.model.empty()) {
    out << " · " << html_escape(v.model) << " model";
  }
  out << "</div></header>\n";
  out << "<section class=\"cards\">"
      << card("achieved", fmt::format("{:.1f} req/s", v.achieved_rps),
              fmt::format("target {:.1f} req/s", v.target_rps))
      << card("p99 latency", ms(v.latency_ms.p99),
              fmt::format("p50 {} · max {}", ms(v.latency_ms.p50), ms(v.latency_ms.max)))
      << card("error rate", pct(v.error_rate), fmt::format("{} errors", group_thousands(v.errors)))
      << card("requests", group_thousands(v.requests), fmt::format("over {:.1f} s measured", v.duration_s))
      << "</section>\n";
}

void write_summary(std::ostream& out, const SummaryView& v) {
  out << "<h2>Summary</h2>\n<table class=\"kv\">\n";
  out << row("requests", group_thousands(v.requests)) << row("ok", group_thousands(v.ok))
      << row("errors", fmt::format("{} ({})", group_thousands(v.errors), pct(v.error_rate)));
  for (const auto& [k, n] : v.error_kinds) {
    out << row("&nbsp;&nbsp;" + html_escape(k), group_thousands(n));
  }
  out << row("late", fmt::format("{} ({})", group_thousands(v.late), pct(v.late_rate)))
      << row("dropped", group_thousands(v.dropped))
      << row("target rate", fmt::format("{:.1f} req/s", v.target_rps))
      << row("achieved rate", fmt::format("{:.1f} req/s", v.achieved_rps))
      << row("measured duration", fmt::format("{:.1f} s (warm-up excluded)", v.duration_s));
  const auto& l = v.latency_ms;
  out << row("latency p50 / p90 / p95", fmt::format("{} / {} / {}", ms(l.p50), ms(l.p90), ms(l.p95)))
      << row("latency p99 / p99.9 / max", fmt::format("{} / {} / {}", ms(l.p99), ms(l.p99_9), ms(l.max)))
      << row("latency mean", ms(l.mean));
  if (v.service_ms.p99 > 0) {
    out << row("service time p50 / p99", fmt::format("{} / {}", ms(v.service_ms.p50), ms(v.service_ms.p99)));
  }
  out << row("generator CPU mean / max",
             fmt::format("{:.0f}% / {:.0f}%{}", v.cpu_mean, v.cpu_max, v.saturated ? " (saturated)" : ""));
  for (const auto& [label, value] : v.ws) {
    out << row("WebSocket " + html_escape(label), value);
  }
  if (v.breaking_point) {
    out << row("breaking point",
               fmt::format("{} {} (limiting factor: {})", group_thousands(std::llround(*v.breaking_point)),
                           v.breaking_point_unit, v.limiting_factor));
  }
  out << "</table>\n";
}

void write_thresholds(std::ostream& out, const SummaryView& v) {
  out << "<h2>Thresholds</h2>\n";
  if (v.thresholds.empty()) {
    out << "<p class=\"meta\">No thresholds were set for this run.</p>\n";
    return;
  }
  out << "<table><tr><th>threshold</th><th>measured</th><th>result</th></tr>\n";
  for (const auto& t : v.thresholds) {
    out << "<tr><td><code>" << html_escape(t.expr) << "</code></td><td class=\"n\">"
        << html_escape(format_threshold_value(t)) << "</td><td class=\""
        << (t.ok ? "ok\">pass" : "bad\">FAIL") << "</td></tr>\n";
  }
  out << "</table>\n";
}

void write_notes(std::ostream& out, const char* title, const std::vector<std::string>& items, bool warn) {
  if (items.empty()) {
    return;
  }
  out << "<h2>" << title << "</h2>\n<div" << (warn ? " class=\"warn\"" : "") << "><ul class=\"notes\">\n";
  for (const auto& s : items) {
    out << "<li>" << html_escape(s) << "</li>\n";
  }
  out << "</ul></div>\n";
}

} // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

void render_html(std::ostream& out, const RunData& run) {
  const SummaryView v = view_summary(run);
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>" << html_escape(fmt::format("mp-bench {} {}", v.test, v.run_id)) << "</title>\n"
      << "<style>" << k_style << "</style>\n</head>\n<body>\n<main>\n";
  write_header(out, v);
  write_summary(out, v);
  write_thresholds(out, v);
  write_notes(out, "Recommendations", v.recommendations, false);
  write_notes(out, "Warnings", v.warnings, true);
  out << "<h2>Over time</h2>\n<p class=\"meta\">Every interval of the run; shaded: warm-up, excluded from "
         "the "
         "statistics. Latency is measured from each request's intended send time.</p>\n";
  out << "<figure><figcaption>Latency percentiles</figcaption>\n" << latency_chart(run, v) << "</figure>\n";
  out << "<figure><figcaption>Throughput: target and achieved</figcaption>\n"
      << throughput_chart(run) << "</figure>\n";
  out << "<figure><figcaption>Errors per interval, by kind</figcaption>\n"
      << errors_chart(run) << "</figure>\n";
  out << "<footer>Generated by mp-bench report from run " << html_escape(v.run_id) << ".</footer>\n"
      << "</main>\n</body>\n</html>\n";
}

} // namespace mp::bench
