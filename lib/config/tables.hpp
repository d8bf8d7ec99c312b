#pragma once
// Config tables whose keys or entries are the user's (alert rules), read outside the
// key schema of config.cpp. Internal to the config layer.

#include "config/config.hpp"

#include <rapidjson/document.h>
#include <toml++/toml.h>

namespace mp::config {

/// `[[monitoring.alerts]]`: each entry checked, errors naming `monitoring.alerts[i].field`
/// and the file position.
Expected<void> apply_alert_rules(Config& cfg, const toml::array& rules, std::string_view source);

/// The rules as --print-config shows them.
rapidjson::Value alert_rules_json(const Config& cfg, rapidjson::Document::AllocatorType& alloc);

} // namespace mp::config
