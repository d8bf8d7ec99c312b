#include "config/config.hpp"
#include "config/schema.hpp"
#include "config/tables.hpp"
#include "util/json.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

namespace mp::config {

namespace {

using detail::KeyDef;
using detail::Ref;

const std::vector<KeyDef>& defs() {
  static const std::vector<KeyDef> d = detail::make_schema();
  return d;
}

const KeyDef* find_def(std::string_view key) {
  for (const auto& d : defs()) {
    if (d.info.key == key) {
      return &d;
    }
  }
  return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_key_message(std::string_view key, std::string_view where) {
  std::string best;
  std::size_t best_d = 4; // suggest only near misses
  for (const auto& d : defs()) {
    const std::size_t dist = edit_distance(key, d.info.key);
    if (dist < best_d) {
      best_d = dist;
      best = d.info.key;
    }
  }
  std::string msg = fmt::format("unknown config key '{}'{}", key, where);
  if (!best.empty()) {
    msg += fmt::format(" (did you mean '{}'?)", best);
  }
  return msg;
}

std::string_view kind_name(Kind k) {
  switch (k) {
  case Kind::integer: return "an integer";
  case Kind::real: return "a number";
  case Kind::boolean: return "a boolean";
  case Kind::string: return "a string";
  }
  return "a value";
}

Expected<void> check_range(const KeyDef& d, double v, std::string_view where) {
  if (v < d.min || v > d.max) {
    return fail(Errc::config,
                fmt::format("{}: {} is out of range [{}, {}]{}", d.info.key, v, d.min, d.max, where),
                std::string(d.info.key));
  }
  return {};
}

Expected<void> check_choice(const KeyDef& d, std::string_view v, std::string_view where) {
  if (d.choices.empty() || std::find(d.choices.begin(), d.choices.end(), v) != d.choices.end()) {
    return {};
  }
  std::string list;
  for (auto c : d.choices) {
    list += list.empty() ? "" : ", ";
    list += c;
  }
  return fail(Errc::config, fmt::format("{}: '{}' is not one of {}{}", d.info.key, v, list, where),
              std::string(d.info.key));
}

Expected<void> type_error(const KeyDef& d, std::string_view got, std::string_view where) {
  return fail(Errc::config,
              fmt::format("{}: expected {}, got {}{}", d.info.key, kind_name(d.info.kind), got, where),
              std::string(d.info.key));
}

// Typed assignment shared by TOML and text sources: range and choice checks live here once.
struct Assign {
  const KeyDef& d;
  Config& cfg;
  std::string_view where;

  Expected<void> integer(std::int64_t v) const {
    Ref r = d.ref(cfg);
    if (std::holds_alternative<double*>(r)) {
      return real(static_cast<double>(v));
    }
    auto* p = std::get_if<std::int64_t*>(&r);
    if (!p) {
      return type_error(d, "an integer", where);
    }
    if (auto ok = check_range(d, static_cast<double>(v), where); !ok) {
      return ok;
    }
    **p = v;
    return {};
  }
  Expected<void> real(double v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<double*>(&r);
    if (!p) {
      return type_error(d, "a number", where);
    }
    if (!std::isfinite(v)) {
      return fail(Errc::config, fmt::format("{}: must be finite{}", d.info.key, where),
                  std::string(d.info.key));
    }
    if (auto ok = check_range(d, v, where); !ok) {
      return ok;
    }
    **p = v;
    return {};
  }
  Expected<void> boolean(bool v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<bool*>(&r);
    if (!p) {
      return type_error(d, "a boolean", where);
    }
    **p = v;
    return {};
  }
  Expected<void> string(std::string_view v) const {
    Ref r = d.ref(cfg);
    auto* p = std::get_if<std::string*>(&r);
    if (!p) {
      return type_error(d, "a string", where);
    }
    if (auto ok = check_choice(d, v, where); !ok) {
      return ok;
    }
    **p = std::string(v);
    return {};
  }
};

Expected<void> apply_node(Config& cfg, const KeyDef& d, const toml::node& node, const std::string& where) {
  Assign a{d, cfg, where};
  if (auto v = node.as_integer()) {
    return a.integer(v->get());
  }
  if (auto v = node.as_floating_point()) {
    return a.real(v->get());
  }
  if (auto v = node.as_boolean()) {
    return a.boolean(v->get());
  }
  if (auto v = node.as_string()) {
    return a.string(v->get());
  }
  return type_error(d, node.is_array() ? "an array" : "a date or time", where);
}

constexpr std::string_view k_price_table = "ai_processing.pricing.models";

// [ai_processing.pricing.models."<model>"] input_per_million = .., output_per_million = ..
// Model names are the user's, so this table is read here rather than from the schema.
Expected<void> apply_prices(Config& cfg, const toml::table& models, std::string_view source) {
  for (auto&& [name, node] : models) {
    const std::string key = fmt::format("{}.{}", k_price_table, name.str());
    const auto& src = node.source();
    const std::string where = fmt::format(" ({}:{}:{})", source, src.begin.line, src.begin.column);
    const auto* t = node.as_table();
    if (!t) {
      return fail(Errc::config,
                  fmt::format("{}: expected a table of input_per_million, output_per_million{}", key, where),
                  key);
    }
    ModelPrice price;
    for (auto&& [field, value] : *t) {
      const std::string fkey = key + "." + std::string(field.str());
      const auto v = value.value<double>();
      if (!v || *v < 0 || !std::isfinite(*v)) {
        return fail(Errc::config, fmt::format("{}: expected a number >= 0{}", fkey, where), fkey);
      }
      if (field.str() == "input_per_million") {
        price.input_per_million = *v;
      } else if (field.str() == "output_per_million") {
        price.output_per_million = *v;
      } else {
        return fail(
            Errc::config,
            fmt::format("unknown config key '{}'{} (input_per_million, output_per_million)", fkey, where),
            fkey);
      }
    }
    cfg.ai_processing.pricing.models[std::string(name.str())] = price;
  }
  return {};
}

Expected<void> apply_table(Config& cfg, const toml::table& table, const std::string& prefix,
                           std::string_view source) {
  for (auto&& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto& src = node.source();
    const std::string where = fmt::format(" ({}:{}:{})", source, src.begin.line, src.begin.column);
    if (const auto* rules = node.as_array(); rules && key == "monitoring.alerts") {
      if (auto ok = apply_alert_rules(cfg, *rules, source); !ok) {
        return ok;
      }
      continue;
    }
    if (const auto* sub = node.as_table(); sub && key == k_price_table) {
      if (auto ok = apply_prices(cfg, *sub, source); !ok) {
        return ok;
      }
      continue;
    }
    if (const auto* sub = node.as_table()) {
      if (find_def(key)) {
        return fail(Errc::config, fmt::format("{}: expected a value, got a table{}", key, where), key);
      }
      if (auto ok = apply_table(cfg, *sub, key, source); !ok) {
        return ok;
      }
      continue;
    }
    const KeyDef* d = find_def(key);
    if (!d) {
      return fail(Errc::config, unknown_key_message(key, where), key);
    }
    if (auto ok = apply_node(cfg, *d, node, where); !ok) {
      return ok;
    }
  }
  return {};
}

Expected<bool> parse_bool(std::string_view t) {
  std::string s;
  for (char c : t) {
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    return true;
  }
  if (s == "false" || s == "0" || s == "no" || s == "off") {
    return false;
  }
  return fail(Errc::config, "not a boolean");
}

} // namespace

const std::vector<KeyInfo>& schema() {
  static const std::vector<KeyInfo> infos = [] {
    std::vector<KeyInfo> v;
    for (const auto& d : defs()) {
      v.push_back(d.info);
    }
    return v;
  }();
  return infos;
}

EnvLookup process_env() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

Expected<void> apply_toml(Config& cfg, std::string_view text, std::string_view source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return fail(Errc::config, fmt::format("{}:{}:{}: {}", source, b.line, b.column, e.description()));
  }
  return apply_table(cfg, table, "", source);
}

Expected<void> apply_toml_file(Config& cfg, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::config, fmt::format("cannot read config file '{}'", path), "--config");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return apply_toml(cfg, ss.str(), path);
}

