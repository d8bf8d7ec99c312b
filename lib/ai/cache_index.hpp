#pragma once
// The L2's index of its own keys, so that a flush need not SCAN the whole database.
//
// For each request type and each hour of storing, one Redis list
// `mp:cache:index:v1:<type>:<unix hour>` of the digests stored then (32 raw bytes each,
// the hex of the key decoded). Whoever writes an L2 entry (mp-serve, `mp-cache import`)
// appends its digest in the same pipeline, with an EXPIREAT an hour past the last expiry
// the bucket can name, so the index ages out with the keys.
//
// The index is a hint, never the truth: a key deleted by hand or evicted leaves a stale
// digest (UNLINKing it again is harmless), and a key written by something else, or whose
// bucket was evicted, is not in it. So `mp-cache flush` empties the buckets it needs and
// then still sweeps with SCAN; after the buckets the sweep walks a database with the cache
// gone, which costs little (bench/RESULTS.md, "mp-cache flush"). The list holds 34 bytes a
// key against ~400 for the entry itself.

#include "analyser/analysis.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::ai {

constexpr std::int64_t k_index_bucket_s = 3600;

/// `mp:cache:index:v1:<type>:<hour>`, hour = unix seconds / 3600.
std::string cache_index_key(analyser::RequestType type, std::int64_t hour);

/// The index member of a 64-hex digest (its 32 bytes), or nullopt for any other digest.
std::optional<std::string> index_member(std::string_view digest_hex);

/// The cache key an index member names.
std::string key_of_member(analyser::RequestType type, std::string_view member);

/// Redis commands with the strings they point into. `owned` is a deque so that the views
/// in `cmds` stay valid while it grows.
struct IndexCommands {
  std::deque<std::string> owned;
  std::vector<std::vector<std::string_view>> cmds;
};

/// One cache key being stored now, with its TTL.
struct IndexedStore {
  std::string_view key;
  std::int64_t ttl_s = 0;
};

/// Appends to `out` what indexes `stores` made at `now_s` (unix seconds): per (type, hour)
/// one RPUSH of all its digests and an EXPIREAT an hour past the end of the hour plus the
/// longest TTL among them. Keys not of the v1 schema with a 64-hex digest are skipped: the
/// sweep finds those.
void append_index_commands(const std::vector<IndexedStore>& stores, std::int64_t now_s, IndexCommands& out);

} // namespace mp::ai
