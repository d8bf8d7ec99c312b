#include "ai/cache.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;
using mp::analyser::RequestType;
using namespace std::chrono_literals;

TEST_CASE("cache key: normalised content, distinct fields", "[cache]") {
  auto a = make_cache_key(RequestType::classification, "m", "v1", "Hi", "a@b", "Hello   world\r\n");
  auto b = make_cache_key(RequestType::classification, "m", "v1", " Hi", "a@b", "Hello world");
  REQUIRE(a == b);
  REQUIRE(a.str().rfind("mp:cache:v1:classification:", 0) == 0);
  REQUIRE(a.digest_hex.size() == 64);
  REQUIRE_FALSE(a == make_cache_key(RequestType::summary, "m", "v1", "Hi", "a@b", "Hello world"));
  REQUIRE_FALSE(a == make_cache_key(RequestType::classification, "m2", "v1", "Hi", "a@b", "Hello world"));
  REQUIRE_FALSE(a == make_cache_key(RequestType::classification, "m", "v2", "Hi", "a@b", "Hello world"));
  // Length prefixes: moving text between fields changes the key.
  REQUIRE_FALSE(make_cache_key(RequestType::classification, "m", "v1", "ab", "", "c") ==
                make_cache_key(RequestType::classification, "m", "v1", "a", "", "bc"));
}

TEST_CASE("memory cache: get after put, TTL expiry", "[cache]") {
  mp::util::ManualClock clock;
  MemoryCache c(1 << 20, 3, clock);
  auto k = make_cache_key(RequestType::classification, "m", "v1", "", "", "x");
  REQUIRE_FALSE(c.get(k));
  c.put(k, R"({"category":"work"})", 10s);
  REQUIRE(*c.get(k) == R"({"category":"work"})");
  clock.advance(11s);
  REQUIRE_FALSE(c.get(k));
  auto s = c.stats();
  REQUIRE(s.hits == 1);
  REQUIRE(s.misses == 2);
  REQUIRE(s.evictions_ttl == 1);
  REQUIRE(s.entries == 0);
}

TEST_CASE("memory cache: the byte budget evicts least recently used first", "[cache]") {
  mp::util::ManualClock clock;
  const std::string value(400, 'v'); // compresses well; budget counts compressed bytes + key
  MemoryCache probe(1 << 20, 3, clock);
  probe.put(make_cache_key(RequestType::summary, "", "", "", "", "0"), value, 1h);
  const std::size_t per_entry = probe.stats().bytes;
  MemoryCache c(per_entry * 3, 3, clock);
  std::vector<CacheKey> keys;
  for (int i = 0; i < 3; ++i) {
    keys.push_back(make_cache_key(RequestType::summary, "", "", "", "", std::to_string(i)));
    c.put(keys.back(), value, 1h);
  }
  REQUIRE(c.get(keys[0])); // 0 is now the most recent
  keys.push_back(make_cache_key(RequestType::summary, "", "", "", "", "3"));
  c.put(keys.back(), value, 1h); // evicts 1, the least recently used
  REQUIRE(c.get(keys[0]));
  REQUIRE_FALSE(c.get(keys[1]));
  REQUIRE(c.get(keys[2]));
  REQUIRE(c.get(keys[3]));
  REQUIRE(c.stats().evictions_lru == 1);
  REQUIRE(c.stats().bytes <= per_entry * 3);
}

TEST_CASE("memory cache: values are stored compressed", "[cache]") {
  mp::util::ManualClock clock;
  MemoryCache c(1 << 20, 3, clock);
  const std::string big(10'000, 'a');
  auto k = make_cache_key(RequestType::analysis, "", "", "", "", "big");
  c.put(k, big, 1h);
  REQUIRE(c.stats().bytes < 1000);
  REQUIRE(*c.get(k) == big);
  REQUIRE(zstd_decompress("not a frame") == std::nullopt);
}
