#include "serve/ai_request.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace mp::serve;

namespace {

mp::auth::Principal user(const char* id, bool admin = false) {
  return mp::auth::Principal{id, admin ? mp::auth::Scope::admin : mp::auth::Scope::user, false};
}

std::expected<ParsedRequest, ApiError> parse(std::string_view json,
                                             const mp::auth::Principal& who = user("alice")) {
  auto doc = mp::util::parse_json(json);
  REQUIRE(doc);
  return parse_ai_request(*doc, who, RequestLimits{30'000});
}

constexpr std::string_view k_good =
    R"({"email_id":7,"content":"Please reply by Friday.","request_type":"summary","priority":"urgent",)"
    R"("metadata":{"user_id":"alice"},"subject":"Hi","sender":"bob@x","model":"m1","wait_ms":250,"cache":"refresh"})";

} // namespace

TEST_CASE("ai request: every field is read", "[ai_request]") {
  auto r = parse(k_good);
  REQUIRE(r);
  const auto& s = r->submission;
  REQUIRE(s.email_id_json == "7");
  REQUIRE(s.content == "Please reply by Friday.");
  REQUIRE(s.type == mp::analyser::RequestType::summary);
  REQUIRE(s.priority == mp::ai::Priority::urgent);
  REQUIRE(s.cache == mp::ai::CacheMode::refresh);
  REQUIRE(s.subject == "Hi");
  REQUIRE(s.sender == "bob@x");
  REQUIRE(s.model == "m1");
  REQUIRE(s.user_id == "alice");
  REQUIRE(s.owner == "alice");
  REQUIRE(r->wait.count() == 250);
}

TEST_CASE("ai request: defaults and string ids", "[ai_request]") {
  auto r = parse(R"({"email_id":"msg-1","content":"x"})");
  REQUIRE(r);
  REQUIRE(r->submission.email_id_json == R"("msg-1")");
  REQUIRE(r->submission.type == mp::analyser::RequestType::classification);
  REQUIRE(r->submission.priority == mp::ai::Priority::normal);
  REQUIRE(r->submission.cache == mp::ai::CacheMode::normal);
  REQUIRE(r->wait.count() == 0);
}

TEST_CASE("ai request: errors name the field", "[ai_request]") {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"content":"x"})", "email_id"},
      {R"({"email_id":1})", "content"},
      {R"({"email_id":1,"content":""})", "content"},
      {R"({"email_id":1.5,"content":"x"})", "email_id"},
      {R"({"email_id":1,"content":"x","request_type":"poem"})", "request_type"},
      {R"({"email_id":1,"content":"x","priority":9})", "priority"},
      {R"({"email_id":1,"content":"x","cache":"always"})", "cache"},
      {R"({"email_id":1,"content":"x","wait_ms":"1"})", "wait_ms"},
      {R"({"email_id":1,"content":"x","wait_ms":30001})", "wait_ms"},
      {R"({"email_id":1,"content":"x","subject":3})", "subject"},
      {R"({"email_id":1,"content":"x","metadata":{"user_id":[]}})", "metadata.user_id"},
      {R"({"email_id":1,"content":"x","extra":true})", "extra"},
  };
  for (const auto& [json, field] : cases) {
    INFO(json);
    auto r = parse(json);
    REQUIRE_FALSE(r);
    REQUIRE(r.error().status == 400);
    REQUIRE(r.error().field == field);
  }
}

TEST_CASE("ai request: a user may not act for another; an admin may", "[ai_request]") {
  constexpr std::string_view bob = R"({"email_id":1,"content":"x","metadata":{"user_id":"bob"}})";
  auto r = parse(bob, user("alice"));
  REQUIRE_FALSE(r);
  REQUIRE(r.error().status == 403);
  auto a = parse(bob, user("ops", true));
  REQUIRE(a);
  REQUIRE(a->submission.user_id == "bob");
  REQUIRE(a->submission.owner == "ops");
}

TEST_CASE("ai request: content types", "[ai_request]") {
  REQUIRE_FALSE(check_content_type("application/json", false));
  REQUIRE_FALSE(check_content_type("Application/JSON; charset=utf-8", false));
  REQUIRE(check_content_type("application/x-ndjson", false)->status == 415);
  REQUIRE_FALSE(check_content_type("application/x-ndjson", true));
  REQUIRE(check_content_type("", false)->field == "Content-Type");
}

TEST_CASE("ai request: mutated inputs never crash and always answer", "[ai_request]") {
  // A poor man's fuzzer: flip, drop and duplicate bytes of a valid request 20,000 times.
  std::mt19937 rng(1234);
  const std::string good(k_good);
  for (int i = 0; i < 20'000; ++i) {
    std::string s = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 3) {
      case 0: s[at] = static_cast<char>(rng() % 256); break;
      case 1: s.erase(at, 1 + rng() % 8); break;
      default: s.insert(at, s.substr(at, 1 + rng() % 8)); break;
      }
    }
    auto doc = mp::util::parse_json(s);
    if (!doc) {
      REQUIRE_FALSE(doc.error().message.empty());
      continue;
    }
    auto r = parse_ai_request(*doc, user("alice"), RequestLimits{30'000});
    if (!r) {
      REQUIRE(r.error().status >= 400);
      REQUIRE(r.error().status < 500);
      REQUIRE_FALSE(r.error().message.empty());
    }
  }
}
