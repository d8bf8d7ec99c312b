#pragma once
// The result schema every provider fills: the local analyser directly, the OpenAI-
// compatible provider by validating the model's JSON answer into it.

#include "util/error.hpp"
#include "util/json.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::analyser {

/// What the caller asked for; decides which fields a result carries.
enum class RequestType { classification, summary, action_items, analysis };
inline constexpr RequestType k_request_types[] = {RequestType::classification, RequestType::summary,
                                                  RequestType::action_items, RequestType::analysis};

std::optional<RequestType> parse_request_type(std::string_view name);
std::string_view request_type_name(RequestType t);

/// The email, as the API received it. Views are valid for the call only.
struct Email {
  std::string_view subject;
  std::string_view sender;
  std::string_view content;
};

struct ActionItem {
  std::string text;               ///< the sentence or clause that asks for something
  std::optional<std::string> due; ///< ISO date "2026-12-04" when one was found
  std::string due_text;           ///< the words it came from ("by Friday"); empty if none
};

struct Analysis {
  std::string category; ///< work personal newsletter promotion notification finance travel support spam other
  std::string urgency;  ///< urgent high normal low background
  double confidence = 0; ///< of the category, 0..1
  bool needs_reply = false;
  std::string summary; ///< extractive: sentences of the email itself
  std::vector<ActionItem> action_items;
  std::string sentiment;      ///< positive neutral negative
  double sentiment_score = 0; ///< -1..1
};

/// The ten categories and five urgencies, in documentation order.
const std::vector<std::string_view>& categories();
const std::vector<std::string_view>& urgencies();

/// Writes the fields `type` asks for as members of an open JSON object:
/// classification: category, urgency, confidence, needs_reply, sentiment, sentiment_score;
/// summary: summary; action_items: action_items; analysis: all of them.
void write_fields(util::JsonWriter& w, const Analysis& a, RequestType type);

/// Validates a JSON object (an upstream model's answer) into an Analysis: the fields
/// `type` needs must be present with the right types and allowed values. Errc::invalid
/// naming the field otherwise.
Expected<Analysis> from_json(const rapidjson::Value& v, RequestType type);

} // namespace mp::analyser
