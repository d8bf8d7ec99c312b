#pragma once
// Logging: spdlog on stderr, text for people or one JSON object a line for collectors.
// Data goes to stdout; logs never do.

#include "util/error.hpp"

#include <string_view>

namespace mp::cli {

/// Installs the default logger named `tool` on stderr. `level` is trace..off, `format`
/// text|json (both already validated by the config schema). Colour only on a terminal
/// and only when NO_COLOR is unset.
void setup_logging(std::string_view tool, std::string_view level, std::string_view format);

} // namespace mp::cli
