#pragma once
// Hand-written mp-bench runs (the NDJSON of /tmp/mpbench-spec.md) shared by the bench tests.

#include "bench/run_file.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

namespace mp::bench::testing {

inline std::string start_line(const std::string& run_id = "r1") {
  return R"({"type":"start","run_id":")" + run_id +
         R"(","test":"load","ts":1796123450.0,"config":{"target":"http","url":"http://127.0.0.1:8002/x",)"
         R"("model":"open","rate":1000,"duration_s":2,"warmup_s":1,"connections":10,"threads":2,)"
         R"("thresholds":["p99<250ms","error_rate<0.1%"]}})";
}

/// An interval line; `warmup` marks the first second of a run.
inline std::string interval_line(double t, bool warmup, int requests, int errors, double p99,
                                 const std::string& run_id = "r1") {
  const std::string kinds = errors > 0 ? R"({"status_500":)" + std::to_string(errors) + "}" : "{}";
  return R"({"type":"interval","run_id":")" + run_id + R"(","test":"load","ts":)" +
         std::to_string(1796123450.0 + t) + R"(,"t":)" + std::to_string(t) +
         R"(,"dt":1.0,"stage":0,"warmup":)" + (warmup ? "true" : "false") +
         R"(,"target_rps":1000.0,"achieved_rps":)" + std::to_string(requests) + R"(,"requests":)" +
         std::to_string(requests) + R"(,"ok":)" + std::to_string(requests - errors) + R"(,"errors":)" +
         std::to_string(errors) +
         R"(,"late":1,"dropped":0,"latency_ms":{"p50":1.5,"p90":3.0,"p95":4.0,"p99":)" + std::to_string(p99) +
         R"(,"p99_9":)" + std::to_string(p99 * 2) + R"(,"max":)" + std::to_string(p99 * 3) +
         R"(,"mean":2.0},"service_ms":{"p50":1.0,"p99":5.0},"status":{"200":)" +
         std::to_string(requests - errors) + R"(},"error_kinds":)" + kinds +
         R"(,"generator_cpu":12.5,"connections":10,"users":0})";
}

inline std::string summary_line(double p99 = 12.0, double rps = 995.0, double error_rate = 0.002,
                                const std::string& run_id = "r1") {
  return R"({"type":"summary","run_id":")" + run_id +
         R"(","test":"load","ts":1796123453.0,"config":{"target":"http","url":"http://127.0.0.1:8002/x",)"
         R"("model":"open","rate":1000},"duration_s":2.0,"requests":1990,"ok":1986,"errors":4,"error_rate":)" +
         std::to_string(error_rate) +
         R"(,"late":2,"dropped":0,"late_rate":0.001,"target_rps":1000.0,"achieved_rps":)" +
         std::to_string(rps) + R"(,"rps":)" + std::to_string(rps) +
         R"(,"latency_ms":{"p50":1.5,"p90":3.0,"p95":4.0,"p99":)" + std::to_string(p99) +
         R"(,"p99_9":20.0,"max":40.0,"mean":2.0,"min":0.2},"service_ms":{"p50":1.0,"p99":5.0},)"
         R"("error_kinds":{"status_500":4},"generator":{"cpu_percent_mean":12.5,"cpu_percent_max":14.0,)"
         R"("saturated":false,"threads":2},"system_capacity":{"breaking_point":null,"breaking_point_unit":"req/s",)"
         R"("limiting_factor":"none"},"thresholds":[{"expr":"p99<250ms","metric":"p99","op":"<","limit":250,)"
         R"("unit":"ms","value":12.0,"ok":true},{"expr":"error_rate<0.1%","metric":"error_rate","op":"<",)"
         R"("limit":0.001,"unit":"ratio","value":0.002,"ok":false}],"passed":false,"aborted":false,)"
         R"("recommendations":["errors began at 1,000 req/s"],"warnings":[]})";
}

/// start, one warm-up and two measured intervals, summary.
inline std::string three_interval_run() {
  return start_line() + "\n" + interval_line(1, true, 900, 0, 30.0) + "\n" +
         interval_line(2, false, 1000, 1, 10.0) + "\n" + interval_line(3, false, 990, 3, 14.0) + "\n" +
         summary_line() + "\n";
}

inline RunData read_text(const std::string& text) {
  std::istringstream in(text);
  auto run = read_run(in);
  INFO((run ? std::string() : run.error().message));
  REQUIRE(run);
  return std::move(*run);
}

} // namespace mp::bench::testing
