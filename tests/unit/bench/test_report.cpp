#include "bench/report.hpp"
#include "fixtures.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

using namespace mp::bench;
using namespace mp::bench::testing;

namespace {

std::string render(const RunData& run, ReportFormat f) {
  std::ostringstream out;
  render_report(out, run, f);
  return out.str();
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("report table: summary block, thresholds, one row per measured interval", "[bench]") {
  const auto out = render(read_text(three_interval_run()), ReportFormat::table);
  CHECK(out.starts_with("load run r1"));
  CHECK(out.find("FAIL") != std::string::npos);
  CHECK(out.find("target 1000.0 req/s, achieved 995.0 req/s") != std::string::npos);
  CHECK(out.find("requests     1,990  ok 1,986  errors 4 (0.20%)  [status_500 4]") != std::string::npos);
  CHECK(out.find("pass  p99<250ms") != std::string::npos);
  const auto at = out.find("FAIL  error_rate<0.1%");
  REQUIRE(at != std::string::npos);
  CHECK(out.substr(at, out.find('\n', at) - at).ends_with(" 0.2%"));
  CHECK(out.find("errors began at 1,000 req/s") != std::string::npos);
  const auto table = out.substr(out.find("intervals (measured"));
  CHECK(count(table, "\n") == 4); // the caption, the header and two rows: the warm-up is not one
}

TEST_CASE("report csv: a header and one row per measured interval", "[bench]") {
  const auto out = render(read_text(three_interval_run()), ReportFormat::csv);
  CHECK(count(out, "\r\n") == 3);
  CHECK(out.starts_with("t,dt,stage,target_rps,achieved_rps,requests,ok,errors,late,dropped,p50_ms,"));
  const auto header = out.substr(0, out.find("\r\n"));
  CHECK(header.ends_with(",connections,errors_status_500"));
  const auto first = out.substr(header.size() + 2, out.find("\r\n", header.size() + 2) - header.size() - 2);
  CHECK(first.starts_with("2,1,0,1000,1000,1000,999,1,1,0,1.5,"));
  CHECK(first.ends_with(",10,1"));
}

TEST_CASE("report json: the summary plus every interval, read back by read_run", "[bench]") {
  const auto run = read_text(three_interval_run());
  const auto out = render(run, ReportFormat::json);
  auto doc = mp::util::parse_json(out);
  REQUIRE(doc);
  CHECK(std::string((*doc)["type"].GetString()) == "summary");
  CHECK((*doc)["intervals"].Size() == 3);
  CHECK((*doc)["intervals"][0]["warmup"].GetBool());

  const auto back = read_text(out);
  CHECK(back.run_id == "r1");
  REQUIRE(back.intervals.size() == 3);
  CHECK(back.intervals[2].latency_ms.p99 == Approx(14.0));
  CHECK(render(back, ReportFormat::csv) == render(run, ReportFormat::csv));
  CHECK_FALSE(back.summary.HasMember("intervals"));
}

TEST_CASE("report html: one self-contained file with three charts", "[bench]") {
  const auto out = render(read_text(three_interval_run()), ReportFormat::html);
  CHECK(out.starts_with("<!DOCTYPE html>"));
  CHECK(out.ends_with("</html>\n"));
  CHECK(count(out, "<svg") == 3);
  CHECK(count(out, "</svg>") == 3);
  CHECK(out.find("<style>") != std::string::npos);
  // Nothing to fetch and nothing to run: no script, no link, no src or href, no url().
  for (const char* external : {"<script", "<link", "src=", "href=", "url(", "@import", "xmlns", "https://"}) {
    INFO(external);
    CHECK(out.find(external) == std::string::npos);
  }
  // The only http:// is the target's URL, shown as text.
  CHECK(count(out, "http://") == 1);
  CHECK(out.find("<code>http://127.0.0.1:8002/x</code>") != std::string::npos);
  CHECK(out.find("class=\"badge fail\"") != std::string::npos);
  CHECK(out.find("warm-up</text>") != std::string::npos);
  CHECK(out.find("status_500") != std::string::npos);
}

TEST_CASE("report html: every string from the file is escaped", "[bench]") {
  const std::string id = "<script>alert(\"x\")</script>";
  const std::string escaped_id = R"(<script>alert(\"x\")</script>)"; // JSON-escaped in the file
  std::string text = three_interval_run();
  for (auto at = text.find("\"r1\""); at != std::string::npos; at = text.find("\"r1\"")) {
    text.replace(at, 4, "\"" + escaped_id + "\"");
  }
  auto run = read_text(text);
  REQUIRE(run.run_id == id);
  const auto out = render(run, ReportFormat::html);
  CHECK(out.find("<script") == std::string::npos);
  CHECK(out.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") != std::string::npos);
}

TEST_CASE("report html: a killed run without errors still renders", "[bench]") {
  const auto run = read_text(start_line() + "\n" + interval_line(1, false, 1000, 0, 10.0) + "\n" +
                             interval_line(2, false, 1000, 0, 11.0) + "\n");
  const auto out = render(run, ReportFormat::html);
  CHECK(count(out, "<svg") == 3);
  CHECK(out.find("no errors in this run") != std::string::npos);
  CHECK(out.find("no summary line") != std::string::npos);
  CHECK(out.find("NOT EVALUATED") != std::string::npos);
}

TEST_CASE("report helpers", "[bench]") {
  CHECK(html_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
  CHECK(group_thousands(0) == "0");
  CHECK(group_thousands(999) == "999");
  CHECK(group_thousands(1000) == "1,000");
  CHECK(group_thousands(-1234567) == "-1,234,567");
  CHECK(format_utc(0).empty());
  CHECK(format_utc(1796123450) == "2026-12-01 11:10:50 UTC");
  CHECK(*parse_report_format("html") == ReportFormat::html);
  CHECK_FALSE(parse_report_format("xml"));
  CHECK(report_format_for_path("out/r.html") == ReportFormat::html);
  CHECK_FALSE(report_format_for_path("report"));
}

TEST_CASE("report: a WebSocket run shows its delivery", "[bench]") {
  std::string summary = summary_line();
  summary.insert(summary.size() - 1,
                 R"(,"ws":{"connections_target":100,"connections_open":99,"connect_failures":1,)"
                 R"("handshake_ms":{"p50":1.0,"p99":4.5},"messages_published":10,)"
                 R"("messages_expected":1000,"messages_received":990,"delivery_ratio":0.99,)"
                 R"("dropped_notices":0,"gaps":2,"close_codes":{}})");
  const auto run = read_text(summary + "\n");
  const auto table = render(run, ReportFormat::table);
  CHECK(table.find("\n  connections  99 open of 100, 1 failed to connect\n") != std::string::npos);
  CHECK(table.find("\n  delivery     0.9900, 2 gaps") != std::string::npos);
  const auto html = render(run, ReportFormat::html);
  CHECK(html.find("WebSocket messages") != std::string::npos);
  CHECK(html.find("no intervals in this file") != std::string::npos);
}
