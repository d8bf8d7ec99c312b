// The admin endpoints over this instance's L1 (ai::MemoryCache), for `mp-cache --server`:
//
//   GET    /api/admin/cache/stats          keys, bytes, TTL spread by type, hit counters
//   GET    /api/admin/cache/keys           NDJSON {key,type,bytes,ttl_s,age_s};
//   ?type=&pattern=&older_than=&limit= GET    /api/admin/cache/keys/{key}     the result JSON (404 when
//   absent) DELETE /api/admin/cache/keys/{key}     {"deleted":1} (404 when absent) POST
//   /api/admin/cache/flush          body {"type","older_than","dry_run"} -> {scanned,matched,deleted} GET
//   /api/admin/cache/export         NDJSON {key,ttl_s,value}; ?type= POST   /api/admin/cache/import NDJSON
//   body; ?ttl=&replace= -> {imported,existing}
//
// All admin scope (the service answers 401/403). They run on the I/O thread that got the
// request and walk the L1 under its lock; they are for operators, not for traffic.
// `older_than` and `ttl` are whole seconds; ages are exact here (the L1 records when each
// entry was stored).

#include "serve/cache_routes.hpp"
#include "ai/shared_cache.hpp"
#include "redis/subscriber.hpp"
#include "serve/service.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>

namespace mp::serve {

namespace {

/// Redis's glob: `*`, `?`, `[abc]`, `[^a-z]`, and `\` escaping the next character.
bool glob_match(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    switch (p.front()) {
    case '*':
      while (!p.empty() && p.front() == '*') {
        p.remove_prefix(1);
      }
      if (p.empty()) {
        return true;
      }
      for (std::size_t i = 0; i <= s.size(); ++i) {
        if (glob_match(p, s.substr(i))) {
          return true;
        }
      }
      return false;
    case '?':
      if (s.empty()) {
        return false;
      }
      break;
    case '[': {
      if (s.empty()) {
        return false;
      }
      std::size_t i = 1;
      const bool negate = i < p.size() && p[i] == '^';
      i += negate ? 1 : 0;
      bool hit = false;
      for (; i < p.size() && p[i] != ']'; ++i) {
        if (p[i] == '\\' && i + 1 < p.size()) {
          hit |= p[++i] == s.front();
        } else if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
          hit |= std::min(p[i], p[i + 2]) <= s.front() && s.front() <= std::max(p[i], p[i + 2]);
          i += 2;
        } else {
          hit |= p[i] == s.front();
        }
      }
      if (hit == negate) {
        return false;
      }
      p.remove_prefix(std::min(i, p.size() - 1));
      break;
    }
    case '\\':
      if (p.size() > 1) {
        p.remove_prefix(1);
      }
      [[fallthrough]];
    default:
      if (s.empty() || p.front() != s.front()) {
        return false;
      }
    }
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

struct Filter {
  std::string type;
  std::string pattern;
  std::optional<std::int64_t> older_than;
  std::uint64_t limit = 0;