Expected<void> set_value(Config& cfg, std::string_view key, std::string_view text, std::string_view origin) {
  const KeyDef* d = find_def(key);
  const std::string where = fmt::format(" (from {})", origin);
  if (!d) {
    return fail(Errc::config, unknown_key_message(key, where), std::string(key));
  }
  Assign a{*d, cfg, where};
  switch (d->info.kind) {
  case Kind::integer: {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.integer(v);
  }
  case Kind::real: {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.real(v);
  }
  case Kind::boolean: {
    auto b = parse_bool(text);
    if (!b) {
      return type_error(*d, fmt::format("'{}'", text), where);
    }
    return a.boolean(*b);
  }
  case Kind::string: return a.string(text);
  }
  return {};
}

Expected<void> apply_assignment(Config& cfg, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return fail(Errc::usage, fmt::format("--set: expected KEY=VALUE, got '{}'", assignment), "--set");
  }
  return set_value(cfg, assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
}

Expected<void> apply_env(Config& cfg, const EnvLookup& env) {
  for (const auto& d : defs()) {
    // Seed aliases first, so the MP_* name wins when both are set.
    for (auto alias : d.info.env_aliases) {
      const std::string name(alias);
      if (const char* v = env(name.c_str())) {
        if (auto ok = set_value(cfg, d.info.key, v, name); !ok) {
          return ok;
        }
      }
    }
    if (const char* v = env(d.info.env.c_str())) {
      if (auto ok = set_value(cfg, d.info.key, v, d.info.env); !ok) {
        return ok;
      }
    }
  }
  return {};
}

