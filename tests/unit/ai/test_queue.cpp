#include "ai/queue.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;
using namespace std::chrono_literals;

namespace {
const auto t0 = mp::util::Clock::SteadyTime{} + 1h;
}

TEST_CASE("queue: strict priority order, FIFO within a level", "[queue]") {
  PriorityQueue q(100, 0ms); // no aging
  q.push(1, Priority::background, t0);
  q.push(2, Priority::normal, t0 + 1ms);
  q.push(3, Priority::urgent, t0 + 2ms);
  q.push(4, Priority::normal, t0 + 3ms);
  q.push(5, Priority::high, t0 + 4ms);
  std::vector<std::uint64_t> order;
  while (auto e = q.pop(t0 + 10ms)) {
    order.push_back(e->job);
  }
  REQUIRE(order == std::vector<std::uint64_t>{3, 5, 2, 4, 1});
}

TEST_CASE("queue: aging lifts a waiting request one level per period", "[queue]") {
  PriorityQueue q(100, 1000ms);
  q.push(1, Priority::background, t0);
  REQUIRE(q.effective_level(*q.peek(t0), t0) == 4);
  REQUIRE(q.effective_level(*q.peek(t0), t0 + 999ms) == 4);
  REQUIRE(q.effective_level(*q.peek(t0), t0 + 1000ms) == 3);
  REQUIRE(q.effective_level(*q.peek(t0), t0 + 3500ms) == 1);
  REQUIRE(q.effective_level(*q.peek(t0), t0 + 60s) == 0);
}

TEST_CASE("queue: an aged background request overtakes fresh normal work, not fresh urgent", "[queue]") {
  PriorityQueue q(100, 1000ms);
  q.push(1, Priority::background, t0);      // by t0+2s it counts as normal
  q.push(2, Priority::normal, t0 + 1900ms); // fresh normal
  q.push(3, Priority::urgent, t0 + 1950ms);
  const auto now = t0 + 2000ms;
  REQUIRE(q.pop(now)->job == 3); // urgent still first
  REQUIRE(q.pop(now)->job == 1); // tie at level 2: the one that waited longer
  REQUIRE(q.pop(now)->job == 2);
}

TEST_CASE("queue: without aging, background starves behind a stream of normal work", "[queue]") {
  PriorityQueue q(1000, 0ms);
  q.push(1, Priority::background, t0);
  for (std::uint64_t i = 0; i < 10; ++i) {
    q.push(100 + i, Priority::normal, t0 + std::chrono::milliseconds(i));
    REQUIRE(q.pop(t0 + 1h)->job == 100 + i);
  }
  PriorityQueue aged(1000, 100ms);
  aged.push(1, Priority::background, t0);
  aged.push(2, Priority::normal, t0 + 5s);
  REQUIRE(aged.pop(t0 + 5s)->job == 1); // waited 5 s: long since promoted
}

TEST_CASE("queue: levels are bounded; remove and push_front", "[queue]") {
  PriorityQueue q(2, 0ms);
  REQUIRE(q.push(1, Priority::low, t0));
  REQUIRE(q.push(2, Priority::low, t0));
  REQUIRE_FALSE(q.push(3, Priority::low, t0));
  REQUIRE(q.push(4, Priority::high, t0)); // other levels unaffected
  REQUIRE(q.size() == 3);
  REQUIRE(q.size(Priority::low) == 2);
  REQUIRE(q.ahead_of(Priority::low) == 3);
  REQUIRE(q.ahead_of(Priority::high) == 1);
  REQUIRE(q.remove(1));
  REQUIRE_FALSE(q.remove(1));
  q.push_front(9, Priority::low, t0 - 1s); // a retry keeps its place at the head
  REQUIRE(q.pop(t0)->job == 4);
  REQUIRE(q.pop(t0)->job == 9);
  REQUIRE(q.pop(t0)->job == 2);
  REQUIRE(q.empty());
}
