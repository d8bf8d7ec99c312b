#pragma once
// mp-bench's `report` and `compare` subcommands: re-rendering a recorded run and gating CI
// on a regression between two runs (bench_report.cpp; the library is lib/bench/report.hpp
// and lib/bench/compare.hpp).

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace mp::tools {

/// The two subcommands and the values their flags are bound to; owned by bench_main,
/// alive from add_report_commands until run_report_commands returns.
struct ReportCommands {
  CLI::App* report = nullptr;
  CLI::App* compare = nullptr;
  std::string file;   ///< report FILE, "-" for stdin
  std::string format; ///< report --format; empty: by -o's extension, else table on a TTY, json otherwise
  std::string output; ///< report -o; empty: stdout
  std::string base;
  std::string current;
  std::string tolerance = "10%";
  std::string compare_format; ///< compare --format; empty: table on a TTY, json otherwise
};

/// Adds `report FILE|- [--format table|json|csv|html] [-o FILE]` and
/// `compare BASE NEW [--tolerance T] [--format table|json]` to `app`, bound to `state`.
void add_report_commands(CLI::App& app, ReportCommands& state);

/// Runs whichever of the two was parsed and returns its exit code: 0, or 99
/// (ExitCode::threshold) when compare finds a regression. nullopt when neither was parsed.
/// Throws mp::Fatal (Errc::usage, exit 2) for a bad flag value or an unreadable or
/// malformed file, naming the file and the line; Errc::io (exit 1) when -o cannot be written.
std::optional<int> run_report_commands(const ReportCommands& state);

} // namespace mp::tools
