#include "ai/cache.hpp"
#include "util/sha256.hpp"

#include <zstd.h>

namespace mp::ai {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/// Appends the normalised `text` to `out`; returns its length.
std::size_t append_normalised(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.resize(start + text.size());
  char* w = out.data() + start;
  char* const begin = w;
  bool space = false;
  for (char c : text) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && w != begin) {
      *w++ = ' ';
    }
    space = false;
    *w++ = c;
  }
  out.resize(start + static_cast<std::size_t>(w - begin));
  return static_cast<std::size_t>(w - begin);
}

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZstdContexts() = default;
  ZstdContexts(const ZstdContexts&) = delete;
  ZstdContexts& operator=(const ZstdContexts&) = delete;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

// ZSTD_compress/ZSTD_decompress build a context per call (hundreds of KiB); a hit
// decompresses on every request, so each thread keeps its own.
ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts ctx;
  return ctx;
}

} // namespace

std::string normalise_text(std::string_view text) {
  std::string out;
  append_normalised(out, text);
  return out;
}

CacheKey make_cache_key(analyser::RequestType type, std::string_view model, std::string_view prompt_version,
                        std::string_view subject, std::string_view sender, std::string_view content) {
  // Fields are length-suffixed so that no two different inputs hash the same text.
  thread_local std::string material;
  material.clear();
  auto add = [](std::string_view part, bool normalise) {
    const std::size_t n =
        normalise ? append_normalised(material, part) : (material.append(part), part.size());
    material += '|';
    material += std::to_string(n);
    material += '|';
  };
  add(analyser::request_type_name(type), false);
  add(model, false);
  add(prompt_version, false);
  add(subject, true);
  add(sender, true);
  add(content, true);
  CacheKey key{type, util::to_hex(util::sha256(material)), {}};
  key.full = "mp:cache:v1:";
  key.full += analyser::request_type_name(type);
  key.full += ':';
  key.full += key.digest_hex;
  return key;
}

std::optional<CacheKey> parse_cache_key(std::string_view key) {
  constexpr std::string_view prefix = "mp:cache:v1:";
  if (!key.starts_with(prefix)) {
    return std::nullopt;
  }
  const std::string_view rest = key.substr(prefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon + 1 == rest.size()) {
    return std::nullopt;
  }
  const auto type = analyser::parse_request_type(rest.substr(0, colon));
  if (!type) {
    return std::nullopt;
  }
  return CacheKey{*type, std::string(rest.substr(colon + 1)), std::string(key)};
}

std::string zstd_compress(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n =
      ZSTD_compressCCtx(zstd_contexts().c, out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) {
    return {};
  }
  out.resize(n);
  return out;
}

std::optional<std::string> zstd_decompress(std::string_view frame) {
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20)) {
    return std::nullopt;
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::size_t n =
      ZSTD_decompressDCtx(zstd_contexts().d, out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != size) {
    return std::nullopt;
  }
  return out;
}

MemoryCache::MemoryCache(std::size_t max_bytes, int zstd_level, const util::Clock& clock)
    : m_max_bytes(max_bytes), m_level(zstd_level), m_clock(clock) {
}

void MemoryCache::drop(List::iterator it) {
  m_stats.bytes -= it->key.size() + it->stored->size();
  m_stats.entries -= 1;
  m_index.erase(it->key);
  m_lru.erase(it);
}

namespace {

// Values shorter than this are kept as they are: zstd saves a few dozen bytes on a
// 300-byte result but its per-frame set-up cost more than the whole rest of a cache hit
// (measured with callgrind: ~12k instructions of a ~60k-instruction hit). A value kept
// as it is is handed out shared, without a copy.
constexpr std::size_t k_compress_min = 1024;

} // namespace

std::shared_ptr<const std::string> MemoryCache::get(const CacheKey& key) {
  const std::string& k = key.str();
  std::lock_guard lock(m_mutex);
  auto it = m_index.find(k);
  if (it == m_index.end()) {
    ++m_stats.misses;
    return nullptr;
  }
  Entry& e = *it->second;
  if (m_clock.steady_now() >= e.expires) {
    drop(it->second);
    ++m_stats.evictions_ttl;
    ++m_stats.misses;
    return nullptr;
  }
  m_lru.splice(m_lru.begin(), m_lru, it->second);
  if (!e.compressed) {
    ++m_stats.hits;
    return e.stored;
  }
  auto value = zstd_decompress(*e.stored);
  if (!value) {
    drop(it->second);
    ++m_stats.misses;
    return nullptr;
  }
  ++m_stats.hits;
  return std::make_shared<const std::string>(std::move(*value));
}

void MemoryCache::put(const CacheKey& key, std::string_view value, std::chrono::seconds ttl) {
  const bool compress = value.size() >= k_compress_min;
  auto stored =
      std::make_shared<const std::string>(compress ? zstd_compress(value, m_level) : std::string(value));
  std::string k = key.str();
  const std::size_t size = k.size() + stored->size();
  if ((compress && stored->empty()) || size > m_max_bytes) {
    return;
  }
  std::lock_guard lock(m_mutex);
  if (auto it = m_index.find(k); it != m_index.end()) {
    drop(it->second);
  }
  while (!m_lru.empty() && m_stats.bytes + size > m_max_bytes) {
    drop(std::prev(m_lru.end()));
    ++m_stats.evictions_lru;
  }
  const auto now = m_clock.steady_now();
  m_lru.push_front(Entry{k, std::move(stored), compress, now + ttl, now});
  m_index.emplace(std::move(k), m_lru.begin());
  m_stats.bytes += size;
  m_stats.entries += 1;
  m_stats.stores += 1;
}

bool MemoryCache::erase(const CacheKey& key) {
  std::lock_guard lock(m_mutex);
  auto it = m_index.find(key.str());
  if (it == m_index.end()) {
    return false;
  }
  drop(it->second);
  return true;
}

void MemoryCache::clear() {
  std::lock_guard lock(m_mutex);
  m_lru.clear();
  m_index.clear();
  m_stats.entries = 0;
  m_stats.bytes = 0;
}

CacheStats MemoryCache::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

void MemoryCache::for_each(const std::function<bool(const CacheEntryInfo&)>& fn) const {
  std::lock_guard lock(m_mutex);
  const auto now = m_clock.steady_now();
  for (const Entry& e : m_lru) {
    if (now >= e.expires) {
      continue;
    }
    const CacheEntryInfo info{e.key, e.stored->size(),
                              std::chrono::ceil<std::chrono::seconds>(e.expires - now),
                              std::chrono::floor<std::chrono::seconds>(now - e.created)};
    if (!fn(info)) {
      return;
    }
  }
}

std::shared_ptr<const std::string> MemoryCache::peek(std::string_view key) const {
  std::shared_ptr<const std::string> stored;
  bool compressed = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_index.find(std::string(key));
    if (it == m_index.end() || m_clock.steady_now() >= it->second->expires) {
      return nullptr;
    }
    stored = it->second->stored;
    compressed = it->second->compressed;
  }
  if (!compressed) {
    return stored;
  }
  auto value = zstd_decompress(*stored);
  return value ? std::make_shared<const std::string>(std::move(*value)) : nullptr;
}

} // namespace mp::ai
