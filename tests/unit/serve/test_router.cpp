#include "serve/router.hpp"
#include "serve/service.hpp"

#include <catch2/catch.hpp>

using namespace mp::serve;

TEST_CASE("router: static and parameter routes", "[router]") {
  Router r;
  const auto health = r.add("GET", "/healthz", Access::open);
  const auto get = r.add("GET", "/api/ai/requests/{id}", Access::user);
  const auto del = r.add("DELETE", "/api/ai/requests/{id}", Access::user);
  auto m = r.match("GET", "/healthz");
  REQUIRE(m.kind == RouteMatch::Kind::found);
  REQUIRE(m.index == health);
  m = r.match("GET", "/api/ai/requests/abc-123");
  REQUIRE(m.kind == RouteMatch::Kind::found);
  REQUIRE(m.index == get);
  REQUIRE(m.params.at("id") == "abc-123");
  REQUIRE(r.match("DELETE", "/api/ai/requests/x").index == del);
}

TEST_CASE("router: wrong method lists the allowed ones", "[router]") {
  Router r;
  r.add("GET", "/a/{id}", Access::user);
  r.add("DELETE", "/a/{id}", Access::user);
  auto m = r.match("POST", "/a/1");
  REQUIRE(m.kind == RouteMatch::Kind::wrong_method);
  REQUIRE(m.allowed == "GET, DELETE");
}

TEST_CASE("router: unknown paths do not match", "[router]") {
  Router r;
  r.add("GET", "/api/ai/requests/{id}", Access::user);
  REQUIRE(r.match("GET", "/api/ai/requests").kind == RouteMatch::Kind::no_path);
  REQUIRE(r.match("GET", "/api/ai/requests/1/2").kind == RouteMatch::Kind::no_path);
  REQUIRE(r.match("GET", "/").kind == RouteMatch::Kind::no_path);
}

TEST_CASE("loopback detection", "[serve]") {
  REQUIRE(is_loopback("127.0.0.1"));
  REQUIRE(is_loopback("127.1.2.3"));
  REQUIRE(is_loopback("::1"));
  REQUIRE(is_loopback("localhost"));
  REQUIRE_FALSE(is_loopback("0.0.0.0"));
  REQUIRE_FALSE(is_loopback("::"));
  REQUIRE_FALSE(is_loopback("10.0.0.1"));
}
