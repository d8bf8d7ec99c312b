#include "analyser/analysis.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace mp::analyser;
using mp::Errc;

namespace {

Analysis sample() {
  Analysis a;
  a.category = "finance";
  a.urgency = "high";
  a.confidence = 0.75;
  a.needs_reply = true;
  a.summary = "The invoice is overdue. Please pay it.";
  a.action_items.push_back({"Please pay the invoice by Friday.", "2026-12-04", "by Friday"});
  a.action_items.push_back({"Send me the receipt.", std::nullopt, ""});
  a.sentiment = "negative";
  a.sentiment_score = -0.5;
  return a;
}

std::string to_object(const Analysis& a, RequestType type) {
  rapidjson::StringBuffer buf;
  mp::util::JsonWriter w(buf);
  w.StartObject();
  write_fields(w, a, type);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// from_json of `text`, which must be valid JSON.
mp::Expected<Analysis> parse(std::string_view text, RequestType type) {
  auto doc = mp::util::parse_json(text);
  REQUIRE(doc);
  return from_json(*doc, type);
}

// The error's field when `text` is rejected for `type`.
std::string rejected_field(std::string_view text, RequestType type = RequestType::analysis) {
  auto a = parse(text, type);
  REQUIRE_FALSE(a);
  REQUIRE(a.error().code == Errc::invalid);
  return a.error().field;
}

const char* const k_valid_classification =
    R"({"category":"work","urgency":"normal","confidence":0.9,"needs_reply":false,)"
    R"("sentiment":"neutral","sentiment_score":0.0})";

} // namespace

TEST_CASE("analysis: request type names round trip", "[analysis]") {
  for (RequestType t : {RequestType::classification, RequestType::summary, RequestType::action_items,
                        RequestType::analysis}) {
    REQUIRE(parse_request_type(request_type_name(t)) == t);
  }
  REQUIRE(request_type_name(RequestType::action_items) == "action_items");
  REQUIRE_FALSE(parse_request_type("Summary"));
  REQUIRE_FALSE(parse_request_type(""));
}

TEST_CASE("analysis: categories and urgencies in documentation order", "[analysis]") {
  REQUIRE(categories().size() == 10);
  REQUIRE(categories().front() == "work");
  REQUIRE(categories().back() == "other");
  REQUIRE(urgencies() == std::vector<std::string_view>{"urgent", "high", "normal", "low", "background"});
}

TEST_CASE("analysis: write_fields writes what each type asks for", "[analysis]") {
  const Analysis a = sample();
  REQUIRE(to_object(a, RequestType::classification) ==
          R"({"category":"finance","urgency":"high","confidence":0.75,"needs_reply":true,)"
          R"("sentiment":"negative","sentiment_score":-0.5})");
  REQUIRE(to_object(a, RequestType::summary) == R"({"summary":"The invoice is overdue. Please pay it."})");
  REQUIRE(to_object(a, RequestType::action_items) ==
          R"({"action_items":[{"text":"Please pay the invoice by Friday.","due":"2026-12-04",)"
          R"("due_text":"by Friday"},{"text":"Send me the receipt.","due":null,"due_text":""}]})");
}

TEST_CASE("analysis: write_fields -> parse -> from_json round trips every type", "[analysis]") {
  const Analysis a = sample();
  SECTION("classification") {
    auto b = parse(to_object(a, RequestType::classification), RequestType::classification);
    REQUIRE(b);
    REQUIRE(b->category == a.category);
    REQUIRE(b->urgency == a.urgency);
    REQUIRE(b->confidence == a.confidence);
    REQUIRE(b->needs_reply == a.needs_reply);
    REQUIRE(b->sentiment == a.sentiment);
    REQUIRE(b->sentiment_score == a.sentiment_score);
    REQUIRE(b->summary.empty());
    REQUIRE(b->action_items.empty());
  }
  SECTION("summary") {
    auto b = parse(to_object(a, RequestType::summary), RequestType::summary);
    REQUIRE(b);
    REQUIRE(b->summary == a.summary);
    REQUIRE(b->category.empty());
  }
  SECTION("action_items") {
    auto b = parse(to_object(a, RequestType::action_items), RequestType::action_items);
    REQUIRE(b);
    REQUIRE(b->action_items.size() == 2);
    REQUIRE(b->action_items[0].text == a.action_items[0].text);
    REQUIRE(b->action_items[0].due == a.action_items[0].due);
    REQUIRE(b->action_items[0].due_text == "by Friday");
    REQUIRE_FALSE(b->action_items[1].due);
    REQUIRE(b->action_items[1].due_text.empty());
  }
  SECTION("analysis") {
    const std::string once = to_object(a, RequestType::analysis);
    auto b = parse(once, RequestType::analysis);
    REQUIRE(b);
    REQUIRE(to_object(*b, RequestType::analysis) == once);
  }
}

TEST_CASE("analysis: a type validates only the fields it needs", "[analysis]") {
  // A summary answer needs no category; extra members are ignored.
  auto s = parse(R"({"summary":"Hi.","category":"nonsense","extra":1})", RequestType::summary);
  REQUIRE(s);
  REQUIRE(s->summary == "Hi.");
  REQUIRE(parse(k_valid_classification, RequestType::classification));
  REQUIRE(rejected_field(k_valid_classification, RequestType::summary) == "summary");
  REQUIRE(rejected_field(k_valid_classification, RequestType::action_items) == "action_items");
}

TEST_CASE("analysis: missing or mistyped fields name the field", "[analysis]") {
  const auto c = RequestType::classification;
  REQUIRE(rejected_field(R"({"urgency":"normal","confidence":0.9,"needs_reply":false,)"
                         R"("sentiment":"neutral","sentiment_score":0})",
                         c) == "category");
  REQUIRE(rejected_field(R"({"category":3,"urgency":"normal"})", c) == "category");
  REQUIRE(rejected_field(R"({"category":"work","urgency":"NORMAL"})", c) == "urgency");
  REQUIRE(rejected_field(R"({"category":"work","urgency":"normal","confidence":"0.9"})", c) == "confidence");
  REQUIRE(rejected_field(R"({"category":"work","urgency":"normal","confidence":0.9,"needs_reply":"no"})",
                         c) == "needs_reply");
  REQUIRE(rejected_field(R"({"category":"work","urgency":"normal","confidence":0.9,"needs_reply":false,)"
                         R"("sentiment":"happy","sentiment_score":0})",
                         c) == "sentiment");
  REQUIRE(rejected_field(R"({"category":"work","urgency":"normal","confidence":0.9,"needs_reply":false,)"
                         R"("sentiment":"neutral"})",
                         c) == "sentiment_score");
  REQUIRE(rejected_field(R"({"summary":null})", RequestType::summary) == "summary");
}

TEST_CASE("analysis: unknown category values are rejected", "[analysis]") {
  auto a = parse(R"({"category":"Work","urgency":"normal","confidence":0.9,"needs_reply":false,)"
                 R"("sentiment":"neutral","sentiment_score":0})",
                 RequestType::classification);
  REQUIRE_FALSE(a);
  REQUIRE(a.error().field == "category");
  REQUIRE(a.error().message.find("'Work'") != std::string::npos);
}

TEST_CASE("analysis: numbers outside their ranges are rejected", "[analysis]") {
  const auto c = RequestType::classification;
  const std::string head = R"({"category":"work","urgency":"normal",)";
  const std::string tail = R"(,"needs_reply":false,"sentiment":"neutral","sentiment_score":0})";
  REQUIRE(rejected_field(head + R"("confidence":1.01)" + tail, c) == "confidence");
  REQUIRE(rejected_field(head + R"("confidence":-0.1)" + tail, c) == "confidence");
  REQUIRE(parse(head + R"("confidence":0)" + tail, c));
  REQUIRE(parse(head + R"("confidence":1)" + tail, c));
  REQUIRE(rejected_field(head + R"("confidence":0.5,"needs_reply":false,"sentiment":"neutral",)"
                                R"("sentiment_score":-1.5})",
                         c) == "sentiment_score");
}

TEST_CASE("analysis: action items are checked one by one", "[analysis]") {
  const auto t = RequestType::action_items;
  REQUIRE(rejected_field(R"({"action_items":{}})", t) == "action_items");
  REQUIRE(rejected_field(R"({"action_items":["pay"]})", t) == "action_items[0]");
  REQUIRE(rejected_field(R"({"action_items":[{"text":"a"},{"due":null}]})", t) == "action_items[1].text");
  REQUIRE(rejected_field(R"({"action_items":[{"text":""}]})", t) == "action_items[0].text");
  REQUIRE(rejected_field(R"({"action_items":[{"text":"a","due":"Friday"}]})", t) == "action_items[0].due");
  REQUIRE(rejected_field(R"({"action_items":[{"text":"a","due":"2026-02-30"}]})", t) ==
          "action_items[0].due");
  REQUIRE(rejected_field(R"({"action_items":[{"text":"a","due_text":7}]})", t) == "action_items[0].due_text");
  // Absent due and due_text mean none.
  auto a = parse(R"({"action_items":[{"text":"Call me."}]})", t);
  REQUIRE(a);
  REQUIRE_FALSE(a->action_items[0].due);
  REQUIRE(a->action_items[0].due_text.empty());
  REQUIRE(parse(R"({"action_items":[]})", t));
}

TEST_CASE("analysis: an answer that is not an object is rejected", "[analysis]") {
  for (const char* text : {"[]", "\"work\"", "null", "42"}) {
    auto a = parse(text, RequestType::summary);
    REQUIRE_FALSE(a);
    REQUIRE(a.error().code == Errc::invalid);
  }
}
