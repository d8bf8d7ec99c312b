#include "push/hub.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <catch2/catch.hpp>

#include "fake_conn.hpp"

using namespace mp;
using namespace std::chrono_literals;

namespace {

/// A connection that keeps what it is sent, on "thread" 0.
using testing::FakeConn;

/// The sequence numbers of the events `c` received, in order.
std::vector<std::int64_t> seqs(const FakeConn& c) {
  std::vector<std::int64_t> out;
  for (const auto& doc : c.docs()) {
    if (doc.HasMember("seq")) {
      out.push_back(doc["seq"].GetInt64());
    }
  }
  return out;
}

struct Fixture;
void subscribe(Fixture& f, FakeConn& c, std::string_view topic, const std::optional<push::Position>& since);

struct Fixture {
  util::ManualClock clock;
  // Posted tasks run when the test says so, as an I/O thread would run them later.
  std::vector<std::function<void()>> posted;
  push::Hub hub{push::HubOptions{5, 60s}, 1,
                [this](unsigned, std::function<void()> fn) { posted.push_back(std::move(fn)); }, clock};
  void run_posted() {
    while (!posted.empty()) {
      auto tasks = std::move(posted);
      posted.clear();
      for (auto& t : tasks) {
        t();
      }
    }
  }
};

void subscribe(Fixture& f, FakeConn& c, std::string_view topic, const std::optional<push::Position>& since) {
  for (const auto& frame : f.hub.subscribe(c, topic, since)) {
    c.send(frame);
  }
}

} // namespace

TEST_CASE("hub: subscribers get a topic's events in order, others do not", "[push]") {
  Fixture f;
  FakeConn a, b;
  subscribe(f, a, "task_updates", std::nullopt);
  subscribe(f, b, "email_updates", std::nullopt);
  for (int i = 0; i < 3; ++i) {
    auto p = f.hub.publish("task_updates", "task_created", R"({"n":1})", 2);
    REQUIRE(p.seq == static_cast<std::uint64_t>(i + 1));
    REQUIRE(p.subscribers == 1);
  }
  f.run_posted();
  REQUIRE(seqs(a) == std::vector<std::int64_t>{1, 2, 3});
  REQUIRE(b.frames.empty());
  auto doc = util::parse_json(a.texts()[0]);
  REQUIRE(std::string((*doc)["type"].GetString()) == "task_created");
  REQUIRE(std::string((*doc)["priority"].GetString()) == "normal");
  REQUIRE((*doc)["data"]["n"].GetInt() == 1);
  // One encoding shared by every recipient.
  FakeConn c;
  subscribe(f, c, "task_updates", std::nullopt);
  f.hub.publish("task_updates", "x", "{}", 0);
  f.run_posted();
  REQUIRE(a.frames.back() == c.frames.back());
}

TEST_CASE("hub: resume replays what was missed, then live events without duplicates", "[push]") {
  Fixture f;
  auto first = f.hub.publish("email_updates", "e", "{}", 2);
  f.hub.publish("email_updates", "e", "{}", 2);
  f.hub.publish("email_updates", "e", "{}", 2);
  FakeConn a;
  subscribe(f, a, "email_updates", push::Position{first.epoch, 1});
  REQUIRE(seqs(a) == std::vector<std::int64_t>{2, 3});
  // An event published before the subscription but delivered after it is not repeated.
  f.run_posted();
  f.hub.publish("email_updates", "e", "{}", 2);
  f.run_posted();
  REQUIRE(seqs(a) == std::vector<std::int64_t>{2, 3, 4});
}

TEST_CASE("hub: a gap notice when history no longer reaches back, or after a restart", "[push]") {
  Fixture f;
  push::Published last;
  for (int i = 0; i < 20; ++i) {
    last = f.hub.publish("email_updates", "e", "{}", 2);
  }
  FakeConn a;
  subscribe(f, a, "email_updates", push::Position{last.epoch, 3});
  auto texts = a.texts();
  REQUIRE(texts.size() == 6);
  auto gap = util::parse_json(texts[0]);
  REQUIRE(std::string((*gap)["type"].GetString()) == "gap");
  REQUIRE((*gap)["from_seq"].GetInt() == 4);
  REQUIRE((*gap)["to_seq"].GetInt() == 15);
  REQUIRE(std::string((*gap)["reason"].GetString()) == "history_expired");
  REQUIRE(seqs(a) == std::vector<std::int64_t>{16, 17, 18, 19, 20});

  FakeConn b;
  subscribe(f, b, "email_updates", push::Position{"0ther0ep", 7});
  auto other = util::parse_json(b.texts()[0]);
  REQUIRE(std::string((*other)["reason"].GetString()) == "epoch_changed");
  REQUIRE(seqs(b).size() == 5);

  // History ages out as well as overflowing.
  f.clock.advance(61s);
  FakeConn c;
  subscribe(f, c, "email_updates", push::Position{last.epoch, 20});
  REQUIRE(c.frames.empty());
  FakeConn d;
  subscribe(f, d, "email_updates", push::Position{last.epoch, 18});
  REQUIRE(util::parse_json(d.texts()[0]).value()["to_seq"].GetInt() == 20);
}

