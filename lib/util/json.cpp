#include "util/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>

#include <fmt/format.h>

namespace mp::util {

namespace {

// RapidJSON's recursive parser has no depth limit, so nesting is measured first with a
// linear scan that skips strings; it rejects a deep document before any allocation.
std::optional<std::size_t> depth_violation(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return i;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

} // namespace

Expected<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits) {
  if (auto at = depth_violation(text, limits.max_depth)) {
    return fail(Errc::invalid,
                fmt::format("JSON nested deeper than {} levels at byte {}", limits.max_depth, *at));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return fail(Errc::invalid, fmt::format("invalid JSON at byte {}: {}", doc.GetErrorOffset(),
                                           rapidjson::GetParseError_En(doc.GetParseError())));
  }
  return doc;
}

std::string to_json(const rapidjson::Value& value, bool pretty) {
  rapidjson::StringBuffer buf;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    value.Accept(w);
  } else {
    JsonWriter w(buf);
    value.Accept(w);
  }
  return {buf.GetString(), buf.GetSize()};
}

std::string json_quote(std::string_view s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

std::optional<std::string_view> get_string(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return std::nullopt;
  }
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) {
    return std::nullopt;
  }
  return std::string_view(it->value.GetString(), it->value.GetStringLength());
}

std::optional<std::int64_t> get_int(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return std::nullopt;
  }
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsInt64()) {
    return std::nullopt;
  }
  return it->value.GetInt64();
}

std::optional<double> get_number(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return std::nullopt;
  }
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsNumber()) {
    return std::nullopt;
  }
  return it->value.GetDouble();
}

std::optional<bool> get_bool(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return std::nullopt;
  }
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsBool()) {
    return std::nullopt;
  }
  return it->value.GetBool();
}

std::string error_body(std::string_view code, std::string_view message, std::string_view field) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_key(w, "error");
  w.StartObject();
  write_kv(w, "code", code);
  write_kv(w, "message", message);
  if (!field.empty()) {
    write_kv(w, "field", field);
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace mp::util
