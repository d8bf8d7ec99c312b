#pragma once
// The config schema's table: one row per key with its field, help, bounds and choices
// (schema.cpp). Internal to the config layer.

#include "config/config.hpp"

#include <limits>
#include <string>
#include <variant>
#include <vector>

namespace mp::config::detail {

/// Where a key's value lives in a Config.
using Ref = std::variant<std::int64_t*, double*, bool*, std::string*>;

struct KeyDef {
  KeyInfo info;
  Ref (*ref)(Config&) = nullptr;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string_view> choices; ///< allowed strings; empty: any
};

/// `server.port` -> `MP_SERVER_PORT`.
std::string env_name(std::string_view key);

/// Every key, in documentation order.
std::vector<KeyDef> make_schema();

} // namespace mp::config::detail
