#include "ai/cache.hpp"
#include "serve/cache_routes.hpp"
#include "util/clock.hpp"

#include <catch2/catch.hpp>

using namespace mp;
using analyser::RequestType;
using namespace std::chrono_literals;

TEST_CASE("cache invalidation: keys, a type, an age; anything else is refused", "[cache]") {
  util::ManualClock clock;
  ai::MemoryCache cache(1 << 20, 3, clock);
  const auto old_summary = ai::make_cache_key(RequestType::summary, "m", "v1", "", "", "old");
  const auto summary = ai::make_cache_key(RequestType::summary, "m", "v1", "", "", "new");
  const auto a = ai::make_cache_key(RequestType::classification, "m", "v1", "", "", "a");
  const auto b = ai::make_cache_key(RequestType::classification, "m", "v1", "", "", "b");
  cache.put(old_summary, "{}", 3600s);
  clock.advance(120s);
  for (const auto* k : {&summary, &a, &b}) {
    cache.put(*k, "{}", 3600s);
  }

  REQUIRE(serve::apply_cache_invalidation(cache, R"({"type":"summary","older_than_s":60})") == 1u);
  REQUIRE_FALSE(cache.get(old_summary));
  REQUIRE(cache.get(summary));

  const std::string keys = R"({"keys":[")" + a.str() + R"(","mp:cache:v1:summary:gone","not a key",7]})";
  REQUIRE(serve::apply_cache_invalidation(cache, keys) == 1u);
  REQUIRE_FALSE(cache.get(a));
  REQUIRE(cache.get(b));

  for (const char* bad : {"", "[]", "not json", R"({"keys":"x"})"}) {
    REQUIRE_FALSE(serve::apply_cache_invalidation(cache, bad));
  }
  REQUIRE(cache.get(b));
  REQUIRE(serve::apply_cache_invalidation(cache, R"({"type":""})") == 2u); // a flush of everything
  REQUIRE(cache.stats().entries == 0);
}
