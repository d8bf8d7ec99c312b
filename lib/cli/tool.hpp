#pragma once
// What every mp tool shares: the common flags, config loading, output format, and the
// single place where errors become `mp-<tool>: error: ...` and an exit code.

#include "config/config.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mp::cli {

/// Flags every tool takes.
struct CommonOptions {
  std::string config_file;
  std::vector<std::string> assignments; ///< --set KEY=VALUE
  std::string log_level;                ///< empty: from config
  std::string log_format;
  bool print_config = false;
};

/// Creates the app with --help, --version and the common flags bound to `opts`.
void add_common_options(CLI::App& app, CommonOptions& opts);

/// Adds `--format table|json|jsonl|csv` bound to `format` (empty: by TTY).
void add_format_option(CLI::App& app, std::string& format);

/// The format to write stdout in: the flag's, or table on a terminal and json otherwise.
Expected<util::Format> resolve_format(const std::string& flag);

/// Loads the config (defaults, file, environment, --set, log flags) and sets up logging
/// for `tool`. Throws Fatal on a bad key or value.
config::Config load_config(std::string_view tool, const CommonOptions& opts);

/// Parses argv into `app`, runs `body`, and turns every failure into a message on stderr
/// and the documented exit code: CLI errors 2, mp::Fatal its own, anything else 1.
int run_tool(std::string_view tool, CLI::App& app, int argc, char** argv, const std::function<int()>& body);

/// Prints the effective config as JSON on stdout.
void print_config(const config::Config& cfg);

} // namespace mp::cli
