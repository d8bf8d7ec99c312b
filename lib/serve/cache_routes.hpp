#pragma once
// The admin endpoints over this instance's L1 cache (`/api/admin/cache/...`), which
// `mp-cache --server URL` uses when there is no Redis to go to.

namespace mp::serve {

class Service;

/// Registers the routes (admin scope) on `service`; call before it runs.
void add_cache_routes(Service& service);

} // namespace mp::serve
