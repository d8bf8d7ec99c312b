// mp-cache against Redis: SCAN (never KEYS) with MATCH, and per batch one pipeline of the
// per-key commands (TTL, STRLEN, GET, UNLINK, SET).
//
// flush first pops the index buckets (ai/cache_index.hpp) and UNLINKs the keys they name,
// then sweeps with SCAN for what the index missed. Without the index, SCAN was most of the
// cost; with it a million keys flush in ~1.6 s against ~3.5 s (bench/RESULTS.md). The rest
// of this comment is about the sweep, which is the whole flush for keys written without
// the index.
//
// The sweep SCANs on one connection and sends each batch's UNLINK (one command carrying the
// batch's keys) on a second one without waiting for its answer (at most 4 in flight), so
// Redis deletes one batch while mp-cache reads and filters the next SCAN reply; a flush of
// N keys costs about N / k_flush_batch SCAN round trips and no UNLINK round trip.
// Measured on 200,000 keys: Redis's own CPU time was ~60% of the wall time with one
// connection (UNLINK sent with the next SCAN), so overlapping the client's share was what
// was left.
//
// Redis's CPU is then the whole cost, and most of it is memory: SCAN visits keys in hash
// order, so each key, its expiry entry and its value are cold in the CPU's caches, and
// UNLINK touches them again. Smaller batches made the deletes cheaper. On 1,000,000 keys
// (2-core VM, medians of 6 interleaved runs, Redis's CPU from INFO): 4.2 s in batches of
// 1000, 3.5 s in batches of 300; SCAN alone (--dry-run) costs ~1.8 s either way, so the
// deletes went from ~2.4 to ~1.6 s, about what deleting the same keys in the order they
// were written costs (1.4-1.6 s, no SCAN). The likely reason is that a batch of 300 is
// still cached when its UNLINK runs (this VM has no hardware counters to show it). Below
// ~200 keys a batch the round trips show in the wall time.
//
// A Lua script doing SCAN, filter and UNLINK inside Redis was no faster on a quiet machine,
// even without the per-key type check it would need (no glob names just the known types;
// the check alone costs Redis 0.3-0.5 us a key): turning replies into Lua strings and back
// costs about what the script saves in replies and parsing. It was faster only under load,
// needing no client turnaround. bench/cache_flush.sh measures flush against `redis-cli
// --scan | xargs redis-cli unlink` (bench/RESULTS.md, "mp-cache flush").

#include "ai/cache.hpp"
#include "ai/cache_index.hpp"
#include "ai/shared_cache.hpp"
#include "analyser/analysis.hpp"
#include "redis/client.hpp"
#include "tools/cache_backend.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace mp::tools {

std::optional<std::string> cache_key_type(std::string_view key) {
  const auto k = ai::parse_cache_key(key);
  return k ? std::optional<std::string>(analyser::request_type_name(k->type)) : std::nullopt;
}

std::string KeyFilter::match() const {
  if (!pattern.empty()) {
    return pattern;
  }
  return type.empty() ? fmt::format("{}*", k_cache_prefix) : fmt::format("{}{}:*", k_cache_prefix, type);
}

bool KeyFilter::admits_type(std::string_view key) const {
  const auto t = cache_key_type(key);
  return t && (type.empty() || *t == type);
}

