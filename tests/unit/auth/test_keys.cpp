#include "auth/keys.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

using namespace mp::auth;

TEST_CASE("keys: with no keys every caller is an anonymous admin", "[auth]") {
  KeyStore k;
  Principal p;
  REQUIRE(k.check("", p) == AuthResult::ok);
  REQUIRE(p.anonymous);
  REQUIRE(p.is_admin());
}

TEST_CASE("keys: entries carry scope and user", "[auth]") {
  KeyStore k;
  REQUIRE(k.add_list("user-key-0001, admin-key-0001:admin, alice-key-001:user:alice", "MP_API_KEYS"));
  REQUIRE(k.size() == 3);
  Principal p;
  REQUIRE(k.check("user-key-0001", p) == AuthResult::ok);
  REQUIRE_FALSE(p.is_admin());
  REQUIRE(p.user_id.rfind("key-", 0) == 0);
  REQUIRE(k.check("admin-key-0001", p) == AuthResult::ok);
  REQUIRE(p.is_admin());
  REQUIRE(k.check("alice-key-001", p) == AuthResult::ok);
  REQUIRE(p.user_id == "alice");
  REQUIRE(k.check("", p) == AuthResult::missing);
  REQUIRE(k.check("nope-nope-nope", p) == AuthResult::invalid);
}

TEST_CASE("keys: bad entries are config errors naming where", "[auth]") {
  KeyStore k;
  auto shortk = k.add("abc", "MP_API_KEYS entry 1");
  REQUIRE_FALSE(shortk);
  REQUIRE(shortk.error().message.find("MP_API_KEYS entry 1") != std::string::npos);
  REQUIRE_FALSE(k.add("long-enough-key:root", "x"));
}

TEST_CASE("keys: files skip comments and report line numbers", "[auth]") {
  const std::string path = "test_keys_file.txt";
  {
    std::ofstream f(path);
    f << "# keys\n\nfile-key-00001:admin\nbad\n";
  }
  KeyStore k;
  auto r = k.add_file(path);
  REQUIRE_FALSE(r);
  REQUIRE(r.error().message.find(path + ":4") != std::string::npos);
  std::remove(path.c_str());
  REQUIRE_FALSE(KeyStore{}.add_file("/nonexistent/keys"));
}

TEST_CASE("keys: bearer tokens are parsed case-insensitively", "[auth]") {
  REQUIRE(KeyStore::bearer_token("Bearer abc") == "abc");
  REQUIRE(KeyStore::bearer_token("bearer   abc ") == "abc");
  REQUIRE(KeyStore::bearer_token("Basic abc").empty());
  REQUIRE(KeyStore::bearer_token("Bearer").empty());
  REQUIRE(KeyStore::bearer_token("").empty());
}
