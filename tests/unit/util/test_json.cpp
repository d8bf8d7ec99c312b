#include "util/json.hpp"

#include <catch2/catch.hpp>

using namespace mp::util;

TEST_CASE("json: parses and reads typed members", "[json]") {
  auto doc = parse_json(R"({"a":"x","n":3,"f":1.5,"b":true})");
  REQUIRE(doc);
  REQUIRE(get_string(*doc, "a").value() == "x");
  REQUIRE(get_int(*doc, "n").value() == 3);
  REQUIRE(get_number(*doc, "f").value() == 1.5);
  REQUIRE(get_bool(*doc, "b").value());
  REQUIRE_FALSE(get_string(*doc, "n"));
  REQUIRE_FALSE(get_int(*doc, "missing"));
}

TEST_CASE("json: malformed input says where", "[json]") {
  auto doc = parse_json(R"({"a": })");
  REQUIRE_FALSE(doc);
  REQUIRE(doc.error().code == mp::Errc::invalid);
  REQUIRE(doc.error().message.find("byte 6") != std::string::npos);
}

TEST_CASE("json: trailing garbage is an error", "[json]") {
  REQUIRE_FALSE(parse_json(R"({"a":1} x)"));
}

TEST_CASE("json: invalid UTF-8 is rejected", "[json]") {
  REQUIRE_FALSE(parse_json("\"\xff\xfe\""));
}

TEST_CASE("json: nesting past the limit is rejected before parsing", "[json]") {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto doc = parse_json(deep, JsonLimits{32});
  REQUIRE_FALSE(doc);
  REQUIRE(doc.error().message.find("deeper than 32") != std::string::npos);
  // Brackets inside strings do not count.
  REQUIRE(parse_json(R"({"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})", JsonLimits{2}));
}

TEST_CASE("json: error bodies have the API's shape", "[json]") {
  REQUIRE(error_body("invalid", "bad \"x\"", "content") ==
          R"({"error":{"code":"invalid","message":"bad \"x\"","field":"content"}})");
  REQUIRE(error_body("not_found", "no") == R"({"error":{"code":"not_found","message":"no"}})");
}
