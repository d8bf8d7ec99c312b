#pragma once
// Internal to mp-cache's Redis backend: cache_redis.cpp (stats, ls, get, del, export,
// import) and cache_redis_flush.cpp (flush).

#include "ai/shared_cache.hpp"
#include "redis/client.hpp"
#include "tools/cache_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::tools::redis_backend {

// Keys per SCAN call: large enough that round trips do not dominate, small enough that
// one pipeline of TTLs stays well under a millisecond of Redis time.
inline constexpr std::string_view k_scan_count = "1000";
// flush's, for SCAN and for index pops: small enough that the batch SCAN just read is
// still cached when its UNLINK runs (see cache_redis_flush.cpp), large enough that round
// trips stay hidden.
inline constexpr std::size_t k_flush_batch = 300;

using Batch = std::vector<std::string>;

/// A Redis error reply as an mp error naming the command.
Error redis_error(std::string_view what, std::string_view message);

class Unlinker;

class RedisBackend final : public CacheBackend {
public:
  RedisBackend(redis::Connection conn, RedisBackendOptions opts)
      : m_conn(std::move(conn)), m_opts(opts),
        m_invalidate_channel(m_conn.url().channel(ai::k_cache_invalidate_channel)) {}

  Expected<CacheSummary> stats() override;
  Expected<void> list(const KeyFilter& filter, const std::function<bool(const KeyInfo&)>& fn) override;
  Expected<std::string> get(const std::string& key) override;
  Expected<std::uint64_t> del(const std::vector<std::string>& keys) override;
  Expected<FlushOutcome> flush(const KeyFilter& filter, bool dry_run, const Progress& progress) override;
  Expected<void> export_entries(const KeyFilter& filter, const std::function<void(const CacheEntry&)>& fn,
                                const std::function<void(const std::string&)>& bad) override;
  Expected<ImportOutcome> import_entries(const std::vector<CacheEntry>& entries,
                                         std::optional<std::chrono::seconds> ttl, bool replace) override;

private:
  /// SCANs the whole keyspace for `filter`, `count` keys a call, calling `fn` with each
  /// batch of admitted keys (possibly empty); stops early when `fn` returns false.
  Expected<void> scan(const KeyFilter& filter, const std::function<Expected<bool>(Batch&)>& fn,
                      std::string_view count = k_scan_count);
  /// TTL and STRLEN of each key, in one pipeline.
  Expected<std::vector<KeyInfo>> describe(const Batch& keys);
  /// The keys of `batch` at least `older_than` seconds old.
  Expected<void> keep_older(Batch& batch, std::optional<std::int64_t> older_than);
  [[nodiscard]] std::optional<std::int64_t> age_of(std::int64_t ttl) const {
    return ttl < 0 ? std::nullopt
                   : std::optional<std::int64_t>(std::max<std::int64_t>(0, m_opts.ttl_seconds - ttl));
  }
  Expected<std::vector<redis::Reply>> run(const std::vector<std::vector<std::string_view>>& cmds);
  /// Tells the instances to drop from their L1 what was just deleted (ai/shared_cache.hpp);
  /// returns how many listened.
  Expected<std::uint64_t> announce(const std::string& message);
  /// Empties the index buckets of `filter`'s types (ai/cache_index.hpp) over the last TTL
  /// and a day, UNLINKing the keys they name; the SCAN sweep after it finds the rest.
  Expected<void> flush_index(const KeyFilter& filter, Unlinker& unlinker, FlushOutcome& out,
                             const Progress& progress);

  redis::Connection m_conn;
  RedisBackendOptions m_opts;
  std::string m_invalidate_channel; ///< `mp:<db>:cache:invalidate`
};

/// The current time in Unix seconds (the index's hours).
std::int64_t unix_now();

} // namespace mp::tools::redis_backend
