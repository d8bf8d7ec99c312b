#include "push/event.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

using namespace mp;

TEST_CASE("push events: the parts around epoch and seq join into the event's JSON", "[push]") {
  auto parts = push::event_parts("user:alice", "task \"x\"", 1, 1796123563.261, R"({"n":[1,2]})");
  auto json = push::join_event(parts, "9f3c2a10", 17);
  auto doc = util::parse_json(json);
  REQUIRE(doc);
  CHECK(std::string((*doc)["id"].GetString()) == "9f3c2a10:17");
  CHECK(std::string((*doc)["type"].GetString()) == "task \"x\"");
  CHECK(std::string((*doc)["topic"].GetString()) == "user:alice");
  CHECK(std::string((*doc)["epoch"].GetString()) == "9f3c2a10");
  CHECK((*doc)["seq"].GetInt() == 17);
  CHECK(std::string((*doc)["priority"].GetString()) == "high");
  CHECK((*doc)["ts"].GetDouble() == Approx(1796123563.261));
  CHECK((*doc)["data"]["n"][1].GetInt() == 2);
  // What the Redis script builds with Lua's `..` is the same join.
  CHECK(json == R"({"id":")" + std::string("9f3c2a10") + ":17" + parts.head + "9f3c2a10" + R"(","seq":17)" +
                    parts.tail);
  CHECK(push::random_id().size() == 8);
  CHECK(push::random_id() != push::random_id());
}

TEST_CASE("push events: channel messages carry instance, epoch, seq, priority and the event", "[push]") {
  const std::string json = R"({"id":"e1:5","seq":5,"data":{"s":"a b\nc"}})";
  auto text = push::channel_message("inst0001", "e1", 5, 3, json);
  CHECK(text == "inst0001 e1 5 3\n" + json);
  auto m = push::parse_channel_message(text);
  REQUIRE(m);
  CHECK(m->instance == "inst0001");
  CHECK(m->epoch == "e1");
  CHECK(m->seq == 5);
  CHECK(m->priority == 3);
  CHECK(m->json == json);
  for (const char* bad : {"", "a e 5 3", "a e 5\n{}", "a e 5 3 x\n{}", "a e x 3\n{}", "a e 5 9\n{}",
                          "a  5 3\n{}", " e 5 3\n{}"}) {
    CHECK_FALSE(push::parse_channel_message(bad));
  }
  auto gap = util::parse_json(push::gap_notice("task_updates", "e1", 4, 9, "history_expired"));
  REQUIRE(gap);
  CHECK(std::string((*gap)["type"].GetString()) == "gap");
  CHECK((*gap)["from_seq"].GetInt() == 4);
  CHECK((*gap)["to_seq"].GetInt() == 9);
}
