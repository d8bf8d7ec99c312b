#include "util/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>

#include <cstdint>
#include <cstring>

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

// UTF-8 check with an ASCII fast path (8 bytes at a time): RapidJSON's own validation
// decodes every character and was the largest single cost of parsing a request.
std::optional<std::size_t> invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t chunk = 0;
      std::memcpy(&chunk, p + i, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) {
      return i;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        return i;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    static constexpr std::uint32_t k_min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < k_min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

Expected<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits) {
  if (auto at = invalid_utf8_at(text)) {
    return fail(Errc::invalid, fmt::format("invalid UTF-8 at byte {}", *at));
  }
  if (auto at = depth_violation(text, limits.max_depth)) {
    return fail(Errc::invalid,
                fmt::format("JSON nested deeper than {} levels at byte {}", limits.max_depth, *at));
  }
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return fail(Errc::invalid, fmt::format("invalid JSON at byte {}: {}", doc.GetErrorOffset(),
                                           rapidjson::GetParseError_En(doc.GetParseError())));
  }
  return doc;
}

Expected<const rapidjson::Value*> parse_json_scratch(std::string_view text, JsonLimits limits) {
  if (auto at = invalid_utf8_at(text)) {
    return fail(Errc::invalid, fmt::format("invalid UTF-8 at byte {}", *at));
  }
  if (auto at = depth_violation(text, limits.max_depth)) {
    return fail(Errc::invalid,
                fmt::format("JSON nested deeper than {} levels at byte {}", limits.max_depth, *at));
  }
  using Pool = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
  struct Scratch {
    alignas(8) char value_buffer[16 * 1024];
    alignas(8) char stack_buffer[4 * 1024];
    Pool values{value_buffer, sizeof value_buffer};
    Pool stack{stack_buffer, sizeof stack_buffer};
    std::optional<rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>> doc;
  };
  thread_local Scratch s;
  s.doc.reset();
  s.values.Clear();
  s.stack.Clear();
  s.doc.emplace(&s.values, sizeof s.stack_buffer, &s.stack);
  s.doc->Parse(text.data(), text.size());
  if (s.doc->HasParseError()) {
    return fail(Errc::invalid, fmt::format("invalid JSON at byte {}: {}", s.doc->GetErrorOffset(),
                                           rapidjson::GetParseError_En(s.doc->GetParseError())));
  }
  return &*s.doc;
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
