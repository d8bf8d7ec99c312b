#pragma once
// The admin endpoints over this instance's L1 cache (`/api/admin/cache/...`), which
// `mp-cache --server URL` uses when there is no Redis to go to; and, in Redis mode, the
// listener that drops from the L1 what mp-cache deleted from Redis.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace mp::ai {
class MemoryCache;
}
namespace mp::redis {
class Subscriber;
}

namespace mp::serve {

class Service;

/// Registers the routes (admin scope) on `service`; call before it runs.
void add_cache_routes(Service& service);

/// Erases the L1 entries a message of ai::k_cache_invalidate_channel names; how many went,
/// or nullopt for a message that is not one.
std::optional<std::uint64_t> apply_cache_invalidation(ai::MemoryCache& cache, std::string_view message);

/// Redis mode: a subscriber that applies every invalidation to `service`'s L1 (null
/// without Redis or without an L1). The caller destroys it before the pipeline.
std::unique_ptr<redis::Subscriber> subscribe_cache_invalidations(Service& service);

} // namespace mp::serve
