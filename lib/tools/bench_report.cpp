// mp-bench report and compare: the half of mp-bench that reads runs back instead of
// sending load. Reading and rendering are lib/bench; this file is flags, files and exit
// codes.

#include "tools/bench_report.hpp"
#include "bench/compare.hpp"
#include "bench/report.hpp"
#include "bench/run_file.hpp"
#include "util/output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace mp::tools {

namespace {

/// Reads the run in `path` ("-": stdin); Fatal(Errc::usage) naming the file and line.
bench::RunData load_run(const std::string& path, const char* field) {
  const std::string name = path == "-" ? "stdin" : path;
  Expected<bench::RunData> run = fail(Errc::internal, "unread");
  if (path == "-") {
    run = bench::read_run(std::cin);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw Fatal(Error{Errc::usage, fmt::format("{}: cannot read: {}", name, std::strerror(errno)), field});
    }
    run = bench::read_run(in);
  }
  if (!run) {
    throw Fatal(Error{Errc::usage, fmt::format("{}: {}", name, run.error().message), field});
  }
  return std::move(*run);
}

bench::ReportFormat report_format(const ReportCommands& s) {
  if (!s.format.empty()) {
    return value_or_throw(bench::parse_report_format(s.format));
  }
  if (!s.output.empty()) {
    return bench::report_format_for_path(s.output).value_or(bench::ReportFormat::json);
  }
  return util::default_format_for(STDOUT_FILENO) == util::Format::table ? bench::ReportFormat::table
                                                                        : bench::ReportFormat::json;
}

/// Writes `text` to `path` through a temporary file and a rename, so a failed or
/// interrupted write never leaves half a report where the last good one was.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      const int err = errno;
      std::remove(tmp.c_str());
      throw Fatal(
          Error{Errc::io, fmt::format("-o {}: cannot write: {}", path, std::strerror(err)), "--output"});
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Fatal(
        Error{Errc::io, fmt::format("-o {}: cannot write: {}", path, std::strerror(err)), "--output"});
  }
}

int run_report(const ReportCommands& s) {
  const auto format = report_format(s);
  const auto run = load_run(s.file, "file");
  if (s.output.empty()) {
    bench::render_report(std::cout, run, format, {util::color_allowed(STDOUT_FILENO)});
    std::cout.flush();
    return 0;
  }
  std::ostringstream text;
  bench::render_report(text, run, format);
  write_file(s.output, text.str());
  return 0;
}

int run_compare(const ReportCommands& s) {
  const double tolerance = value_or_throw(bench::parse_tolerance(s.tolerance));
  util::Format format = util::default_format_for(STDOUT_FILENO);
  if (!s.compare_format.empty()) {
    format = value_or_throw(util::parse_format(s.compare_format));
    if (format != util::Format::table && format != util::Format::json) {
      throw Fatal(Error{Errc::usage,
                        fmt::format("--format: compare writes table or json, not '{}'", s.compare_format),
                        "--format"});
    }
  }
  if (s.base == "-" && s.current == "-") {
    throw Fatal(Error{Errc::usage, "compare: BASE and NEW cannot both be - (stdin)", "base"});
  }
  const auto base = load_run(s.base, "base");
  const auto current = load_run(s.current, "new");
  const auto c = bench::compare_summaries(base.summary, current.summary, tolerance);
  bench::render_comparison(std::cout, c, format, util::color_allowed(STDOUT_FILENO));
  std::cout.flush();
  if (!c.regressed) {
    return 0;
  }
  if (format != util::Format::table) { // the table says so itself
    std::cerr << fmt::format("mp-bench: compare: a regression beyond {:g}% (see \"verdict\")\n",
                             tolerance * 100);
  }
  return static_cast<int>(ExitCode::threshold);
}

} // namespace

void add_report_commands(CLI::App& app, ReportCommands& state) {
  state.report = app.add_subcommand("report", "re-render a recorded run as table, json, csv or html");
  state.report->add_option("file", state.file, "the run's NDJSON (or report json), - for stdin")
      ->required()
      ->type_name("FILE|-");
  state.report
      ->add_option("--format", state.format,
                   "table|json|csv|html (default: from -o's extension, else table on a terminal, json)")
      ->type_name("FORMAT");
  state.report->add_option("-o,--output", state.output, "write to FILE instead of stdout")->type_name("FILE");

  state.compare =
      app.add_subcommand("compare", "compare two runs; exit 99 on a regression beyond --tolerance");
  state.compare->add_option("base", state.base, "the reference run (NDJSON or report json)")
      ->required()
      ->type_name("BASE");
  state.compare->add_option("new", state.current, "the run under test")->required()->type_name("NEW");
  state.compare
      ->add_option("--tolerance", state.tolerance, "allowed worsening: 10% or a fraction such as 0.05")
      ->capture_default_str()
      ->type_name("T");
  state.compare
      ->add_option("--format", state.compare_format, "table|json (default: table on a terminal, json)")
      ->type_name("FORMAT");
}

std::optional<int> run_report_commands(const ReportCommands& state) {
  if (state.report != nullptr && state.report->parsed()) {
    return run_report(state);
  }
  if (state.compare != nullptr && state.compare->parsed()) {
    return run_compare(state);
  }
  return std::nullopt;
}

} // namespace mp::tools
