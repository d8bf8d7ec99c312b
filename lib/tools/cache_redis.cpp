// mp-cache against Redis: SCAN (never KEYS) with MATCH, and per batch one pipeline of the
// per-key commands (TTL, STRLEN, GET, UNLINK, SET).
//
// flush is in cache_redis_flush.cpp.

#include "tools/cache_redis.hpp"
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
#include <deque>

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

namespace redis_backend {

Error redis_error(std::string_view what, std::string_view message) {
  return Error{Errc::invalid, fmt::format("Redis refused {}: {}", what, message), {}};
}

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
  auto r = redis::checked(m_conn.command({"PUBLISH", m_invalidate_channel, message}));
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
  // Each pipeline's UNLINKs, then in the same pipeline the same keys announced (one
  // message per UNLINK's keys; Redis runs them in order, so after the deletes).
  auto send = [&]() -> Expected<void> {
    const std::size_t unlinks = cmds.size();
    std::deque<std::string> messages; // stable while cmds points into it
    for (std::size_t i = 0; i < unlinks; ++i) {
      cmds.push_back({"PUBLISH", m_invalidate_channel, messages.emplace_back(keys_message(cmds[i], 1))});
    }
    auto replies = run(cmds);
    if (!replies) {
      return std::unexpected(replies.error());
    }
    for (std::size_t i = 0; i < unlinks; ++i) {
      deleted += static_cast<std::uint64_t>((*replies)[i].integer());
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

} // namespace redis_backend

Expected<std::unique_ptr<CacheBackend>> open_redis_backend(const redis::RedisUrl& url,
                                                           RedisBackendOptions opts) {
  auto conn = redis::Connection::open(url, redis::ConnectOptions{opts.connect_timeout, opts.command_timeout});
  if (!conn) {
    return std::unexpected(conn.error());
  }
  return std::make_unique<redis_backend::RedisBackend>(std::move(*conn), opts);
}

} // namespace mp::tools
