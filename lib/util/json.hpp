#pragma once
// RapidJSON helpers: bounded parsing, serialisation, typed member access.

#include "util/error.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::util {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

struct JsonLimits {
  std::size_t max_depth = 32; ///< nesting of arrays and objects
};

/// Parses `text` as one JSON value. Errors (Errc::invalid) say what and at which byte:
/// malformed JSON, invalid UTF-8, nesting deeper than `limits.max_depth`.
Expected<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits = {});

/// Like parse_json, into a per-thread document whose memory is reused from call to call:
/// no allocation for small documents. The result is valid until this thread's next call.
Expected<const rapidjson::Value*> parse_json_scratch(std::string_view text, JsonLimits limits = {});

/// The offset of the first byte that is not valid UTF-8 in `s`; nullopt when all is.
std::optional<std::size_t> invalid_utf8_at(std::string_view s);

/// Serialises a value compactly, or indented when `pretty`.
std::string to_json(const rapidjson::Value& value, bool pretty = false);

/// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

/// Typed member access; nullopt when the member is missing or of another type.
std::optional<std::string_view> get_string(const rapidjson::Value& obj, const char* name);
std::optional<std::int64_t> get_int(const rapidjson::Value& obj, const char* name);
std::optional<double> get_number(const rapidjson::Value& obj, const char* name);
std::optional<bool> get_bool(const rapidjson::Value& obj, const char* name);

/// Writes `key` then `value` (string_view overloads avoid strlen and copies).
inline void write_kv(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
inline void write_key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

/// `{"error":{"code":..,"message":..,"field":..}}`, the API's error body.
std::string error_body(std::string_view code, std::string_view message, std::string_view field = {});

} // namespace mp::util
