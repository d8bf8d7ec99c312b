// mp-cache: for now it carries the shared conventions only
// (config, logging, --print-config); its commands arrive with issue #7, and
// until then its --help lists nothing it cannot do.

#include "cli/tool.hpp"
#include "tools/tools.hpp"

#include <iostream>

namespace mp::tools {

namespace {

int conventions_only_tool(const char* name, const char* description, int argc, char** argv) {
  CLI::App app{description, name};
  cli::CommonOptions common;
  cli::add_common_options(app, common);
  return cli::run_tool(name, app, argc, argv, [&] {
    auto cfg = cli::load_config(name, common);
    if (common.print_config) {
      cli::print_config(cfg);
      return 0;
    }
    std::cout << app.help();
    return 0;
  });
}

} // namespace

int cache_main(int argc, char** argv) {
  return conventions_only_tool("mp-cache", "mp-cache: inspect and flush mp-serve's AI result cache.", argc,
                               argv);
}

} // namespace mp::tools
