// [[monitoring.alerts]]: the seed's AlertThreshold (metric_name, condition, value, severity,
// description) plus for_seconds, cooldown_seconds, clear_value, escalate_after_seconds
// and no_data.

#include "config/tables.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>

namespace mp::config {

namespace {

constexpr std::array<std::string_view, 6> k_conditions = {">", "<", ">=", "<=", "==", "!="};
constexpr std::array<std::string_view, 3> k_severities = {"info", "warning", "critical"};
constexpr std::array<std::string_view, 3> k_no_data = {"keep", "resolve", "alert"};
constexpr std::array<std::string_view, 11> k_fields = {
    "name",        "metric_name", "condition",        "value",       "severity",
    "description", "for_seconds", "cooldown_seconds", "clear_value", "escalate_after_seconds",
    "no_data"};

template <std::size_t N> std::string joined(const std::array<std::string_view, N>& words) {
  std::string out;
  for (auto w : words) {
    out += out.empty() ? "" : " ";
    out += w;
  }
  return out;
}

} // namespace

Expected<void> apply_alert_rules(Config& cfg, const toml::array& rules, std::string_view source) {
  cfg.monitoring.alerts.clear();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const toml::node& node = rules[i];
    const auto& src = node.source();
    const std::string where = fmt::format(" ({}:{}:{})", source, src.begin.line, src.begin.column);
    const std::string key = fmt::format("monitoring.alerts[{}]", i);
    const auto* t = node.as_table();
    if (!t) {
      return fail(Errc::config, fmt::format("{}: expected a table ([[monitoring.alerts]]){}", key, where),
                  key);
    }
    AlertRuleConfig r;
    for (auto&& [name, value] : *t) {
      const std::string field(name.str());
      const std::string fkey = fmt::format("{}.{}", key, field);
      if (std::find(k_fields.begin(), k_fields.end(), field) == k_fields.end()) {
        return fail(Errc::config,
                    fmt::format("unknown config key '{}'{} (known: {})", fkey, where, joined(k_fields)),
                    fkey);
      }
      const bool text = field == "name" || field == "metric_name" || field == "condition" ||
                        field == "severity" || field == "description" || field == "no_data";
      if (text) {
        const auto* s = value.as_string();
        if (!s) {
          return fail(Errc::config, fmt::format("{}: expected a string{}", fkey, where), fkey);
        }
        const std::string& v = s->get();
        if (field == "name") {
          r.name = v;
        } else if (field == "metric_name") {
          r.metric_name = v;
        } else if (field == "condition") {
          r.condition = v;
        } else if (field == "severity") {
          r.severity = v;
        } else if (field == "description") {
          r.description = v;
        } else {
          r.no_data = v;
        }
        continue;
      }
      const auto v = value.value<double>();
      if (!v || !std::isfinite(*v)) {
        return fail(Errc::config, fmt::format("{}: expected a number{}", fkey, where), fkey);
      }
      if (field != "value" && field != "clear_value" && *v < 0) {
        return fail(Errc::config, fmt::format("{}: expected a number >= 0{}", fkey, where), fkey);
      }
      if (field == "value") {
        r.value = *v;
      } else if (field == "for_seconds") {
        r.for_seconds = *v;
      } else if (field == "cooldown_seconds") {
        r.cooldown_seconds = *v;
      } else if (field == "clear_value") {
        r.clear_value = *v;
      } else {
        r.escalate_after_seconds = *v;
      }
    }
    auto check = [&](std::string_view field, const std::string& v, const auto& allowed) -> Expected<void> {
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        const std::string fkey = key + "." + std::string(field);
        return fail(Errc::config, fmt::format("{}: '{}' is not one of {}{}", fkey, v, joined(allowed), where),
                    fkey);
      }
      return {};
    };
    if (r.metric_name.empty()) {
      return fail(Errc::config, fmt::format("{}.metric_name: required{}", key, where), key + ".metric_name");
    }
    if (!t->contains("value")) {
      return fail(Errc::config, fmt::format("{}.value: required{}", key, where), key + ".value");
    }
    if (auto ok = check("condition", r.condition, k_conditions); !ok) {
      return ok;
    }
    if (auto ok = check("severity", r.severity, k_severities); !ok) {
      return ok;
    }
    if (auto ok = check("no_data", r.no_data, k_no_data); !ok) {
      return ok;
    }
    if (r.name.empty()) {
      r.name = fmt::format("{} {} {}", r.metric_name, r.condition, r.value);
    }
    cfg.monitoring.alerts.push_back(std::move(r));
  }
  return {};
}

rapidjson::Value alert_rules_json(const Config& cfg, rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value out(rapidjson::kArrayType);
  auto str = [&](const std::string& s) { return rapidjson::Value(s.c_str(), alloc); };
  for (const auto& r : cfg.monitoring.alerts) {
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("name", str(r.name), alloc);
    o.AddMember("metric_name", str(r.metric_name), alloc);
    o.AddMember("condition", str(r.condition), alloc);
    o.AddMember("value", r.value, alloc);
    o.AddMember("severity", str(r.severity), alloc);
    o.AddMember("description", str(r.description), alloc);
    o.AddMember("for_seconds", r.for_seconds, alloc);
    o.AddMember("cooldown_seconds", r.cooldown_seconds, alloc);
    if (r.clear_value) {
      o.AddMember("clear_value", *r.clear_value, alloc);
    }
    o.AddMember("escalate_after_seconds", r.escalate_after_seconds, alloc);
    o.AddMember("no_data", str(r.no_data), alloc);
    out.PushBack(o, alloc);
  }
  return out;
}

} // namespace mp::config