TEST_CASE("hub: unsubscribe and detach end deliveries", "[push]") {
  Fixture f;
  FakeConn a;
  subscribe(f, a, "task_updates", std::nullopt);
  subscribe(f, a, "user:alice", std::nullopt);
  REQUIRE(f.hub.subscriptions(a) == 2);
  REQUIRE(f.hub.unsubscribe(a, "task_updates"));
  REQUIRE_FALSE(f.hub.unsubscribe(a, "task_updates"));
  f.hub.publish("task_updates", "x", "{}", 2);
  auto p = f.hub.publish("user:alice", "x", "{}", 2);
  REQUIRE(p.subscribers == 1);
  f.run_posted();
  REQUIRE(a.frames.size() == 1);
  f.hub.detach(a);
  REQUIRE(f.hub.subscriptions(a) == 0);
  REQUIRE(f.hub.publish("user:alice", "x", "{}", 2).subscribers == 0);
  REQUIRE(f.posted.empty()); // no thread has subscribers: nothing is posted
}

TEST_CASE("push: topic names, positions, priorities", "[push]") {
  REQUIRE(push::valid_topic("email_updates"));
  REQUIRE(push::valid_topic("user:alice@example.com"));
  REQUIRE_FALSE(push::valid_topic("user:"));
  REQUIRE_FALSE(push::valid_topic("user:a\"b"));
  REQUIRE_FALSE(push::valid_topic("emails"));
  REQUIRE(push::topic_owner("user:bob") == std::optional<std::string_view>("bob"));
  REQUIRE_FALSE(push::topic_owner("task_updates"));
  auto p = push::parse_position("9f3c2a10:17");
  REQUIRE(p);
  REQUIRE(p->epoch == "9f3c2a10");
  REQUIRE(p->seq == 17);
  REQUIRE_FALSE(push::parse_position("9f3c2a10"));
  REQUIRE_FALSE(push::parse_position(":5"));
  REQUIRE_FALSE(push::parse_position("e:5x"));
  REQUIRE(push::priority_from_name("background") == 4);
  REQUIRE_FALSE(push::priority_from_name("BULK"));
  REQUIRE(util::percent_decode("user%3Aalice%40x.io") == std::optional<std::string>("user:alice@x.io"));
  REQUIRE(util::percent_decode("a+b") == std::optional<std::string>("a+b"));
  REQUIRE_FALSE(util::percent_decode("bad%2"));
  REQUIRE_FALSE(util::percent_decode("bad%zz"));
}

TEST_CASE("hub: a round serves a pool at a time, and events published meanwhile join the next", "[push]") {
  util::ManualClock clock;
  std::vector<std::function<void()>> posted;
  push::Hub hub{push::HubOptions{100, 60s, 10, 2}, 1,
                [&](unsigned, std::function<void()> fn) { posted.push_back(std::move(fn)); }, clock};
  std::vector<FakeConn> conns(5);
  for (auto& c : conns) {
    for (const auto& frame : hub.subscribe(c, "task_updates", std::nullopt)) {
      c.send(frame);
    }
  }
  hub.publish("task_updates", "x", "{}", 2);
  REQUIRE(posted.size() == 1);
  auto step = [&] {
    auto t = std::move(posted.front());
    posted.erase(posted.begin());
    t();
  };
  step(); // the first pool of two
  REQUIRE(seqs(conns[0]) == std::vector<std::int64_t>{1});
  REQUIRE(conns[2].frames.empty());
  hub.publish("task_updates", "x", "{}", 2); // lands in the inbox, not in this round
  REQUIRE(posted.size() == 1);
  hub.detach(conns[0]); // leaving mid-round moves nobody past the round's place
  step();
  step();
  for (std::size_t i = 1; i < conns.size(); ++i) {
    REQUIRE(seqs(conns[i]).front() == 1);
  }
  while (!posted.empty()) {
    step();
  }
  for (std::size_t i = 1; i < conns.size(); ++i) {
    REQUIRE(seqs(conns[i]) == std::vector<std::int64_t>{1, 2});
  }
  REQUIRE(seqs(conns[0]) == std::vector<std::int64_t>{1});
}
