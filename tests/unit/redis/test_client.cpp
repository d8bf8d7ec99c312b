// The Redis layer. Tests tagged [redis] talk to the suite's private redis-server (the ctest
// fixture `redis`; its port is in $MP_REDIS_STATE/port) and are run by their own ctest entry.

#include "redis/client.hpp"
#include "redis/subscriber.hpp"
#include "redis/url.hpp"

#include <catch2/catch.hpp>

#include "test_redis.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace mp::redis;

namespace {

using mp::testing::test_redis;

Connection connect(RedisUrl u = test_redis()) {
  auto c = Connection::open(u);
  REQUIRE(c);
  return std::move(*c);
}

} // namespace

TEST_CASE("redis URLs: user, password, host, port, db; bad ones name the field", "[redis_url]") {
  auto u = parse_url("redis://mp:s3cr%40t@10.0.0.5:6380/2", "--redis");
  REQUIRE(u);
  CHECK(u->user == "mp");
  CHECK(u->password == "s3cr@t");
  CHECK(u->host == "10.0.0.5");
  CHECK(u->port == 6380);
  CHECK(u->db == 2);
  CHECK(u->redacted() == "redis://mp:***@10.0.0.5:6380/2");
  // Pub/sub is server-wide: each database's channels carry its number.
  CHECK(u->channel("mp:req:done") == "mp:2:req:done");
  CHECK(u->channel("mp:ws:ev:") == "mp:2:ws:ev:");
  auto p = parse_url("redis://:pw@[::1]", "--redis");
  REQUIRE(p);
  CHECK(p->user.empty());
  CHECK(p->password == "pw");
  CHECK(p->host == "::1");
  CHECK(p->port == 6379);
  CHECK(parse_url("redis://localhost", "x")->db == 0);
  for (const char* bad :
       {"http://h", "redis://", "redis://h:0", "redis://h:70000", "redis://h/16", "redis://h/x"}) {
    auto r = parse_url(bad, "--redis");
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "--redis");
  }
  auto secret = parse_url("redis://u:hunter2@h:bad", "--redis");
  REQUIRE_FALSE(secret);
  CHECK(secret.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("commands, binary-safe values, errors as values, pipelines", "[.redis]") {
  Connection c = connect();
  const std::string value("a\0b\r\nc", 6);
  REQUIRE(checked(c.command({"SET", "mp:test:bin", value})));
  auto got = c.command({"GET", "mp:test:bin"});
  REQUIRE(got);
  CHECK(got->str() == value);
  CHECK(c.command({"GET", "mp:test:missing"})->is_nil());
  auto err = c.command({"INCR", "mp:test:bin"});
  REQUIRE(err); // the connection is fine: the error is Redis's answer
  CHECK(err->is_error());
  CHECK_FALSE(checked(std::move(err)));
  auto replies = c.pipeline({{"DEL", "mp:test:n"}, {"INCR", "mp:test:n"}, {"INCRBY", "mp:test:n", "41"}});
  REQUIRE(replies);
  REQUIRE(replies->size() == 3);
  CHECK((*replies)[2].integer() == 42);
  auto arr = c.command({"MGET", "mp:test:n", "mp:test:missing"});
  REQUIRE(arr->size() == 2);
  CHECK(arr->at(0).str() == "42");
  CHECK(arr->at(1).is_nil());
  c.command({"DEL", "mp:test:bin", "mp:test:n"});
}

TEST_CASE("scripts run by EVALSHA and are loaded once on NOSCRIPT", "[.redis]") {
  Connection c = connect();
  REQUIRE(c.command({"SCRIPT", "FLUSH"}));
  const Script s("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  c.command({"DEL", "mp:test:s"});
  auto first = c.eval(s, {"mp:test:s"}, {"5"});
  REQUIRE(first);
  CHECK(first->integer() == 5);
  auto loaded = c.command({"SCRIPT", "EXISTS", s.sha1});
  CHECK(loaded->at(0).integer() == 1);
  CHECK(c.eval(s, {"mp:test:s"}, {"2"})->integer() == 7);
  c.command({"DEL", "mp:test:s"});
}

TEST_CASE("AUTH with a user and password, SELECT a database, refusals are config errors", "[.redis]") {
  Connection admin = connect();
  REQUIRE(checked(admin.command({"ACL", "SETUSER", "mp-test", "on", ">pa55word", "~*", "+@all"})));
  RedisUrl u = test_redis();
  u.user = "mp-test";
  u.password = "pa55word";
  u.db = 3;
  Connection c = connect(u);
  REQUIRE(checked(c.command({"SET", "mp:test:db", "3"})));
  CHECK(admin.command({"GET", "mp:test:db"})->is_nil()); // db 0 does not see it
  c.command({"DEL", "mp:test:db"});
  u.password = "wrong";
  auto refused = Connection::open(u);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == mp::Errc::config);
  admin.command({"ACL", "DELUSER", "mp-test"});
}

TEST_CASE("a pool fails fast while Redis is down and recovers", "[.redis]") {
  RedisUrl down = test_redis();
  down.port = 1; // nothing listens there
  Pool pool(down);
  auto a = pool.acquire();
  REQUIRE_FALSE(a);
  CHECK(a.error().code == mp::Errc::unavailable);
  CHECK(pool.degraded());
  auto b = pool.acquire(); // within the back-off: no connect attempt
  REQUIRE_FALSE(b);
  CHECK(b.error().message.find("next reconnect") != std::string::npos);

  Pool up(test_redis());
  auto r = up.with([](Connection& c) { return c.command({"PING"}); });
  REQUIRE(r);
  CHECK(r->str() == "PONG");
  CHECK_FALSE(up.degraded());
}

TEST_CASE("a subscriber gets messages on its patterns", "[.redis]") {
  std::atomic<int> got{0};
  std::string last;
  std::mutex mu;
  Subscriber sub(test_redis(), {"mp:test:ch:*"}, [&](std::string_view channel, std::string_view msg) {
    std::lock_guard lock(mu);
    last = std::string(channel) + "=" + std::string(msg);
    ++got;
  });
  for (int i = 0; i < 100 && !sub.subscribed(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  REQUIRE(sub.subscribed());
  Connection c = connect();
  c.command({"PUBLISH", "mp:test:ch:a", "hello"});
  c.command({"PUBLISH", "mp:test:other", "not for us"});
  for (int i = 0; i < 100 && got < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  std::lock_guard lock(mu);
  CHECK(got == 1);
  CHECK(last == "mp:test:ch:a=hello");
}