namespace {

// Keys per SCAN call: large enough that round trips do not dominate, small enough that
// one pipeline of TTLs stays well under a millisecond of Redis time.
constexpr std::string_view k_scan_count = "1000";
// flush's, for SCAN and for index pops: small enough that the batch SCAN just read is
// still cached when its UNLINK runs (see the top of this file), large enough that round
// trips stay hidden.
constexpr std::size_t k_flush_batch = 300;

using Batch = std::vector<std::string>;

Error redis_error(std::string_view what, std::string_view message) {
  return Error{Errc::invalid, fmt::format("Redis refused {}: {}", what, message), {}};
}

/// UNLINKs batches on a connection of its own without waiting for each answer, so Redis
/// deletes one batch while this process reads and filters the next SCAN reply.
class Unlinker {
public:
  Unlinker(redis::Connection conn, std::chrono::milliseconds timeout)
      : m_conn(std::move(conn)), m_timeout(timeout) {}
  /// Sends one UNLINK; returns the keys deleted by earlier batches answered meanwhile.
  Expected<std::uint64_t> send(const Batch& keys);
  /// Reads the answers already there, and waits for at least `at_least` of them.
  Expected<std::uint64_t> collect(std::size_t at_least);
  [[nodiscard]] std::size_t in_flight() const { return m_in_flight; }

private:
  static constexpr std::size_t k_max_in_flight = 4;
  redis::Connection m_conn;
  std::chrono::milliseconds m_timeout;
  std::size_t m_in_flight = 0;
};

class RedisBackend final : public CacheBackend {
public:
  RedisBackend(redis::Connection conn, RedisBackendOptions opts) : m_conn(std::move(conn)), m_opts(opts) {}

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
};

Expected<std::vector<redis::Reply>>
RedisBackend::run(const std::vector<std::vector<std::string_view>>& cmds) {
  auto replies = m_conn.pipeline(cmds);
  if (!replies) {
    return std::unexpected(replies.error());
  }
  for (std::size_t i = 0; i < replies->size(); ++i) {
    if ((*replies)[i].is_error()) {
      return std::unexpected(redis_error(cmds[i][0], (*replies)[i].str()));
    }
  }
  return replies;
}

/// The cursor and keys of a SCAN reply.
Expected<std::string> read_scan(const redis::Reply& r, Batch& keys) {
  if (r.type() != redis::Reply::Type::array || r.size() != 2) {
    return fail(Errc::invalid, "SCAN: unexpected reply");
  }
  const auto list = r.at(1);
  keys.clear();
  keys.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    keys.emplace_back(list.at(i).str());
  }
  return std::string(r.at(0).str());
}

Expected<void> RedisBackend::scan(const KeyFilter& filter, const std::function<Expected<bool>(Batch&)>& fn,
                                  std::string_view count) {
  const std::string match = filter.match();
  std::string cursor = "0";
  Batch keys;
  do {
    auto r = redis::checked(m_conn.command({"SCAN", cursor, "MATCH", match, "COUNT", count}));
    if (!r) {
      return std::unexpected(r.error());
    }
    auto next = read_scan(*r, keys);
    if (!next) {
      return std::unexpected(next.error());
    }
    cursor = std::move(*next);
    std::erase_if(keys, [&](const std::string& k) { return !filter.admits_type(k); });
    auto more = fn(keys);
    if (!more) {
      return std::unexpected(more.error());
    }
    if (!*more) {
      return {};
    }
  } while (cursor != "0");
  return {};
}

Expected<std::vector<KeyInfo>> RedisBackend::describe(const Batch& keys) {
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(keys.size() * 2);
  for (const auto& k : keys) {
    cmds.push_back({"TTL", k});
    cmds.push_back({"STRLEN", k});
  }
  auto replies = run(cmds);
  if (!replies) {
    return std::unexpected(replies.error());
  }
  std::vector<KeyInfo> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::int64_t ttl = (*replies)[2 * i].integer();
    if (ttl == -2) {
      continue; // deleted or expired since SCAN returned it
    }
    out.push_back(
        KeyInfo{keys[i], *cache_key_type(keys[i]), (*replies)[2 * i + 1].integer(), ttl, age_of(ttl)});
  }
  return out;
}

Expected<void> RedisBackend::keep_older(Batch& batch, std::optional<std::int64_t> older_than) {
  if (!older_than || batch.empty()) {
    return {};
  }
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(batch.size());
  for (const auto& k : batch) {
    cmds.push_back({"TTL", k});
  }
  auto replies = run(cmds);
  if (!replies) {
    return std::unexpected(replies.error());
  }
  Batch kept;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto age = age_of((*replies)[i].integer());
    if (age && *age >= *older_than) {
      kept.push_back(std::move(batch[i]));
    }
  }
  batch = std::move(kept);
  return {};
}

