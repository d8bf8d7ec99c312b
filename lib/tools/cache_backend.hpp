#pragma once
// mp-cache's two ways to reach a cache: Redis itself (the L2 every instance shares,
// cache_redis.cpp) and the admin endpoints of one mp-serve without Redis (its L1,
// cache_server.cpp). The commands in cache.cpp are written once against CacheBackend.
//
// Only keys of the v1 schema with a known request type (`mp:cache:v1:<type>:<sha256>`)
// are ever listed, counted, exported or deleted; anything else in the database is left
// alone.

#include "redis/url.hpp"
#include "util/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::tools {

constexpr std::string_view k_cache_prefix = "mp:cache:v1:";
constexpr std::string_view k_cache_stats_key = "mp:cache:stats";

/// The request type of a cache key (`classification` of `mp:cache:v1:classification:ab..`),
/// or nullopt when `key` is not of the v1 schema with a known type.
std::optional<std::string> cache_key_type(std::string_view key);

/// Which keys a command applies to. Empty members do not filter.
struct KeyFilter {
  std::string type;                                           ///< one request type
  std::string pattern;                                        ///< a Redis glob over the whole key
  std::optional<std::int64_t> older_than_s;                   ///< age at least this many seconds
  std::uint64_t limit = 0;                                    ///< 0: no limit (ls only)
  [[nodiscard]] std::string match() const;                    ///< the SCAN MATCH pattern
  [[nodiscard]] bool admits_type(std::string_view key) const; ///< known type, and --type's
};

/// One key as `ls` shows it. ttl_s is -1 for a key without expiry; then age is unknown.
struct KeyInfo {
  std::string key;
  std::string type;
  std::int64_t bytes = 0; ///< the stored (compressed) value
  std::int64_t ttl_s = -1;
  std::optional<std::int64_t> age_s;
};

struct TypeSummary {
  std::uint64_t keys = 0;
  std::uint64_t bytes = 0;
  std::optional<std::int64_t> ttl_min, ttl_p50, ttl_max; ///< over keys that expire
};

/// What `stats` reports. Hit counters are those the servers keep (`mp:cache:stats`, or
/// the L1's own counters in server mode).
struct CacheSummary {
  std::string source;       ///< "redis" or "server"
  std::string where;        ///< the redacted Redis URL or the server URL
  std::string bytes_method; ///< how bytes were counted ("strlen": exact sum of value lengths)
  TypeSummary all;
  std::map<std::string, TypeSummary> by_type;
  std::uint64_t no_ttl_keys = 0;
  std::map<std::string, std::int64_t> counters; ///< hits, misses, l2_hits, l2_misses, stores
};

/// One line of `export` and `import`: the result JSON as text.
struct CacheEntry {
  std::string key;
  std::int64_t ttl_s = -1; ///< -1: none given (import uses --ttl or the configured TTL)
  std::string value_json;
};

struct FlushOutcome {
  std::uint64_t scanned = 0; ///< index entries popped and keys SCAN returned (Redis), or the L1's
  /// Keys the filter selected. The index can name keys already gone, and SCAN may return a
  /// key twice while Redis rehashes, so this can exceed the keys there are.
  std::uint64_t matched = 0;
  std::uint64_t deleted = 0; ///< keys actually removed (0 for a dry run)
  /// Redis: the mp-serve instances told to drop the same entries from their L1 (0 when
  /// none listens, or for a dry run); 0 against --server, whose L1 is the cache.
  std::uint64_t servers_notified = 0;
};

struct ImportOutcome {
  std::uint64_t imported = 0;
  std::uint64_t existing = 0; ///< already present and kept (no --replace)
};

/// Progress of a long command: keys seen so far, keys deleted so far.
using Progress = std::function<void(std::uint64_t seen, std::uint64_t deleted)>;

/// A cache to inspect. Every method returns Errc::unavailable when the cache cannot be
/// reached, Errc::not_found for a missing key (get), Errc::invalid for bad data.
/// Not thread-safe: one command at a time.
class CacheBackend {
public:
  virtual ~CacheBackend() = default;
  virtual Expected<CacheSummary> stats() = 0;
  /// Calls `fn` for each matching key, until `fn` returns false or filter.limit is reached.
  virtual Expected<void> list(const KeyFilter& filter, const std::function<bool(const KeyInfo&)>& fn) = 0;
  /// The decompressed result JSON of `key`.
  virtual Expected<std::string> get(const std::string& key) = 0;
  /// Deletes the keys; returns how many existed.
  virtual Expected<std::uint64_t> del(const std::vector<std::string>& keys) = 0;
  virtual Expected<FlushOutcome> flush(const KeyFilter& filter, bool dry_run, const Progress& progress) = 0;
  /// Calls `fn` for each matching entry; a value that is not a zstd frame of JSON is
  /// reported to `bad` (with the key) and skipped.
  virtual Expected<void> export_entries(const KeyFilter& filter,
                                        const std::function<void(const CacheEntry&)>& fn,
                                        const std::function<void(const std::string&)>& bad) = 0;
  /// Stores entries (compressed, with their TTL: `ttl` when set, else the entry's, else
  /// the configured one), keeping existing keys unless `replace`.
  virtual Expected<ImportOutcome> import_entries(const std::vector<CacheEntry>& entries,
                                                 std::optional<std::chrono::seconds> ttl, bool replace) = 0;
};

struct RedisBackendOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::int64_t ttl_seconds = 86'400; ///< ai_processing.cache.ttl_seconds: ages and import TTL
  int zstd_level = 3;
};

/// Redis at `url`; connects at once (Errc::unavailable when it cannot, Errc::config when it
/// refuses the credentials).
Expected<std::unique_ptr<CacheBackend>> open_redis_backend(const redis::RedisUrl& url,
                                                           RedisBackendOptions opts);

/// The admin endpoints of the mp-serve at `base_url`, authenticated by `api_key` (may be
/// empty for a server in open mode).
std::unique_ptr<CacheBackend> open_server_backend(std::string base_url, std::string api_key);

} // namespace mp::tools