  [[nodiscard]] bool admits(const ai::CacheEntryInfo& e, const ai::CacheKey& key) const {
    return (type.empty() || analyser::request_type_name(key.type) == type) &&
           (pattern.empty() || glob_match(pattern, e.key)) && (!older_than || e.age.count() >= *older_than);
  }
};

struct BadParam {
  std::string field;
  std::string message;
};

std::expected<std::optional<std::int64_t>, BadParam> int_param(const net::Request& req, const char* name) {
  const auto v = req.query_param(name);
  if (!v) {
    return std::nullopt;
  }
  std::int64_t n = -1;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n < 0) {
    return std::unexpected(BadParam{name, fmt::format("{} must be a whole number of seconds or keys", name)});
  }
  return n;
}

std::expected<Filter, BadParam> filter_of(const net::Request& req) {
  Filter f;
  if (auto t = req.query_param("type")) {
    f.type = std::string(*t);
    if (!analyser::parse_request_type(f.type)) {
      return std::unexpected(
          BadParam{"type", "type must be classification, summary, action_items or analysis"});
    }
  }
  if (auto p = req.query_param("pattern")) {
    auto decoded = util::percent_decode(*p);
    if (!decoded) {
      return std::unexpected(BadParam{"pattern", "pattern has a malformed %-escape"});
    }
    f.pattern = std::move(*decoded);
  }
  auto older = int_param(req, "older_than");
  if (!older) {
    return std::unexpected(older.error());
  }
  f.older_than = *older;
  auto limit = int_param(req, "limit");
  if (!limit) {
    return std::unexpected(limit.error());
  }
  f.limit = static_cast<std::uint64_t>(limit->value_or(0));
  return f;
}

struct Listed {
  std::string key;
  std::string type;
  std::size_t bytes = 0;
  std::int64_t ttl_s = 0;
  std::int64_t age_s = 0;
};

/// The entries `f` admits, copied out so the cache's lock is not held while answering.
std::vector<Listed> select(const ai::MemoryCache& cache, const Filter& f) {
  std::vector<Listed> out;
  cache.for_each([&](const ai::CacheEntryInfo& e) {
    const auto key = ai::parse_cache_key(e.key);
    if (key && f.admits(e, *key)) {
      out.push_back(Listed{std::string(e.key), std::string(analyser::request_type_name(key->type)), e.bytes,
                           e.ttl_left.count(), e.age.count()});
    }
    return f.limit == 0 || out.size() < f.limit;
  });
  return out;
}

std::uint64_t erase_listed(ai::MemoryCache& cache, const std::vector<Listed>& listed) {
  std::uint64_t deleted = 0;
  for (const auto& e : listed) {
    deleted += cache.erase(*ai::parse_cache_key(e.key)) ? 1 : 0;
  }
  return deleted;
}

net::Response ndjson(std::string body) {
  net::Response r;
  r.body = std::move(body);
  r.content_type = "application/x-ndjson";
  return r;
}

void write_summary(util::JsonWriter& w, std::uint64_t keys, std::uint64_t bytes,
                   std::vector<std::int64_t>& ttls) {
  util::write_key(w, "keys");
  w.Uint64(keys);
  util::write_key(w, "bytes");
  w.Uint64(bytes);
  util::write_key(w, "ttl_s");
  if (ttls.empty()) {
    w.Null();
    return;
  }
  std::sort(ttls.begin(), ttls.end());
  w.StartObject();
  util::write_key(w, "min");
  w.Int64(ttls.front());
  util::write_key(w, "p50");
  w.Int64(ttls[(ttls.size() - 1) / 2]);
  util::write_key(w, "max");
  w.Int64(ttls.back());
  w.EndObject();
}

std::string stats_json(const ai::MemoryCache& cache) {
  struct Acc {
    std::uint64_t keys = 0, bytes = 0;
    std::vector<std::int64_t> ttls;
  };
  Acc all;
  std::map<std::string, Acc> by_type;
  for (const auto& e : select(cache, Filter{})) {
    for (Acc* a : {&all, &by_type[e.type]}) {
      a->keys += 1;
      a->bytes += e.bytes;
      a->ttls.push_back(e.ttl_s);
    }
  }
  const ai::CacheStats s = cache.stats();
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  util::write_kv(w, "source", "l1");
  util::write_kv(w, "bytes_method", "stored");
  write_summary(w, all.keys, all.bytes, all.ttls);
  util::write_key(w, "no_ttl_keys");
  w.Uint64(0);
  util::write_key(w, "by_type");
  w.StartObject();
  for (auto& [type, a] : by_type) {
    util::write_key(w, type);
    w.StartObject();
    write_summary(w, a.keys, a.bytes, a.ttls);
    w.EndObject();
  }
  w.EndObject();
  util::write_key(w, "counters");
  w.StartObject();
  for (auto [name, v] : {std::pair{"hits", s.hits},
                         {"misses", s.misses},
                         {"stores", s.stores},
                         {"evictions_lru", s.evictions_lru},
                         {"evictions_ttl", s.evictions_ttl}}) {
    util::write_key(w, name);
    w.Uint64(v);
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

/// The body of POST /api/admin/cache/flush as a Filter, and its dry_run.
std::expected<std::pair<Filter, bool>, BadParam> flush_request(const std::string& body) {
  std::pair<Filter, bool> out{Filter{}, false};
  if (util::trim(body).empty()) {
    return out;
  }
  auto doc = util::parse_json(body);
  if (!doc || !doc->IsObject()) {
    return std::unexpected(BadParam{"body", "the body must be a JSON object"});
  }
  if (doc->HasMember("type")) {
    const auto t = util::get_string(*doc, "type");
    if (!t || !analyser::parse_request_type(*t)) {
      return std::unexpected(
          BadParam{"type", "type must be classification, summary, action_items or analysis"});
    }
    out.first.type = std::string(*t);
  }
  if (doc->HasMember("older_than")) {
    const auto v = util::get_int(*doc, "older_than");
    if (!v || *v < 0) {
      return std::unexpected(BadParam{"older_than", "older_than must be a whole number of seconds"});
    }
    out.first.older_than = *v;
  }
  if (doc->HasMember("dry_run")) {
    const auto d = util::get_bool(*doc, "dry_run");
    if (!d) {
      return std::unexpected(BadParam{"dry_run", "dry_run must be true or false"});
    }
    out.second = *d;
  }
  return out;
}

struct ImportLine {
  ai::CacheKey key;
  std::string value;
  std::int64_t ttl_s = -1;
};

/// Every line of an import body, or the first bad one named.
std::expected<std::vector<ImportLine>, BadParam> import_lines(std::string_view body) {
  std::vector<ImportLine> out;
  for (std::size_t n = 1; !body.empty(); ++n) {
    const auto nl = body.find('\n');
    const std::string_view line = util::trim(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (line.empty()) {
      continue;
    }
    auto bad = [n](std::string_view why) {
      return std::unexpected(BadParam{"body", fmt::format("line {}: {}", n, why)});
    };
    auto doc = util::parse_json(line);
    if (!doc || !doc->IsObject()) {
      return bad("not a JSON object");
    }
    const auto k = util::get_string(*doc, "key");
    auto key = k ? ai::parse_cache_key(*k) : std::nullopt;
    if (!key) {
      return bad("\"key\" must be a cache key (mp:cache:v1:<type>:<sha256>)");
    }
    if (!doc->HasMember("value") || !(*doc)["value"].IsObject()) {
      return bad("\"value\" must be the result JSON object");
    }
    const auto ttl = doc->HasMember("ttl_s") ? util::get_int(*doc, "ttl_s") : std::optional<std::int64_t>(-1);
    if (!ttl) {
      return bad("\"ttl_s\" must be an integer");
    }
    out.push_back(ImportLine{std::move(*key), util::to_json((*doc)["value"]), *ttl});
  }
  return out;
}

void bad_request(const Call& c, const BadParam& b) {
  c.reply.error(400, "invalid_request", b.message, b.field);
}

} // namespace

void add_cache_routes(Service& service) {
  auto* l1 = dynamic_cast<ai::MemoryCache*>(&service.pipeline().cache());
  if (l1 == nullptr) {
    return; // a pipeline built on another store has nothing here to inspect
  }
  ai::MemoryCache& cache = *l1;
  const std::int64_t default_ttl = service.config().ai_processing.cache.ttl_seconds;

  service.route("GET", "/api/admin/cache/stats", Access::admin,
                [&cache](Call& c) { c.reply.json(stats_json(cache)); });

  service.route("GET", "/api/admin/cache/keys", Access::admin, [&cache](Call& c) {
    auto f = filter_of(c.request);
    if (!f) {
      return bad_request(c, f.error());
    }
    std::string body;
    for (const auto& e : select(cache, *f)) {
      body += fmt::format(R"({{"key":{},"type":"{}","bytes":{},"ttl_s":{},"age_s":{}}})",
                          util::json_quote(e.key), e.type, e.bytes, e.ttl_s, e.age_s);
      body += '\n';
    }
    c.reply.send(ndjson(std::move(body)));
  });

  auto key_of = [](const Call& c) -> std::optional<ai::CacheKey> {
    auto decoded = util::percent_decode(c.params.find("key")->second);
    if (!decoded) {
      return std::nullopt;
    }
    return ai::parse_cache_key(*decoded);
  };
  service.route("GET", "/api/admin/cache/keys/{key}", Access::admin, [&cache, key_of](Call& c) {
    const auto key = key_of(c);
    const auto value = key ? cache.peek(key->str()) : nullptr;
    if (!value) {
      return c.reply.error(404, "not_found", fmt::format("{}: no such key", c.params.find("key")->second),
                           "key");
    }
    c.reply.json(*value);
  });
  service.route("DELETE", "/api/admin/cache/keys/{key}", Access::admin, [&cache, key_of](Call& c) {
    const auto key = key_of(c);
    if (!key || !cache.erase(*key)) {
      return c.reply.error(404, "not_found", fmt::format("{}: no such key", c.params.find("key")->second),
                           "key");
    }
    c.reply.json(R"({"deleted":1})");
  });

  service.route("POST", "/api/admin/cache/flush", Access::admin, [&cache](Call& c) {
    auto req = flush_request(c.request.body());
    if (!req) {
      return bad_request(c, req.error());
    }
    const auto& [filter, dry_run] = *req;
    const std::uint64_t scanned = cache.stats().entries;
    const auto matched = select(cache, filter);
    const std::uint64_t deleted = dry_run ? 0 : erase_listed(cache, matched);
    c.reply.json(fmt::format(R"({{"dry_run":{},"scanned":{},"matched":{},"deleted":{}}})", dry_run, scanned,
                             matched.size(), deleted));
  });

  service.route("GET", "/api/admin/cache/export", Access::admin, [&cache](Call& c) {
    auto f = filter_of(c.request);
    if (!f) {
      return bad_request(c, f.error());
    }
    std::string body;
    for (const auto& e : select(cache, *f)) {
      if (auto value = cache.peek(e.key)) {
        body +=
            fmt::format(R"({{"key":{},"ttl_s":{},"value":{}}})", util::json_quote(e.key), e.ttl_s, *value);
        body += '\n';
      }
    }
    c.reply.send(ndjson(std::move(body)));
  });

  service.route("POST", "/api/admin/cache/import", Access::admin, [&cache, default_ttl](Call& c) {
    auto ttl = int_param(c.request, "ttl");
    if (!ttl || *ttl == 0) {
      return bad_request(c, ttl ? BadParam{"ttl", "ttl must be at least 1 second"} : ttl.error());
    }
    const auto replace = c.request.query_param("replace");
    auto lines = import_lines(c.request.body());
    if (!lines) {
      return bad_request(c, lines.error());
    }
    std::uint64_t imported = 0, existing = 0;
    for (const auto& l : *lines) {
      if ((!replace || *replace != "true") && cache.peek(l.key.str())) {
        ++existing;
        continue;
      }
      const std::int64_t s = ttl->value_or(l.ttl_s > 0 ? l.ttl_s : default_ttl);
      cache.put(l.key, l.value, std::chrono::seconds(s));
      ++imported;
    }
    c.reply.json(fmt::format(R"({{"imported":{},"existing":{}}})", imported, existing));
  });
}

std::optional<std::uint64_t> apply_cache_invalidation(ai::MemoryCache& cache, std::string_view message) {
  const auto doc = util::parse_json(message);
  if (!doc || !doc->IsObject()) {
    return std::nullopt;
  }
  if (doc->HasMember("keys")) {
    const auto& keys = (*doc)["keys"];
    if (!keys.IsArray()) {
      return std::nullopt;
    }
    std::uint64_t erased = 0;
    for (const auto& k : keys.GetArray()) {
      const auto key =
          k.IsString() ? ai::parse_cache_key({k.GetString(), k.GetStringLength()}) : std::nullopt;
      erased += key && cache.erase(*key) ? 1 : 0;
    }
    return erased;
  }
  Filter f;
  if (const auto t = util::get_string(*doc, "type")) {
    f.type = *t;
  }
  f.older_than = util::get_int(*doc, "older_than_s");
  return erase_listed(cache, select(cache, f));
}

std::unique_ptr<redis::Subscriber> subscribe_cache_invalidations(Service& service) {
  auto* l1 = dynamic_cast<ai::MemoryCache*>(&service.pipeline().cache());
  if (l1 == nullptr || !service.redis_pool()) {
    return nullptr;
  }
  return std::make_unique<redis::Subscriber>(
      service.redis_pool()->url(),
      std::vector<std::string>{service.redis_pool()->url().channel(ai::k_cache_invalidate_channel)},
      [l1](std::string_view, std::string_view message) {
        if (const auto n = apply_cache_invalidation(*l1, message)) {
          spdlog::info("cache: dropped {} L1 entr{} that mp-cache deleted from Redis", *n,
                       *n == 1 ? "y" : "ies");
        } else {
          spdlog::warn("cache: ignored a message on {} that is not an invalidation",
                       ai::k_cache_invalidate_channel);
        }
      });
}

} // namespace mp::serve
