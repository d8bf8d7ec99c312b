#pragma once
// The L2: a result cache shared by every instance (Redis in lib/serve/redis_state.cpp).
//
// The pipeline never calls it from an I/O thread. A request that misses the L1 is admitted
// (its place in its queue level is held) and handed to the pipeline's L2 thread, which
// looks up everything that arrived meanwhile in one round trip: a hit completes the request
// as cached (and fills the L1), a miss puts it in the priority queue. Results computed here
// are written back by the same thread in batches. An L2 that is down answers every lookup
// as a miss at once, so the pipeline degrades to the L1 and the upstream.

#include "util/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mp::ai {

/// Where `mp-cache del`, `flush` and `import --replace` announce what they changed in the
/// L2, so that every instance drops the same entries from its L1 (which would otherwise
/// answer them until they expire): `{"keys":[...]}`, or `{"type":"summary",
/// "older_than_s":3600}` (both optional) for a flush. Scoped by database
/// (redis::RedisUrl::channel): `mp:<db>:cache:invalidate`.
constexpr std::string_view k_cache_invalidate_channel = "mp:cache:invalidate";

/// Counters the instances add up in the shared cache (for mp-cache stats).
struct SharedCacheCounters {
  std::uint64_t hits = 0;   ///< L1 or L2 answered
  std::uint64_t misses = 0; ///< neither did
  std::uint64_t l2_hits = 0;
  std::uint64_t l2_misses = 0;
  std::uint64_t stores = 0; ///< results written to the L2
};

class SharedCache {
public:
  virtual ~SharedCache() = default;
  /// The result JSON under each key (`mp:cache:v1:...`), nullopt for a miss, in order.
  /// Errc::unavailable when the store cannot be reached.
  virtual Expected<std::vector<std::optional<std::string>>>
  get_many(const std::vector<std::string>& keys) = 0;
  /// Stores (key, result JSON) pairs with a TTL.
  virtual Expected<void> put_many(const std::vector<std::pair<std::string, std::string>>& entries,
                                  std::chrono::seconds ttl) = 0;
  /// Adds this instance's counters since the last call.
  virtual Expected<void> add_counters(const SharedCacheCounters& delta) = 0;
};

} // namespace mp::ai
