// The hub with events numbered elsewhere (Redis): accept, adopt, resumes answered by a
// RemoteHistory, epoch changes under live subscribers.

#include "push/event.hpp"
#include "push/hub.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

#include "fake_conn.hpp"

using namespace mp;
using namespace std::chrono_literals;

namespace {

using testing::FakeConn;

/// "EPOCH:SEQ" for an event, "gap:<reason>:<epoch>:<from>-<to>" for a notice.
std::vector<std::string> seen(const FakeConn& c) {
  std::vector<std::string> out;
  for (const auto& doc : c.docs()) {
    if (doc.HasMember("seq")) {
      out.push_back(std::string(doc["epoch"].GetString()) + ":" + std::to_string(doc["seq"].GetInt64()));
    } else {
      out.push_back(std::string("gap:") + doc["reason"].GetString() + ":" + doc["epoch"].GetString() + ":" +
                    std::to_string(doc["from_seq"].GetInt64()) + "-" +
                    std::to_string(doc["to_seq"].GetInt64()));
    }
  }
  return out;
}

/// Remembers what was asked; the test answers.
class FakeRemote final : public push::RemoteHistory {
public:
  void fetch(std::string topic, push::Position after, Done done) override {
    asked.emplace_back(std::move(topic), std::move(after));
    pending.push_back(std::move(done));
  }
  std::vector<std::pair<std::string, push::Position>> asked;
  std::vector<Done> pending;
};

std::string event(std::string_view epoch, std::uint64_t seq, std::string_view topic = "task_updates") {
  return push::join_event(push::event_parts(topic, "t", 2, 1'700'000'000.0, "{}"), epoch, seq);
}

push::RemoteHistory::Range range(std::string epoch, std::uint64_t first, std::uint64_t last) {
  push::RemoteHistory::Range r{std::move(epoch), last, {}};
  for (auto s = first; s <= last && first > 0; ++s) {
    r.entries.push_back({s, 2, 1'700'000'000.0, event(r.epoch, s)});
  }
  return r;
}

struct Fixture {
  util::ManualClock clock;
  std::vector<std::function<void()>> posted;
  FakeRemote remote;
  push::Hub hub{push::HubOptions{5, 60s}, 1,
                [this](unsigned, std::function<void()> fn) { posted.push_back(std::move(fn)); }, clock};
  Fixture() {
    clock.set_wall(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'010)));
    hub.set_remote(&remote);
  }
  void run_posted() {
    while (!posted.empty()) {
      auto tasks = std::move(posted);
      posted.clear();
      for (auto& t : tasks) {
        t();
      }
    }
  }
  void subscribe(FakeConn& c, const std::optional<push::Position>& since = std::nullopt) {
    for (const auto& frame : hub.subscribe(c, "task_updates", since)) {
      c.send(frame);
    }
  }
  void accept(std::string_view epoch, std::uint64_t seq) {
    hub.accept("task_updates", epoch, seq, event(epoch, seq), 2);
  }
};

using Seen = std::vector<std::string>;

} // namespace

TEST_CASE("hub remote: accepted events keep Redis's numbers, once each; a hole is told", "[push]") {
  Fixture f;
  FakeConn a;
  f.subscribe(a);
  f.accept("R", 1);
  f.accept("R", 2);
  f.accept("R", 2); // the resync and the live feed overlap
  f.accept("R", 5);
  f.run_posted();
  REQUIRE(seen(a) == Seen{"R:1", "R:2", "gap:history_expired:R:3-4", "R:5"});
  REQUIRE(f.hub.published_total() == 0); // numbered elsewhere
}

TEST_CASE("hub remote: a resume the local history cannot serve asks the remote; live events wait", "[push]") {
  Fixture f;
  f.hub.set_live(true);
  f.accept("R", 1); // nobody subscribed yet: this instance's history starts here
  FakeConn a;
  f.subscribe(a, push::Position{"R", 0});
  f.subscribe(a, push::Position{"R", 0}); // asked again: the first answer is void
  REQUIRE(f.remote.asked.size() == 2);
  REQUIRE(f.remote.asked[1].second.epoch == "R");
  REQUIRE(a.frames.empty());
  f.accept("R", 2);
  f.accept("R", 3);
  f.run_posted();
  REQUIRE(a.frames.empty()); // held until the replay is out
  f.remote.pending[0](range("R", 1, 2));
  f.run_posted();
  REQUIRE(a.frames.empty());
  f.remote.pending[1](range("R", 1, 2)); // Redis's head was 2 when it answered
  f.run_posted();
  REQUIRE(seen(a) == Seen{"R:1", "R:2", "R:3"});
  f.accept("R", 4);
  f.run_posted();
  REQUIRE(seen(a) == Seen{"R:1", "R:2", "R:3", "R:4"});

  // Covered by a current local history: no round trip.
  FakeConn b;
  f.subscribe(b, push::Position{"R", 2});
  REQUIRE(f.remote.asked.size() == 2);
  REQUIRE(seen(b) == Seen{"R:3", "R:4"});
  // A client ahead of this instance (it saw seq 5 elsewhere) does not get it twice.
  FakeConn c;
  f.subscribe(c, push::Position{"R", 5});
  f.accept("R", 5);
  f.accept("R", 6);
  f.run_posted();
  REQUIRE(seen(c) == Seen{"R:6"});
}

TEST_CASE("hub remote: the remote's gaps, an unknown epoch, and an unavailable remote", "[push]") {
  Fixture f;
  FakeConn a, b, c;
  f.subscribe(a, push::Position{"R", 2});
  f.subscribe(b, push::Position{"OLD", 7});
  f.subscribe(c, push::Position{"R", 1});
  REQUIRE(f.remote.asked.size() == 3);
  f.remote.pending[0](range("R", 6, 9)); // trimmed past 3..5
  f.remote.pending[1](range("R", 6, 9));
  f.remote.pending[2](std::nullopt);
  f.run_posted();
  REQUIRE(seen(a) == Seen{"gap:history_expired:R:3-5", "R:6", "R:7", "R:8", "R:9"});
  REQUIRE(seen(b) == Seen{"gap:epoch_changed:R:1-5", "R:6", "R:7", "R:8", "R:9"});
  // Unavailable: answered from what this instance has (the adopted history of R).
  REQUIRE(seen(c) == Seen{"gap:history_expired:R:2-5", "R:6", "R:7", "R:8", "R:9"});
  // The answers were adopted: the topic is on R at 9 now.
  f.accept("R", 10);
  f.run_posted();
  REQUIRE(seen(a).back() == "R:10");
  REQUIRE(seen(b).back() == "R:10");
}

TEST_CASE("hub remote: entries older than the history's age are lost", "[push]") {
  Fixture f;
  FakeConn a;
  f.subscribe(a, push::Position{"R", 0});
  auto r = range("R", 1, 3);
  r.entries[0].ts = 1'700'000'010.0 - 61;
  f.remote.pending[0](r);
  f.run_posted();
  REQUIRE(seen(a) == Seen{"gap:history_expired:R:1-1", "R:2", "R:3"});
}

TEST_CASE("hub remote: Redis away, a local epoch; back, a resync replays or says epoch_changed", "[push]") {
  Fixture f;
  f.hub.set_live(true);
  FakeConn a;
  f.subscribe(a);
  f.accept("R", 1);
  f.run_posted();
  // A short outage: the resync brings what was missed, as live events.
  f.hub.set_live(false);
  REQUIRE(f.hub.resync_targets().size() == 4);
  f.hub.set_live(true);
  f.hub.adopt("task_updates", range("R", 2, 3));
  f.run_posted();
  REQUIRE(seen(a) == Seen{"R:1", "R:2", "R:3"});
  // Redis cannot take a publish: a local epoch, and the subscriber is told.
  f.hub.set_live(false);
  auto p = f.hub.publish("task_updates", "t", "{}", 2);
  REQUIRE(p.epoch != "R");
  REQUIRE(p.seq == 1);
  f.run_posted();
  REQUIRE(seen(a) == Seen{"R:1", "R:2", "R:3", "gap:epoch_changed:" + p.epoch + ":1-0", p.epoch + ":1"});
  // Its own epoch is resumed locally, Redis or not.
  FakeConn b;
  f.subscribe(b, push::Position{p.epoch, 0});
  REQUIRE(seen(b) == Seen{p.epoch + ":1"});
  // Redis back (restarted: a new epoch): placed at its head, told, history kept for resumes.
  f.hub.set_live(true);
  f.hub.adopt("task_updates", range("S", 1, 4));
  f.accept("S", 5);
  f.run_posted();
  REQUIRE(seen(a).size() == 7);
  REQUIRE(seen(a)[5] == "gap:epoch_changed:S:1-4");
  REQUIRE(seen(a)[6] == "S:5");
  FakeConn c;
  f.subscribe(c, push::Position{"S", 2});
  REQUIRE(f.remote.asked.empty());
  REQUIRE(seen(c) == Seen{"S:3", "S:4", "S:5"});
}
