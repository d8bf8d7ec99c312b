#include "analyser/analysis.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fmt/format.h>

namespace mp::analyser {

namespace {

struct TypeName {
  RequestType type;
  std::string_view name;
};

constexpr std::array<TypeName, 4> k_type_names{{
    {RequestType::classification, "classification"},
    {RequestType::summary, "summary"},
    {RequestType::action_items, "action_items"},
    {RequestType::analysis, "analysis"},
}};

const std::vector<std::string_view>& sentiments() {
  static const std::vector<std::string_view> k_sentiments{"positive", "neutral", "negative"};
  return k_sentiments;
}

bool wants_classification(RequestType t) {
  return t == RequestType::classification || t == RequestType::analysis;
}
bool wants_summary(RequestType t) {
  return t == RequestType::summary || t == RequestType::analysis;
}
bool wants_action_items(RequestType t) {
  return t == RequestType::action_items || t == RequestType::analysis;
}

std::string choices_text(const std::vector<std::string_view>& choices) {
  return fmt::format("{}", fmt::join(choices, ", "));
}

// A member looked up for validation: absent, or present with its value.
const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

Expected<std::string> required_string(const rapidjson::Value& obj, const char* name,
                                      const std::string& field) {
  const rapidjson::Value* v = member(obj, name);
  if (v == nullptr) {
    return fail(Errc::invalid, fmt::format("missing '{}'", field), field);
  }
  if (!v->IsString()) {
    return fail(Errc::invalid, fmt::format("'{}' must be a string", field), field);
  }
  return std::string(v->GetString(), v->GetStringLength());
}

Expected<std::string> required_choice(const rapidjson::Value& obj, const char* name,
                                      const std::vector<std::string_view>& choices) {
  auto s = required_string(obj, name, name);
  if (!s) {
    return s;
  }
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    return fail(Errc::invalid, fmt::format("'{}' is '{}', not one of {}", name, *s, choices_text(choices)),
                name);
  }
  return s;
}

Expected<double> required_number(const rapidjson::Value& obj, const char* name, double lo, double hi) {
  const rapidjson::Value* v = member(obj, name);
  if (v == nullptr) {
    return fail(Errc::invalid, fmt::format("missing '{}'", name), name);
  }
  if (!v->IsNumber()) {
    return fail(Errc::invalid, fmt::format("'{}' must be a number", name), name);
  }
  const double d = v->GetDouble();
  if (!std::isfinite(d) || d < lo || d > hi) {
    return fail(Errc::invalid, fmt::format("'{}' is {}, outside {}..{}", name, d, lo, hi), name);
  }
  return d;
}

Expected<bool> required_bool(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = member(obj, name);
  if (v == nullptr) {
    return fail(Errc::invalid, fmt::format("missing '{}'", name), name);
  }
  if (!v->IsBool()) {
    return fail(Errc::invalid, fmt::format("'{}' must be true or false", name), name);
  }
  return v->GetBool();
}

// "YYYY-MM-DD" naming a real calendar day.
bool is_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int n = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      n = n * 10 + (s[i] - '0');
    }
    return n;
  };
  const std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)),
                                        std::chrono::month(static_cast<unsigned>(num(5, 2))),
                                        std::chrono::day(static_cast<unsigned>(num(8, 2)))};
  return ymd.ok();
}

Expected<ActionItem> action_item_from_json(const rapidjson::Value& v, std::size_t index) {
  const std::string at = fmt::format("action_items[{}]", index);
  if (!v.IsObject()) {
    return fail(Errc::invalid, fmt::format("'{}' must be an object", at), at);
  }
  ActionItem item;
  auto text = required_string(v, "text", at + ".text");
  if (!text) {
    return std::unexpected(text.error());
  }
  if (text->empty()) {
    return fail(Errc::invalid, fmt::format("'{}.text' must not be empty", at), at + ".text");
  }
  item.text = std::move(*text);
  // A model may leave out what it has no value for: a missing due is null, a missing
  // due_text empty. A present value of the wrong type is still an error.
  if (const rapidjson::Value* due = member(v, "due"); due != nullptr && !due->IsNull()) {
    const std::string field = at + ".due";
    if (!due->IsString() || !is_iso_date({due->GetString(), due->GetStringLength()})) {
      return fail(Errc::invalid, fmt::format("'{}' must be null or a date \"YYYY-MM-DD\"", field), field);
    }
    item.due = std::string(due->GetString(), due->GetStringLength());
  }
  if (member(v, "due_text") != nullptr) {
    auto due_text = required_string(v, "due_text", at + ".due_text");
    if (!due_text) {
      return std::unexpected(due_text.error());
    }
    item.due_text = std::move(*due_text);
  }
  return item;
}

