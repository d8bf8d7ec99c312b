// A submission as the shared queue carries it (ai/shared_queue.hpp). The email_id stays
// the JSON text it arrived as; the enums travel by name, so a queue entry reads the same
// to every version that knows the names.

#include "ai/shared_queue.hpp"
#include "util/json.hpp"

namespace mp::ai {

namespace {

constexpr std::array<std::string_view, 3> k_cache_modes = {"default", "no_store", "refresh"};

} // namespace

std::string submission_to_json(const Submission& s, double created_unix) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  util::write_key(w, "email_id");
  w.RawValue(s.email_id_json.data(), s.email_id_json.size(), rapidjson::kObjectType);
  util::write_kv(w, "type", analyser::request_type_name(s.type));
  util::write_kv(w, "priority", priority_name(s.priority));
  util::write_kv(w, "model", s.model);
  util::write_kv(w, "user_id", s.user_id);
  util::write_kv(w, "owner", s.owner);
  util::write_kv(w, "subject", s.subject);
  util::write_kv(w, "sender", s.sender);
  util::write_kv(w, "content", s.content);
  util::write_kv(w, "cache", k_cache_modes[static_cast<std::size_t>(s.cache)]);
  util::write_key(w, "created");
  w.Double(created_unix);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Expected<std::pair<Submission, double>> submission_from_json(std::string_view text) {
  auto doc = util::parse_json(text);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  if (!doc->IsObject() || !doc->HasMember("email_id")) {
    return fail(Errc::invalid, "queued request: not a submission object");
  }
  Submission s;
  s.email_id_json = util::to_json((*doc)["email_id"]);
  auto text_of = [&](const char* name) { return std::string(util::get_string(*doc, name).value_or("")); };
  auto type = analyser::parse_request_type(text_of("type"));
  auto priority = parse_priority(text_of("priority"));
  if (!type || !priority) {
    return fail(Errc::invalid, "queued request: unknown type or priority");
  }
  s.type = *type;
  s.priority = *priority;
  s.model = text_of("model");
  s.user_id = text_of("user_id");
  s.owner = text_of("owner");
  s.subject = text_of("subject");
  s.sender = text_of("sender");
  s.content = text_of("content");
  const std::string cache = text_of("cache");
  for (std::size_t i = 0; i < k_cache_modes.size(); ++i) {
    if (cache == k_cache_modes[i]) {
      s.cache = static_cast<CacheMode>(i);
    }
  }
  return std::pair{std::move(s), util::get_number(*doc, "created").value_or(0.0)};
}

} // namespace mp::ai