std::int64_t percentile(std::vector<std::int64_t>& v, double q) {
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

void set_spread(TypeSummary& s, std::vector<std::int64_t>& ttls) {
  if (ttls.empty()) {
    return;
  }
  s.ttl_min = *std::min_element(ttls.begin(), ttls.end());
  s.ttl_max = *std::max_element(ttls.begin(), ttls.end());
  s.ttl_p50 = percentile(ttls, 0.5);
}

Expected<CacheSummary> RedisBackend::stats() {
  CacheSummary out;
  out.source = "redis";
  out.where = m_conn.url().redacted();
  out.bytes_method = "strlen";
  std::map<std::string, std::vector<std::int64_t>> ttls;
  std::vector<std::int64_t> all_ttls;
  auto ok = scan(KeyFilter{}, [&](Batch& keys) -> Expected<bool> {
    auto infos = describe(keys);
    if (!infos) {
      return std::unexpected(infos.error());
    }
    for (const auto& k : *infos) {
      auto& t = out.by_type[k.type];
      for (TypeSummary* s : {&t, &out.all}) {
        s->keys += 1;
        s->bytes += static_cast<std::uint64_t>(k.bytes);
      }
      if (k.ttl_s >= 0) {
        ttls[k.type].push_back(k.ttl_s);
        all_ttls.push_back(k.ttl_s);
      } else {
        out.no_ttl_keys += 1;
      }
    }
    return true;
  });
  if (!ok) {
    return std::unexpected(ok.error());
  }
  set_spread(out.all, all_ttls);
  for (auto& [type, v] : ttls) {
    set_spread(out.by_type[type], v);
  }
  auto counters = redis::checked(m_conn.command({"HGETALL", k_cache_stats_key}));
  if (!counters) {
    return std::unexpected(counters.error());
  }
  for (std::size_t i = 0; i + 1 < counters->size(); i += 2) {
    std::int64_t v = 0;
    const auto text = counters->at(i + 1).str();
    std::from_chars(text.data(), text.data() + text.size(), v);
    out.counters[std::string(counters->at(i).str())] = v;
  }
  return out;
}

Expected<void> RedisBackend::list(const KeyFilter& filter, const std::function<bool(const KeyInfo&)>& fn) {
  std::uint64_t shown = 0;
  return scan(filter, [&](Batch& keys) -> Expected<bool> {
    auto infos = describe(keys);
    if (!infos) {
      return std::unexpected(infos.error());
    }
    for (const auto& k : *infos) {
      if (filter.older_than_s && (!k.age_s || *k.age_s < *filter.older_than_s)) {
        continue;
      }
      if (!fn(k) || (filter.limit > 0 && ++shown >= filter.limit)) {
        return false;
      }
    }
    return true;
  });
}

/// The result JSON in a stored value: a zstd frame of JSON (or, leniently, plain JSON).
std::optional<std::string> decode_value(std::string_view stored) {
  auto json = ai::zstd_decompress(stored);
  if (!json) {
    json = std::string(stored);
  }
  if (!util::parse_json(*json)) {
    return std::nullopt;
  }
  return json;
}

Expected<std::string> RedisBackend::get(const std::string& key) {
  auto r = redis::checked(m_conn.command({"GET", key}));
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->is_nil()) {
    return fail(Errc::not_found, fmt::format("{}: no such key", key), "key");
  }
  auto json = decode_value(r->str());
  if (!json) {
    return fail(Errc::invalid, fmt::format("{}: the value is not a zstd frame of JSON", key), "key");
  }
  return std::move(*json);
}

/// An invalidation naming `keys[from..]`.
std::string keys_message(const std::vector<std::string_view>& keys, std::size_t from = 0) {
  std::string message = R"({"keys":[)";
  for (std::size_t j = from; j < keys.size(); ++j) {
    message += j > from ? "," : "";
    message += util::json_quote(keys[j]);
  }
  return message + "]}";
}

Expected<std::uint64_t> RedisBackend::announce(const std::string& message) {
  auto r = redis::checked(m_conn.command({"PUBLISH", ai::k_cache_invalidate_channel, message}));
  if (!r) {
    return std::unexpected(r.error());
  }
  return static_cast<std::uint64_t>(r->integer());
}

