#pragma once
// The AI result cache: keys, the store interface, and the in-memory L1.
//
// Key: SHA-256 over request type, model, prompt version and the normalised email
// (subject, sender, content with line endings unified, whitespace runs collapsed and
// the ends trimmed), so the same email sent twice with different spacing is one entry.
// Rendered as `mp:cache:v1:<type>:<hex>`, the Redis key of the later L2.
//
// L1 (MemoryCache): LRU with a TTL per entry and a byte budget over the stored values;
// values of 1 KiB and more are zstd-compressed JSON, shorter ones are kept as they are
// (see cache.cpp for the measurement). Only successes are ever stored (the
// pipeline's rule). Thread-safe: one mutex; a hit costs a hash lookup, a list splice
// and, for a compressed value, a zstd decompression.

#include "analyser/analysis.hpp"
#include "util/clock.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mp::ai {

struct CacheKey {
  analyser::RequestType type = analyser::RequestType::classification;
  std::string digest_hex;
  std::string full; ///< `mp:cache:v1:<type>:<sha256>`, built once

  /// `mp:cache:v1:<type>:<sha256>`
  [[nodiscard]] const std::string& str() const { return full; }
  bool operator==(const CacheKey& o) const { return full == o.full; }
};

/// The key of an email for a request type, model and prompt version.
CacheKey make_cache_key(analyser::RequestType type, std::string_view model, std::string_view prompt_version,
                        std::string_view subject, std::string_view sender, std::string_view content);

/// The key `mp:cache:v1:<type>:<digest>` of a known request type, parsed; nullopt for
/// anything else.
std::optional<CacheKey> parse_cache_key(std::string_view key);

/// Collapses whitespace runs to one space, unifies line endings, trims the ends.
std::string normalise_text(std::string_view text);

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t stores = 0;
  std::uint64_t evictions_lru = 0;
  std::uint64_t evictions_ttl = 0;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0; ///< compressed values plus keys
};

/// Where cached results live. Implementations are thread-safe.
class CacheStore {
public:
  virtual ~CacheStore() = default;
  /// The value stored under `key`, or null (absent or expired). Shared, not copied: a
  /// hit hands out the stored bytes when they are kept uncompressed.
  virtual std::shared_ptr<const std::string> get(const CacheKey& key) = 0;
  virtual void put(const CacheKey& key, std::string_view value, std::chrono::seconds ttl) = 0;
  virtual bool erase(const CacheKey& key) = 0;
  virtual void clear() = 0;
  [[nodiscard]] virtual CacheStats stats() const = 0;
};

/// One live L1 entry, as the admin endpoints list it (serve/cache_routes.cpp).
struct CacheEntryInfo {
  std::string_view key;
  std::size_t bytes = 0; ///< the stored value: its zstd frame when compressed
  std::chrono::seconds ttl_left{0};
  std::chrono::seconds age{0}; ///< since it was stored
};

class MemoryCache final : public CacheStore {
public:
  MemoryCache(std::size_t max_bytes, int zstd_level, const util::Clock& clock);

  std::shared_ptr<const std::string> get(const CacheKey& key) override;
  void put(const CacheKey& key, std::string_view value, std::chrono::seconds ttl) override;
  bool erase(const CacheKey& key) override;
  void clear() override;
  [[nodiscard]] CacheStats stats() const override;

  /// Calls `fn` for each entry that has not expired, most recently used first, until it
  /// returns false. Holds the cache's lock throughout: `fn` must be quick and must not
  /// call this cache.
  void for_each(const std::function<bool(const CacheEntryInfo&)>& fn) const;
  /// The value under `key` (decompressed), or null; counts no hit or miss and leaves the
  /// LRU order alone.
  [[nodiscard]] std::shared_ptr<const std::string> peek(std::string_view key) const;

private:
  struct Entry {
    std::string key;
    std::shared_ptr<const std::string> stored; ///< the value, or its zstd frame
    bool compressed = false;
    util::Clock::SteadyTime expires;
    util::Clock::SteadyTime created;
  };
  using List = std::list<Entry>;
  void drop(List::iterator it);

  std::size_t m_max_bytes;
  int m_level;
  const util::Clock& m_clock;
  mutable std::mutex m_mutex;
  List m_lru; ///< front: most recently used
  std::unordered_map<std::string, List::iterator> m_index;
  CacheStats m_stats;
};

/// zstd helpers; decompress returns nullopt on a corrupt frame.
std::string zstd_compress(std::string_view data, int level);
std::optional<std::string> zstd_decompress(std::string_view frame);

} // namespace mp::ai