Expected<void> classification_from_json(const rapidjson::Value& v, Analysis& a) {
  auto category = required_choice(v, "category", categories());
  if (!category) {
    return std::unexpected(category.error());
  }
  auto urgency = required_choice(v, "urgency", urgencies());
  if (!urgency) {
    return std::unexpected(urgency.error());
  }
  auto confidence = required_number(v, "confidence", 0, 1);
  if (!confidence) {
    return std::unexpected(confidence.error());
  }
  auto needs_reply = required_bool(v, "needs_reply");
  if (!needs_reply) {
    return std::unexpected(needs_reply.error());
  }
  auto sentiment = required_choice(v, "sentiment", sentiments());
  if (!sentiment) {
    return std::unexpected(sentiment.error());
  }
  auto score = required_number(v, "sentiment_score", -1, 1);
  if (!score) {
    return std::unexpected(score.error());
  }
  a.category = std::move(*category);
  a.urgency = std::move(*urgency);
  a.confidence = *confidence;
  a.needs_reply = *needs_reply;
  a.sentiment = std::move(*sentiment);
  a.sentiment_score = *score;
  return {};
}

Expected<void> action_items_from_json(const rapidjson::Value& v, Analysis& a) {
  const rapidjson::Value* items = member(v, "action_items");
  if (items == nullptr) {
    return fail(Errc::invalid, "missing 'action_items'", "action_items");
  }
  if (!items->IsArray()) {
    return fail(Errc::invalid, "'action_items' must be an array", "action_items");
  }
  a.action_items.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    auto item = action_item_from_json((*items)[i], i);
    if (!item) {
      return std::unexpected(item.error());
    }
    a.action_items.push_back(std::move(*item));
  }
  return {};
}

void write_action_items(util::JsonWriter& w, const std::vector<ActionItem>& items) {
  util::write_key(w, "action_items");
  w.StartArray();
  for (const ActionItem& item : items) {
    w.StartObject();
    util::write_kv(w, "text", item.text);
    util::write_key(w, "due");
    if (item.due) {
      w.String(item.due->data(), static_cast<rapidjson::SizeType>(item.due->size()));
    } else {
      w.Null();
    }
    util::write_kv(w, "due_text", item.due_text);
    w.EndObject();
  }
  w.EndArray();
}

} // namespace

std::optional<RequestType> parse_request_type(std::string_view name) {
  for (const TypeName& t : k_type_names) {
    if (t.name == name) {
      return t.type;
    }
  }
  return std::nullopt;
}

std::string_view request_type_name(RequestType t) {
  for (const TypeName& n : k_type_names) {
    if (n.type == t) {
      return n.name;
    }
  }
  return "unknown";
}

const std::vector<std::string_view>& categories() {
  static const std::vector<std::string_view> k_categories{
      "work",    "personal", "newsletter", "promotion", "notification",
      "finance", "travel",   "support",    "spam",      "other"};
  return k_categories;
}

const std::vector<std::string_view>& urgencies() {
  static const std::vector<std::string_view> k_urgencies{"urgent", "high", "normal", "low", "background"};
  return k_urgencies;
}

void write_fields(util::JsonWriter& w, const Analysis& a, RequestType type) {
  if (wants_classification(type)) {
    util::write_kv(w, "category", a.category);
    util::write_kv(w, "urgency", a.urgency);
    util::write_key(w, "confidence");
    w.Double(a.confidence);
    util::write_key(w, "needs_reply");
    w.Bool(a.needs_reply);
    util::write_kv(w, "sentiment", a.sentiment);
    util::write_key(w, "sentiment_score");
    w.Double(a.sentiment_score);
  }
  if (wants_summary(type)) {
    util::write_kv(w, "summary", a.summary);
  }
  if (wants_action_items(type)) {
    write_action_items(w, a.action_items);
  }
}

Expected<Analysis> from_json(const rapidjson::Value& v, RequestType type) {
  if (!v.IsObject()) {
    return fail(Errc::invalid, "the answer must be a JSON object");
  }
  Analysis a;
  if (wants_classification(type)) {
    if (auto ok = classification_from_json(v, a); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (wants_summary(type)) {
    auto summary = required_string(v, "summary", "summary");
    if (!summary) {
      return std::unexpected(summary.error());
    }
    a.summary = std::move(*summary);
  }
  if (wants_action_items(type)) {
    if (auto ok = action_items_from_json(v, a); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return a;
}

} // namespace mp::analyser