Expected<std::uint64_t> RedisBackend::del(const std::vector<std::string>& keys) {
  constexpr std::size_t k_per_unlink = 1000;
  constexpr std::size_t k_per_pipeline = 64;
  std::uint64_t deleted = 0;
  std::vector<std::vector<std::string_view>> cmds;
  // Each pipeline's UNLINKs, then the same keys announced (one message per UNLINK's keys).
  auto send = [&]() -> Expected<void> {
    auto replies = run(cmds);
    if (!replies) {
      return std::unexpected(replies.error());
    }
    for (const auto& r : *replies) {
      deleted += static_cast<std::uint64_t>(r.integer());
    }
    for (const auto& argv : cmds) {
      if (auto n = announce(keys_message(argv, 1)); !n) { // argv[0] is UNLINK
        return std::unexpected(n.error());
      }
    }
    cmds.clear();
    return {};
  };
  for (std::size_t i = 0; i < keys.size(); i += k_per_unlink) {
    std::vector<std::string_view> argv{"UNLINK"};
    for (std::size_t j = i; j < std::min(keys.size(), i + k_per_unlink); ++j) {
      argv.emplace_back(keys[j]);
    }
    cmds.push_back(std::move(argv));
    if (cmds.size() == k_per_pipeline) {
      if (auto ok = send(); !ok) {
        return std::unexpected(ok.error());
      }
    }
  }
  if (!cmds.empty()) {
    if (auto ok = send(); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return deleted;
}

Expected<std::uint64_t> Unlinker::send(const Batch& keys) {
  std::vector<std::string_view> argv{"UNLINK"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  if (auto ok = m_conn.send(argv); !ok) {
    return std::unexpected(ok.error());
  }
  ++m_in_flight;
  // Bounded: at most k_max_in_flight batches sent and not yet answered.
  return collect(m_in_flight > k_max_in_flight ? m_in_flight - k_max_in_flight : 0);
}

Expected<std::uint64_t> Unlinker::collect(std::size_t at_least) {
  std::uint64_t deleted = 0;
  const auto deadline = std::chrono::steady_clock::now() + m_timeout;
  for (std::size_t got = 0; m_in_flight > 0;) {
    const bool must = got < at_least;
    auto r = m_conn.next_reply(must ? std::chrono::milliseconds(50) : std::chrono::milliseconds(0));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (!*r) {
      if (!must) {
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(Errc::unavailable, "UNLINK: no reply within the command timeout");
      }
      continue;
    }
    if ((*r)->is_error()) {
      return std::unexpected(redis_error("UNLINK", (*r)->str()));
    }
    deleted += static_cast<std::uint64_t>((*r)->integer());
    --m_in_flight;
    ++got;
  }
  return deleted;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Expected<void> RedisBackend::flush_index(const KeyFilter& filter, Unlinker& unlinker, FlushOutcome& out,
                                         const Progress& progress) {
  const std::int64_t hour = unix_now() / ai::k_index_bucket_s;
  const std::int64_t back = (m_opts.ttl_seconds + 86'400) / ai::k_index_bucket_s + 2;
  std::vector<std::pair<analyser::RequestType, std::string>> lists;
  for (const auto type : analyser::k_request_types) {
    if (filter.type.empty() || filter.type == analyser::request_type_name(type)) {
      for (std::int64_t h = hour - back; h <= hour + 1; ++h) {
        lists.emplace_back(type, ai::cache_index_key(type, h));
      }
    }
  }
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(lists.size());
  for (const auto& l : lists) {
    cmds.push_back({"LLEN", l.second});
  }
  auto lengths = run(cmds);
  if (!lengths) {
    return std::unexpected(lengths.error());
  }
  // Four pops a round trip; each batch goes to the Unlinker as soon as it is read.
  constexpr std::size_t k_pops = 4;
  const std::string count = std::to_string(k_flush_batch);
  Batch keys;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    const auto& [type, list] = lists[i];
    for (bool drained = (*lengths)[i].integer() == 0; !drained;) {
      cmds.assign(k_pops, std::vector<std::string_view>{"LPOP", list, count});
      auto popped = run(cmds);
      if (!popped) {
        return std::unexpected(popped.error());
      }
      for (const auto& r : *popped) {
        drained = drained || r.is_nil() || r.size() < k_flush_batch;
        keys.clear();
        for (std::size_t j = 0; j < r.size(); ++j) {
          if (const auto m = r.at(j).str(); m.size() == 32) {
            keys.push_back(ai::key_of_member(type, m));
          }
        }
        out.scanned += r.size();
        out.matched += keys.size();
        if (!keys.empty()) {
          auto n = unlinker.send(keys);
          if (!n) {
            return std::unexpected(n.error());
          }
          out.deleted += *n;
        }
      }
      if (progress) {
        progress(out.scanned, out.deleted);
      }
    }
  }
  return {};
}

Expected<FlushOutcome> RedisBackend::flush(const KeyFilter& filter, bool dry_run, const Progress& progress) {
  std::optional<Unlinker> unlinker;
  if (!dry_run) {
    auto c = redis::Connection::open(m_conn.url(),
                                     redis::ConnectOptions{m_opts.connect_timeout, m_opts.command_timeout});
    if (!c) {
      return std::unexpected(c.error());
    }
    unlinker.emplace(std::move(*c), m_opts.command_timeout);
  }
  FlushOutcome out;
  // By age, the index's hours are not the ages mp-cache reads from TTLs (an import sets
  // its own): SCAN alone decides.
  if (unlinker && !filter.older_than_s && filter.pattern.empty()) {
    if (auto ok = flush_index(filter, *unlinker, out, progress); !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto on_batch = [&](Batch& keys) -> Expected<bool> {
    out.scanned += keys.size();
    if (auto kept = keep_older(keys, filter.older_than_s); !kept) {
      return std::unexpected(kept.error());
    }
    out.matched += keys.size();
    if (unlinker && !keys.empty()) {
      auto n = unlinker->send(keys);
      if (!n) {
        return std::unexpected(n.error());
      }
      out.deleted += *n;
    }
    if (progress) {
      progress(out.scanned, dry_run ? out.matched : out.deleted);
    }
    return true;
  };
  auto ok = scan(filter, on_batch, std::to_string(k_flush_batch));
  if (!ok) {
    return std::unexpected(ok.error());
  }
  if (unlinker) {
    auto n = unlinker->collect(unlinker->in_flight());
    if (!n) {
      return std::unexpected(n.error());
    }
    out.deleted += *n;
    // After the deletes: an instance that refilled its L1 from a key before it went drops it now.
    std::string message = fmt::format(R"({{"type":{})", util::json_quote(filter.type));
    if (filter.older_than_s) {
      message += fmt::format(R"(,"older_than_s":{})", *filter.older_than_s);
    }
    message += '}';
    auto told = announce(message);
    if (!told) {
      return std::unexpected(told.error());
    }
    out.servers_notified = *told;
  }
  return out;
}

Expected<void> RedisBackend::export_entries(const KeyFilter& filter,
                                            const std::function<void(const CacheEntry&)>& fn,
                                            const std::function<void(const std::string&)>& bad) {
  return scan(filter, [&](Batch& keys) -> Expected<bool> {
    std::vector<std::vector<std::string_view>> cmds;
    cmds.reserve(keys.size() * 2);
    for (const auto& k : keys) {
      cmds.push_back({"TTL", k});
      cmds.push_back({"GET", k});
    }
    auto replies = run(cmds);
    if (!replies) {
      return std::unexpected(replies.error());
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto& value = (*replies)[2 * i + 1];
      if (value.is_nil()) {
        continue;
      }
      auto json = decode_value(value.str());
      if (!json) {
        bad(keys[i]);
        continue;
      }
      fn(CacheEntry{keys[i], (*replies)[2 * i].integer(), std::move(*json)});
    }
    return true;
  });
}

Expected<ImportOutcome> RedisBackend::import_entries(const std::vector<CacheEntry>& entries,
                                                     std::optional<std::chrono::seconds> ttl, bool replace) {
  std::vector<std::string> frames, ttls;
  frames.reserve(entries.size());
  ttls.reserve(entries.size());
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(entries.size());
  for (const auto& e : entries) {
    frames.push_back(ai::zstd_compress(e.value_json, m_opts.zstd_level));
    const std::int64_t s = ttl ? ttl->count() : e.ttl_s > 0 ? e.ttl_s : m_opts.ttl_seconds;
    ttls.push_back(std::to_string(s));
  }
  std::vector<ai::IndexedStore> stored;
  stored.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    cmds.push_back({"SET", entries[i].key, frames[i], "EX", ttls[i]});
    if (!replace) {
      cmds.back().emplace_back("NX");
    }
    stored.push_back({entries[i].key, std::stoll(ttls[i])});
  }
  // Indexed as mp-serve indexes what it stores (a key kept by NX gains a duplicate digest,
  // which a flush UNLINKs twice, harmlessly).
  ai::IndexCommands index;
  ai::append_index_commands(stored, unix_now(), index);
  cmds.insert(cmds.end(), index.cmds.begin(), index.cmds.end());
  auto replies = run(cmds);
  if (!replies) {
    return std::unexpected(replies.error());
  }
  ImportOutcome out;
  std::vector<std::string_view> replaced;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ((*replies)[i].is_nil() ? out.existing : out.imported) += 1;
    if (replace) {
      replaced.emplace_back(entries[i].key);
    }
  }
  // A replaced value must not keep being answered from an instance's L1 in its old form.
  if (!replaced.empty()) {
    if (auto n = announce(keys_message(replaced)); !n) {
      return std::unexpected(n.error());
    }
  }
  return out;
}

} // namespace

Expected<std::unique_ptr<CacheBackend>> open_redis_backend(const redis::RedisUrl& url,
                                                           RedisBackendOptions opts) {
  auto conn = redis::Connection::open(url, redis::ConnectOptions{opts.connect_timeout, opts.command_timeout});
  if (!conn) {
    return std::unexpected(conn.error());
  }
  return std::make_unique<RedisBackend>(std::move(*conn), opts);
}

} // namespace mp::tools
