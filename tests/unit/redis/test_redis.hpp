#pragma once
// The suite's private redis-server (the ctest fixture `redis`): its port is in
// $MP_REDIS_STATE/port. For tests tagged [.redis], which ctest runs with that fixture.

#include "redis/url.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mp::testing {

inline redis::RedisUrl test_redis() {
  const char* dir = std::getenv("MP_REDIS_STATE");
  REQUIRE(dir != nullptr);
  std::ifstream f(std::string(dir) + "/port");
  redis::RedisUrl u;
  f >> u.port;
  REQUIRE(u.port > 0);
  return u;
}

} // namespace mp::testing
