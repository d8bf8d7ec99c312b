#include "serve/ai_request.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace mp::serve {

namespace {

constexpr std::array<std::string_view, 10> k_fields = {"email_id", "content", "request_type", "priority",
                                                       "metadata", "subject", "sender",       "model",
                                                       "wait_ms",  "cache"};

std::unexpected<ApiError> invalid(std::string field, std::string message) {
  return std::unexpected(ApiError{400, "invalid_request", std::move(message), std::move(field)});
}

std::expected<std::string, ApiError> optional_string(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || it->value.IsNull()) {
    return std::string();
  }
  if (!it->value.IsString()) {
    return invalid(name, fmt::format("{} must be a string", name));
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::expected<std::string, ApiError> email_id_json(const rapidjson::Value& v) {
  auto it = v.FindMember("email_id");
  if (it == v.MemberEnd() || it->value.IsNull()) {
    return invalid("email_id", "email_id is required (an integer or a string)");
  }
  if (it->value.IsInt64() || it->value.IsUint64()) {
    return util::to_json(it->value);
  }
  if (it->value.IsString() && it->value.GetStringLength() > 0 && it->value.GetStringLength() <= 256) {
    return util::to_json(it->value);
  }
  return invalid("email_id", "email_id must be an integer or a string of 1 to 256 characters");
}

std::expected<void, ApiError> check_known_fields(const rapidjson::Value& v) {
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    const std::string_view name(m->name.GetString(), m->name.GetStringLength());
    if (std::find(k_fields.begin(), k_fields.end(), name) == k_fields.end()) {
      return invalid(std::string(name), fmt::format("unknown field '{}'", name));
    }
  }
  return {};
}

std::expected<void, ApiError> parse_enums(const rapidjson::Value& v, ai::Submission& s) {
  auto type = optional_string(v, "request_type");
  if (!type) {
    return std::unexpected(type.error());
  }
  if (!type->empty()) {
    auto t = analyser::parse_request_type(*type);
    if (!t) {
      return invalid("request_type", fmt::format("unknown request_type '{}' (classification, summary, "
                                                 "action_items, analysis)",
                                                 *type));
    }
    s.type = *t;
  }
  auto prio = optional_string(v, "priority");
  if (!prio) {
    return std::unexpected(prio.error());
  }
  if (!prio->empty()) {
    auto p = ai::parse_priority(*prio);
    if (!p) {
      return invalid("priority",
                     fmt::format("unknown priority '{}' (urgent, high, normal, low, background)", *prio));
    }
    s.priority = *p;
  }
  auto cache = optional_string(v, "cache");
  if (!cache) {
    return std::unexpected(cache.error());
  }
  if (!cache->empty()) {
    auto c = ai::parse_cache_mode(*cache);
    if (!c) {
      return invalid("cache", fmt::format("unknown cache mode '{}' (default, no-store, refresh)", *cache));
    }
    s.cache = *c;
  }
  return {};
}

std::expected<void, ApiError> parse_metadata(const rapidjson::Value& v, const auth::Principal& who,
                                             ai::Submission& s) {
  s.owner = who.user_id;
  s.user_id = who.user_id;
  auto it = v.FindMember("metadata");
  if (it == v.MemberEnd() || it->value.IsNull()) {
    return {};
  }
  if (!it->value.IsObject()) {
    return invalid("metadata", "metadata must be an object");
  }
  auto uid = it->value.FindMember("user_id");
  if (uid == it->value.MemberEnd() || uid->value.IsNull()) {
    return {};
  }
  std::string user;
  if (uid->value.IsString()) {
    user.assign(uid->value.GetString(), uid->value.GetStringLength());
  } else if (uid->value.IsInt64()) {
    user = std::to_string(uid->value.GetInt64());
  } else {
    return invalid("metadata.user_id", "metadata.user_id must be a string");
  }
  if (!who.is_admin() && user != who.user_id) {
    return std::unexpected(
        ApiError{403, "forbidden", "metadata.user_id must be your own user id", "metadata.user_id"});
  }
  s.user_id = user;
  return {};
}

} // namespace

std::optional<ApiError> check_content_type(std::string_view content_type, bool allow_ndjson) {
  const std::string_view media = util::trim(content_type.substr(0, content_type.find(';')));
  if (util::iequals(media, "application/json") ||
      (allow_ndjson && util::iequals(media, "application/x-ndjson"))) {
    return std::nullopt;
  }
  return ApiError{415, "unsupported_media_type",
                  fmt::format("send Content-Type: application/json{} (got '{}')",
                              allow_ndjson ? " or application/x-ndjson" : "", content_type),
                  "Content-Type"};
}

std::expected<ParsedRequest, ApiError> parse_ai_request(const rapidjson::Value& v, const auth::Principal& who,
                                                        const RequestLimits& limits) {
  if (!v.IsObject()) {
    return invalid("body", "the request must be a JSON object");
  }
  ParsedRequest out;
  ai::Submission& s = out.submission;
  if (auto ok = check_known_fields(v); !ok) {
    return std::unexpected(ok.error());
  }
  auto id = email_id_json(v);
  if (!id) {
    return std::unexpected(id.error());
  }
  s.email_id_json = std::move(*id);
  auto content = v.FindMember("content");
  if (content == v.MemberEnd() || content->value.IsNull()) {
    return invalid("content", "content is required");
  }
  if (!content->value.IsString()) {
    return invalid("content", "content must be a string");
  }
  s.content.assign(content->value.GetString(), content->value.GetStringLength());
  if (s.content.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalid("content", "content is empty");
  }
  for (auto [name, field] : {std::pair{"subject", &s.subject}, {"sender", &s.sender}, {"model", &s.model}}) {
    auto value = optional_string(v, name);
    if (!value) {
      return std::unexpected(value.error());
    }
    *field = std::move(*value);
  }
  if (auto ok = parse_enums(v, s); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = parse_metadata(v, who, s); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto w = v.FindMember("wait_ms"); w != v.MemberEnd() && !w->value.IsNull()) {
    if (!w->value.IsInt64() || w->value.GetInt64() < 0) {
      return invalid("wait_ms", "wait_ms must be an integer >= 0");
    }
    if (w->value.GetInt64() > limits.max_wait_ms) {
      return invalid("wait_ms", fmt::format("wait_ms must be at most {}", limits.max_wait_ms));
    }
    out.wait = std::chrono::milliseconds(w->value.GetInt64());
  }
  return out;
}

} // namespace mp::serve
