#include "cli/tool.hpp"
#include "cli/log.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace mp::cli {

void add_common_options(CLI::App& app, CommonOptions& opts) {
  app.set_version_flag("--version", std::string(MP_VERSION), "Print the version and exit");
  app.add_option("-c,--config", opts.config_file, "TOML config file (default: $MP_CONFIG)")
      ->type_name("FILE");
  app.add_option("--set", opts.assignments, "Set a config key, e.g. --set server.port=9000")
      ->type_name("KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  app.add_option("--log-level", opts.log_level, "trace|debug|info|warn|error|off (default: info)")
      ->type_name("LEVEL");
  app.add_option("--log-format", opts.log_format, "text|json (default: text)")->type_name("FORMAT");
  app.add_flag("--print-config", opts.print_config, "Print the effective config as JSON and exit");
}

void add_format_option(CLI::App& app, std::string& format) {
  app.add_option("--format", format,
                 "Output format: table|json|jsonl|csv (default: table on a terminal, else json)")
      ->type_name("FORMAT");
}

Expected<util::Format> resolve_format(const std::string& flag) {
  if (flag.empty()) {
    return util::default_format_for(STDOUT_FILENO);
  }
  return util::parse_format(flag);
}

config::Config load_config(std::string_view tool, const CommonOptions& opts) {
  auto cfg = value_or_throw(config::load(opts.config_file, opts.assignments, config::process_env()));
  if (!opts.log_level.empty()) {
    value_or_throw(config::set_value(cfg, "log.level", opts.log_level, "--log-level"));
  }
  if (!opts.log_format.empty()) {
    value_or_throw(config::set_value(cfg, "log.format", opts.log_format, "--log-format"));
  }
  setup_logging(tool, cfg.log.level, cfg.log.format);
  return cfg;
}

void print_config(const config::Config& cfg) {
  std::cout << config::to_json(cfg, true) << '\n';
}

int run_tool(std::string_view tool, CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) { // --help, --version
      return app.exit(e);
    }
    std::cerr << tool << ": error: " << e.what() << "\nRun '" << tool << " --help' for the flags.\n";
    return static_cast<int>(ExitCode::usage);
  }
  try {
    return body();
  } catch (const Fatal& e) {
    std::cerr << tool << ": error: " << e.error().message << '\n';
    return static_cast<int>(e.error().exit_code());
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << '\n';
    return static_cast<int>(ExitCode::failure);
  }
}

} // namespace mp::cli
