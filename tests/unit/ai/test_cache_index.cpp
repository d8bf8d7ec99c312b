#include "ai/cache.hpp"
#include "ai/cache_index.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;
using mp::analyser::RequestType;

TEST_CASE("cache index: bucket names, members and the keys they name", "[cache]") {
  REQUIRE(cache_index_key(RequestType::action_items, 493'000) == "mp:cache:index:v1:action_items:493000");
  const auto k = make_cache_key(RequestType::summary, "m", "v1", "s", "a@b", "body");
  const auto m = index_member(k.digest_hex);
  REQUIRE(m);
  REQUIRE(m->size() == 32);
  REQUIRE(key_of_member(RequestType::summary, *m) == k.str());
  REQUIRE_FALSE(index_member(std::string(63, 'a')));
  REQUIRE_FALSE(index_member(std::string(64, 'A')));
  REQUIRE_FALSE(index_member(std::string(64, 'g')));
}

TEST_CASE("cache index: one RPUSH and one EXPIREAT per type, foreign keys skipped", "[cache]") {
  const auto a = make_cache_key(RequestType::summary, "m", "v1", "", "", "a");
  const auto b = make_cache_key(RequestType::summary, "m", "v1", "", "", "b");
  const auto c = make_cache_key(RequestType::classification, "m", "v1", "", "", "c");
  const std::string odd = "mp:cache:v1:summary:not-a-digest", foreign = "user:42";
  const std::int64_t now = 3600 * 1000 + 1800; // half way through hour 1000
  IndexCommands out;
  append_index_commands({{a.str(), 600}, {c.str(), 600}, {b.str(), 86'400}, {odd, 600}, {foreign, 600}}, now,
                        out);
  REQUIRE(out.cmds.size() == 4);
  // std::map order: classification before summary.
  REQUIRE(out.cmds[0] == std::vector<std::string_view>{"RPUSH", "mp:cache:index:v1:classification:1000",
                                                       *index_member(c.digest_hex)});
  REQUIRE(out.cmds[1] == std::vector<std::string_view>{"EXPIREAT", "mp:cache:index:v1:classification:1000",
                                                       std::to_string(3600 * 1001 + 600 + 3600)});
  REQUIRE(out.cmds[2] == std::vector<std::string_view>{"RPUSH", "mp:cache:index:v1:summary:1000",
                                                       *index_member(a.digest_hex),
                                                       *index_member(b.digest_hex)});
  // The longest TTL in the bucket decides: it must outlive b.
  REQUIRE(out.cmds[3][2] == std::to_string(3600 * 1001 + 86'400 + 3600));
  IndexCommands none;
  append_index_commands({{odd, 600}}, now, none);
  REQUIRE(none.cmds.empty());
}