std::string to_json(const Config& cfg_in, bool pretty) {
  Config cfg = cfg_in;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  for (const auto& d : defs()) {
    rapidjson::Value* obj = &doc;
    std::string_view key = d.info.key;
    for (auto dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.')) {
      const std::string section(key.substr(0, dot));
      auto it = obj->FindMember(section.c_str());
      if (it == obj->MemberEnd()) {
        obj->AddMember(rapidjson::Value(section.c_str(), alloc), rapidjson::Value(rapidjson::kObjectType),
                       alloc);
        it = obj->FindMember(section.c_str());
      }
      obj = &it->value;
      key = key.substr(dot + 1);
    }
    rapidjson::Value name(std::string(key).c_str(), alloc);
    rapidjson::Value value;
    Ref r = d.ref(cfg);
    if (auto* i = std::get_if<std::int64_t*>(&r)) {
      value.SetInt64(**i);
    } else if (auto* f = std::get_if<double*>(&r)) {
      value.SetDouble(**f);
    } else if (auto* b = std::get_if<bool*>(&r)) {
      value.SetBool(**b);
    } else if (auto* s = std::get_if<std::string*>(&r)) {
      const std::string shown = d.info.secret && !(*s)->empty() ? "***" : **s;
      value.SetString(shown.c_str(), static_cast<rapidjson::SizeType>(shown.size()), alloc);
    }
    obj->AddMember(name, value, alloc);
  }
  rapidjson::Value prices(rapidjson::kObjectType);
  for (const auto& [model, price] : cfg.ai_processing.pricing.models) {
    rapidjson::Value p(rapidjson::kObjectType);
    p.AddMember("input_per_million", price.input_per_million, alloc);
    p.AddMember("output_per_million", price.output_per_million, alloc);
    prices.AddMember(rapidjson::Value(model.c_str(), alloc), p, alloc);
  }
  doc["ai_processing"]["pricing"].AddMember("models", prices, alloc);
  doc["monitoring"].AddMember("alerts", alert_rules_json(cfg, alloc), alloc);
  return util::to_json(doc, pretty);
}

Expected<Config> load(const std::string& file, const std::vector<std::string>& assignments,
                      const EnvLookup& env) {
  Config cfg;
  std::string path = file;
  if (path.empty()) {
    if (const char* p = env("MP_CONFIG"); p && *p) {
      path = p;
    }
  }
  if (!path.empty()) {
    if (auto ok = apply_toml_file(cfg, path); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = apply_env(cfg, env); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& a : assignments) {
    if (auto ok = apply_assignment(cfg, a); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return cfg;
}

} // namespace mp::config
