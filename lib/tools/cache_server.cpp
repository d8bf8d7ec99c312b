// mp-cache against one mp-serve without Redis: the admin endpoints of
// lib/serve/cache_routes.cpp over HTTP (tools/http_client.hpp: one kept-alive connection),
// with the admin key as a Bearer token. The answers have the shapes the Redis backend produces,
// so the commands print the same either way.

#include "tools/cache_backend.hpp"
#include "tools/http_client.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

namespace mp::tools {

namespace {

/// `s` percent-encoded for a path segment or query value.
std::string url_encode(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string query_of(const KeyFilter& f) {
  std::string q;
  auto add = [&q](std::string_view k, std::string_view v) {
    q += q.empty() ? '?' : '&';
    q += k;
    q += '=';
    q += url_encode(v);
  };
  if (!f.type.empty()) {
    add("type", f.type);
  }
  if (!f.pattern.empty()) {
    add("pattern", f.pattern);
  }
  if (f.older_than_s) {
    add("older_than", std::to_string(*f.older_than_s));
  }
  if (f.limit > 0) {
    add("limit", std::to_string(f.limit));
  }
  return q;
}

/// Calls `fn` with each non-empty line of an NDJSON body, parsed.
Expected<void> for_each_line(std::string_view body, const std::function<void(const rapidjson::Value&)>& fn) {
  while (!body.empty()) {
    const auto nl = body.find('\n');
    const std::string_view line = util::trim(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (line.empty()) {
      continue;
    }
    auto doc = util::parse_json(line);
    if (!doc || !doc->IsObject()) {
      return fail(Errc::invalid, fmt::format("the server sent a line that is not a JSON object: {}", line));
    }
    fn(*doc);
  }
  return {};
}

std::int64_t int_or(const rapidjson::Value& v, const char* name, std::int64_t dflt) {
  return util::get_int(v, name).value_or(dflt);
}

class ServerBackend final : public CacheBackend {
public:
  ServerBackend(std::string base, std::string key)
      : m_base(std::move(base)), m_http(std::move(key), std::chrono::milliseconds{120'000}) {
    while (m_base.ends_with('/')) {
      m_base.pop_back();
    }
  }

  Expected<CacheSummary> stats() override;
  Expected<void> list(const KeyFilter& filter, const std::function<bool(const KeyInfo&)>& fn) override;
  Expected<std::string> get(const std::string& key) override {
    return call("GET", "/api/admin/cache/keys/" + url_encode(key), {});
  }
  Expected<std::uint64_t> del(const std::vector<std::string>& keys) override;
  Expected<FlushOutcome> flush(const KeyFilter& filter, bool dry_run, const Progress& progress) override;
  Expected<void> export_entries(const KeyFilter& filter, const std::function<void(const CacheEntry&)>& fn,
                                const std::function<void(const std::string&)>& bad) override;
  Expected<ImportOutcome> import_entries(const std::vector<CacheEntry>& entries,
                                         std::optional<std::chrono::seconds> ttl, bool replace) override;

private:
  /// One request; the body of a 200, else the error the status means.
  Expected<std::string> call(const char* method, const std::string& path, const std::string& body);
  Expected<rapidjson::Document> call_json(const char* method, const std::string& path,
                                          const std::string& body) {
    auto text = call(method, path, body);
    if (!text) {
      return std::unexpected(text.error());
    }
    return util::parse_json(*text);
  }

  std::string m_base;
  HttpClient m_http;
};

/// The message of an API error body, or the body itself.
std::string error_message(const std::string& body) {
  if (auto doc = util::parse_json(body); doc && doc->IsObject() && doc->HasMember("error")) {
    if (auto m = util::get_string((*doc)["error"], "message")) {
      return std::string(*m);
    }
  }
  return body;
}

Expected<std::string> ServerBackend::call(const char* method, const std::string& path,
                                          const std::string& body) {
  const std::string url = m_base + path;
  std::string error;
  auto answer = m_http.request(method, url, body, "application/x-ndjson", error);
  if (!answer) {
    return fail(Errc::unavailable, fmt::format("--server {}: {}", m_base, error), "--server");
  }
  const long status = answer->status;
  const std::string& out = answer->body;
  if (status == 200) {
    return out;
  }
  const std::string why = fmt::format("{} {} answered {}: {}", method, url, status, error_message(out));
  switch (status) {
  case 401:
  case 403: return fail(Errc::config, why + " (MP_API_KEY must be an admin key)", "MP_API_KEY");
  case 404: return fail(Errc::not_found, error_message(out));
  case 400: return fail(Errc::invalid, error_message(out));
  default: return fail(status >= 500 ? Errc::unavailable : Errc::invalid, why, "--server");
  }
}

void read_type_summary(const rapidjson::Value& v, TypeSummary& s) {
  s.keys = static_cast<std::uint64_t>(int_or(v, "keys", 0));
  s.bytes = static_cast<std::uint64_t>(int_or(v, "bytes", 0));
  if (v.HasMember("ttl_s") && v["ttl_s"].IsObject()) {
    s.ttl_min = util::get_int(v["ttl_s"], "min");
    s.ttl_p50 = util::get_int(v["ttl_s"], "p50");
    s.ttl_max = util::get_int(v["ttl_s"], "max");
  }
}

Expected<CacheSummary> ServerBackend::stats() {
  auto doc = call_json("GET", "/api/admin/cache/stats", {});
  if (!doc) {
    return std::unexpected(doc.error());
  }
  CacheSummary out;
  out.source = "server";
  out.where = m_base;
  out.bytes_method = std::string(util::get_string(*doc, "bytes_method").value_or("stored"));
  read_type_summary(*doc, out.all);
  out.no_ttl_keys = static_cast<std::uint64_t>(int_or(*doc, "no_ttl_keys", 0));
  if (doc->HasMember("by_type") && (*doc)["by_type"].IsObject()) {
    for (const auto& m : (*doc)["by_type"].GetObject()) {
      read_type_summary(m.value, out.by_type[m.name.GetString()]);
    }
  }
  if (doc->HasMember("counters") && (*doc)["counters"].IsObject()) {
    for (const auto& m : (*doc)["counters"].GetObject()) {
      if (m.value.IsInt64()) {
        out.counters[m.name.GetString()] = m.value.GetInt64();
      }
    }
  }
  return out;
}

Expected<void> ServerBackend::list(const KeyFilter& filter, const std::function<bool(const KeyInfo&)>& fn) {
  auto body = call("GET", "/api/admin/cache/keys" + query_of(filter), {});
  if (!body) {
    return std::unexpected(body.error());
  }
  bool more = true;
  return for_each_line(*body, [&](const rapidjson::Value& v) {
    if (!more) {
      return;
    }
    KeyInfo k;
    k.key = std::string(util::get_string(v, "key").value_or(""));
    k.type = std::string(util::get_string(v, "type").value_or(""));
    k.bytes = int_or(v, "bytes", 0);
    k.ttl_s = int_or(v, "ttl_s", -1);
    k.age_s = util::get_int(v, "age_s");
    more = fn(k);
  });
}

Expected<std::uint64_t> ServerBackend::del(const std::vector<std::string>& keys) {
  std::uint64_t deleted = 0;
  for (const auto& k : keys) {
    auto r = call("DELETE", "/api/admin/cache/keys/" + url_encode(k), {});
    if (r) {
      deleted += 1;
    } else if (r.error().code != Errc::not_found) {
      return std::unexpected(r.error());
    }
  }
  return deleted;
}

Expected<FlushOutcome> ServerBackend::flush(const KeyFilter& filter, bool dry_run, const Progress& progress) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  if (!filter.type.empty()) {
    util::write_kv(w, "type", filter.type);
  }
  if (filter.older_than_s) {
    util::write_key(w, "older_than");
    w.Int64(*filter.older_than_s);
  }
  util::write_key(w, "dry_run");
  w.Bool(dry_run);
  w.EndObject();
  auto doc = call_json("POST", "/api/admin/cache/flush", std::string(buf.GetString(), buf.GetSize()));
  if (!doc) {
    return std::unexpected(doc.error());
  }
  FlushOutcome out;
  out.scanned = static_cast<std::uint64_t>(int_or(*doc, "scanned", 0));
  out.matched = static_cast<std::uint64_t>(int_or(*doc, "matched", 0));
  out.deleted = static_cast<std::uint64_t>(int_or(*doc, "deleted", 0));
  if (progress) {
    progress(out.scanned, out.deleted);
  }
  return out;
}

Expected<void> ServerBackend::export_entries(const KeyFilter& filter,
                                             const std::function<void(const CacheEntry&)>& fn,
                                             const std::function<void(const std::string&)>& /*bad*/) {
  auto body = call("GET", "/api/admin/cache/export" + query_of(filter), {});
  if (!body) {
    return std::unexpected(body.error());
  }
  return for_each_line(*body, [&](const rapidjson::Value& v) {
    if (!v.HasMember("value")) {
      return;
    }
    fn(CacheEntry{std::string(util::get_string(v, "key").value_or("")), int_or(v, "ttl_s", -1),
                  util::to_json(v["value"])});
  });
}

Expected<ImportOutcome> ServerBackend::import_entries(const std::vector<CacheEntry>& entries,
                                                      std::optional<std::chrono::seconds> ttl, bool replace) {
  // Bodies stay well under the server's default body limit (server.max_body_bytes, 1 MiB).
  constexpr std::size_t k_max_body = 256u << 10;
  std::string query = replace ? "?replace=true" : "?replace=false";
  if (ttl) {
    query += fmt::format("&ttl={}", ttl->count());
  }
  ImportOutcome out;
  std::string body;
  auto send = [&]() -> Expected<void> {
    auto doc = call_json("POST", "/api/admin/cache/import" + query, body);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    out.imported += static_cast<std::uint64_t>(int_or(*doc, "imported", 0));
    out.existing += static_cast<std::uint64_t>(int_or(*doc, "existing", 0));
    body.clear();
    return {};
  };
  for (const auto& e : entries) {
    body +=
        fmt::format(R"({{"key":{},"ttl_s":{},"value":{}}})", util::json_quote(e.key), e.ttl_s, e.value_json);
    body += '\n';
    if (body.size() >= k_max_body) {
      if (auto ok = send(); !ok) {
        return std::unexpected(ok.error());
      }
    }
  }
  if (!body.empty()) {
    if (auto ok = send(); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return out;
}

} // namespace

std::unique_ptr<CacheBackend> open_server_backend(std::string base_url, std::string api_key) {
  return std::make_unique<ServerBackend>(std::move(base_url), std::move(api_key));
}

} // namespace mp::tools
