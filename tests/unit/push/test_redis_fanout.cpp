// push::RedisFanout against the suite's redis-server ([redis]: run by "unit: redis client").

#include "push/redis_fanout.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include "../redis/test_redis.hpp"
#include "fake_conn.hpp"

#include <cstdlib>
#include <fstream>
#include <thread>

using namespace mp;
using namespace std::chrono_literals;

namespace {

using testing::test_redis;

using testing::FakeConn;

/// "EPOCH:SEQ" of each event, "gap" for a notice.
std::vector<std::string> ids(const FakeConn& c) {
  std::vector<std::string> out;
  for (const auto& doc : c.docs()) {
    out.push_back(doc.HasMember("id") ? doc["id"].GetString() : "gap");
  }
  return out;
}

/// A hub whose I/O thread is the test: tasks posted from the fan-out's threads wait here.
struct Instance {
  explicit Instance(const redis::RedisUrl& url)
      : hub{push::HubOptions{100, 300s}, 1,
            [this](unsigned, std::function<void()> fn) {
              std::lock_guard lock(mu);
              posted.push_back(std::move(fn));
            },
            clock},
        fanout(hub, url, push::FanoutOptions{100, 300s}) {}
  void run_posted() {
    for (;;) {
      std::vector<std::function<void()>> tasks;
      {
        std::lock_guard lock(mu);
        tasks.swap(posted);
      }
      if (tasks.empty()) {
        return;
      }
      for (auto& t : tasks) {
        t();
      }
    }
  }
  /// Runs posted tasks until `done()` or 5 s.
  template <class Pred> bool until(Pred done) {
    for (int i = 0; i < 500; ++i) {
      run_posted();
      if (done()) {
        return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  util::ManualClock clock;
  std::mutex mu;
  std::vector<std::function<void()>> posted;
  push::Hub hub;
  push::RedisFanout fanout;
};

} // namespace

TEST_CASE("redis fan-out: one numbering for every instance; resume on one that started later", "[.redis]") {
  const auto url = test_redis();
  const std::string topic = "user:fanout-" + push::random_id();
  Instance a(url), b(url);
  REQUIRE(a.until([&] { return a.fanout.counters().connected && b.fanout.counters().connected; }));
  FakeConn cb;
  for (const auto& f : b.hub.subscribe(cb, topic, std::nullopt)) {
    cb.send(f);
  }
  std::mutex mu;
  std::vector<std::optional<push::Published>> answers; // from the publisher thread
  for (int n = 1; n <= 3; ++n) {
    a.fanout.publish(topic, "t", R"({"n":)" + std::to_string(n) + "}", 2,
                     [&](std::optional<push::Published> p) {
                       std::lock_guard lock(mu);
                       answers.push_back(std::move(p));
                     });
  }
  REQUIRE(b.until([&] { return cb.frames.size() == 3; }));
  std::vector<push::Published> sent;
  {
    std::lock_guard lock(mu);
    for (const auto& p : answers) {
      REQUIRE(p);
      sent.push_back(*p);
    }
  }
  REQUIRE(sent.size() == 3);
  const auto id = [&](int i) { return sent[i].epoch + ":" + std::to_string(sent[i].seq); };
  REQUIRE(sent[0].seq == 1);
  REQUIRE(ids(cb) == std::vector<std::string>{id(0), id(1), id(2)});
  REQUIRE(a.fanout.counters().published.load() == 3);

  Instance c(url);
  REQUIRE(c.until([&] { return c.fanout.counters().connected.load(); }));
  FakeConn cc;
  REQUIRE(c.hub.subscribe(cc, topic, push::Position{sent[0].epoch, 1}).empty()); // asks Redis
  REQUIRE(c.until([&] { return cc.frames.size() == 2; }));
  REQUIRE(ids(cc) == std::vector<std::string>{id(1), id(2)});
  REQUIRE(c.fanout.counters().resumes.load() == 1);
  // Then live, once.
  a.fanout.publish(topic, "t", "{}", 2, {});
  REQUIRE(c.until([&] { return cc.frames.size() == 3; }));
  c.run_posted();
  REQUIRE(ids(cc).back() == sent[0].epoch + ":4");
}
