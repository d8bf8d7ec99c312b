// The AI endpoints: process, batch, request status (long-poll), cancel.

#include "serve/ai_request.hpp"
#include "serve/service.hpp"
#include "util/json.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>

#include <charconv>
#include <unordered_map>

namespace mp::serve {

namespace {

net::Response api_error(const ApiError& e) {
  return net::Response::error(e.status, e.code, e.message, e.field);
}

/// The HTTP status a record answers with: 200 final and fine, 202 still running,
/// 502 when its upstream failed.
int record_status(const ai::RecordView& v) {
  if (!ai::is_final(v.status)) {
    return 202;
  }
  return v.status == ai::Status::failed ? 502 : 200;
}

net::Response shared_unavailable() {
  return net::Response::error(503, "unavailable",
                              "the shared request store (Redis) cannot be reached; retry shortly");
}

net::Response record_response(const ai::RecordView& v) {
  if (v.unavailable) {
    return shared_unavailable();
  }
  net::Response r = net::Response::json(v.to_json(), record_status(v));
  if (r.status == 202) {
    r.headers.emplace_back("Location", "/api/ai/requests/" + v.id);
  }
  return r;
}

net::Response queue_full(const ai::QueueFull& q) {
  net::Response r = net::Response::error(429, "queue_full",
                                         fmt::format("the {} queue is full; retry in {} s",
                                                     ai::priority_name(q.priority), q.retry_after.count()));
  r.headers.emplace_back("Retry-After", std::to_string(q.retry_after.count()));
  return r;
}

std::optional<std::chrono::milliseconds> wait_param(const net::Request& req, std::int64_t cap,
                                                    ApiError& err) {
  auto w = req.query_param("wait_ms");
  if (!w) {
    return std::chrono::milliseconds(0);
  }
  std::int64_t v = -1;
  auto [end, ec] = std::from_chars(w->data(), w->data() + w->size(), v);
  if (ec != std::errc{} || end != w->data() + w->size() || v < 0 || v > cap) {
    err = ApiError{400, "invalid_request", fmt::format("wait_ms must be an integer from 0 to {}", cap),
                   "wait_ms"};
    return std::nullopt;
  }
  return std::chrono::milliseconds(v);
}

bool may_see(const auth::Principal& who, const ai::RecordView& v) {
  return who.is_admin() || v.owner == who.user_id;
}

/// Splits a batch body into request objects: a JSON array, or NDJSON lines.
std::expected<std::vector<rapidjson::Document>, ApiError> batch_items(const std::string& body, bool ndjson,
                                                                      std::size_t max_items) {
  std::vector<rapidjson::Document> items;
  auto too_many = [&] {
    return std::unexpected(
        ApiError{413, "too_many_items", fmt::format("a batch holds at most {} requests", max_items), "body"});
  };
  if (!ndjson) {
    auto doc = util::parse_json(body);
    if (!doc) {
      return std::unexpected(ApiError{400, "invalid_json", doc.error().message, "body"});
    }
    if (!doc->IsArray()) {
      return std::unexpected(ApiError{400, "invalid_request", "a batch is a JSON array of requests", "body"});
    }
    if (doc->Size() > max_items) {
      return too_many();
    }
    for (auto& v : doc->GetArray()) {
      rapidjson::Document d;
      d.CopyFrom(v, d.GetAllocator());
      items.push_back(std::move(d));
    }
    return items;
  }
  std::size_t start = 0;
  for (int line = 1; start < body.size(); ++line) {
    auto end = body.find('\n', start);
    std::string_view text(body.data() + start, (end == std::string::npos ? body.size() : end) - start);
    start = end == std::string::npos ? body.size() : end + 1;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    }
    auto doc = util::parse_json(text);
    if (!doc) {
      return std::unexpected(
          ApiError{400, "invalid_json", fmt::format("line {}: {}", line, doc.error().message), "body"});
    }
    if (items.size() == max_items) {
      return too_many();
    }
    items.push_back(std::move(*doc));
  }
  return items;
}

// Clients resend identical requests (that is what makes them cache hits). The same body
// from the same caller always parses to the same submission and key, so each I/O thread
// remembers the last ones it saw: a repeat skips JSON parsing, validation, normalising
// and SHA-256, a fifth of a cache hit's cost (bench/RESULTS.md). Small bodies only, a
// bounded number of them, compared byte for byte (the hash only finds the candidate).
class RequestMemo {
public:
  struct Entry {
    std::string body;
    std::string caller;
    ParsedRequest parsed;
    ai::CacheKey key;
  };

  static RequestMemo& for_this_thread() {
    thread_local RequestMemo memo;
    return memo;
  }

  const Entry* find(std::string_view body, const std::string& caller) {
    auto it = m_entries.find(hash(body, caller));
    if (it != m_entries.end() && it->second.body == body && it->second.caller == caller) {
      return &it->second;
    }
    return nullptr;
  }

  void store(Entry e) {
    if (e.body.size() > k_max_body) {
      return;
    }
    if (m_entries.size() >= k_max_entries) {
      m_entries.clear(); // crude, bounded, and cheap: the hot requests come back at once
    }
    const std::uint64_t h = hash(e.body, e.caller);
    m_entries.insert_or_assign(h, std::move(e));
  }

private:
  static constexpr std::size_t k_max_body = 8 * 1024;
  static constexpr std::size_t k_max_entries = 1024;

  static std::uint64_t hash(std::string_view body, const std::string& caller) {
    return std::hash<std::string_view>{}(body) ^ (std::hash<std::string>{}(caller)*0x9e3779b97f4a7c15ull);
  }

  std::unordered_map<std::uint64_t, Entry> m_entries;
};

std::string caller_id(const auth::Principal& who) {
  return (who.is_admin() ? "A:" : "U:") + who.user_id;
}

} // namespace

void Service::add_ai_routes() {
  const RequestLimits limits{m_config.ai_processing.max_wait_ms};

  route("POST", "/api/ai/process", Access::user, [this, limits](Call& c) {
    if (auto e = check_content_type(c.request.header("Content-Type"), false)) {
      c.reply.send(api_error(*e));
      return;
    }
    auto& memo = RequestMemo::for_this_thread();
    const std::string caller = caller_id(c.principal);
    std::optional<ParsedRequest> parsed;
    ai::CacheKey key;
    if (const auto* seen = memo.find(c.request.body(), caller)) {
      if (auto hit = m_pipeline->submit_cached(seen->parsed.submission, seen->key)) {
        c.reply.send(record_response(*hit));
        return;
      }
      parsed = seen->parsed;
      key = seen->key;
    } else {
      auto doc = util::parse_json_scratch(c.request.body());
      if (!doc) {
        c.reply.send(api_error({400, "invalid_json", doc.error().message, "body"}));
        return;
      }
      auto p = parse_ai_request(**doc, c.principal, limits);
      if (!p) {
        c.reply.send(api_error(p.error()));
        return;
      }
      key = m_pipeline->key_for(p->submission);
      memo.store(RequestMemo::Entry{c.request.body(), caller, *p, key});
      parsed = std::move(*p);
    }
    auto rec = m_pipeline->submit(std::move(parsed->submission), &key);
    if (!rec) {
      c.reply.send(queue_full(rec.error()));
      return;
    }
    if (ai::is_final(rec->status) || (parsed->wait.count() == 0 && !rec->pending)) {
      c.reply.send(record_response(*rec));
      return;
    }
    m_pipeline->wait(rec->id, parsed->wait,
                     [reply = c.reply](std::optional<ai::RecordView> v) { reply.send(record_response(*v)); });
  });

  route("POST", "/api/ai/batch", Access::user, [this, limits](Call& c) {
    const auto content_type = c.request.header("Content-Type");
    if (auto e = check_content_type(content_type, true)) {
      c.reply.send(api_error(*e));
      return;
    }
    const bool ndjson = content_type.find("ndjson") != std::string_view::npos;
    auto items =
        batch_items(c.request.body(), ndjson, static_cast<std::size_t>(m_config.ai_processing.max_batch));
    if (!items) {
      c.reply.send(api_error(items.error()));
      return;
    }
    ApiError err;
    auto wait = wait_param(c.request, limits.max_wait_ms, err);
    if (!wait) {
      c.reply.send(api_error(err));
      return;
    }
    struct Batch {
      Batch(std::size_t n, Reply r) : parts(n), reply(std::move(r)) {}
      std::mutex mutex;
      std::vector<std::string> parts; ///< JSON of each item's outcome
      std::size_t pending = 0;
      std::size_t accepted = 0;
      Reply reply;
      void finish() {
        std::string body =
            fmt::format(R"({{"accepted":{},"rejected":{},"results":[)", accepted, parts.size() - accepted);
        for (std::size_t i = 0; i < parts.size(); ++i) {
          body += i ? "," : "";
          body += parts[i];
        }
        body += "]}";
        reply.json(std::move(body));
      }
    };
    auto batch = std::make_shared<Batch>(items->size(), c.reply);
    std::vector<std::pair<std::size_t, std::string>> to_wait;
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto parsed = parse_ai_request((*items)[i], c.principal, limits);
      if (!parsed) {
        const auto& e = parsed.error();
        batch->parts[i] =
            fmt::format(R"({{"index":{},"error":{{"code":{},"message":{},"field":{}}}}})", i,
                        util::json_quote(e.code), util::json_quote(e.message), util::json_quote(e.field));
        continue;
      }
      auto rec = m_pipeline->submit(std::move(parsed->submission));
      if (!rec) {
        batch->parts[i] =
            fmt::format(R"({{"index":{},"error":{{"code":"queue_full","message":"retry in {} s"}}}})", i,
                        rec.error().retry_after.count());
        continue;
      }
      ++batch->accepted;
      batch->parts[i] = rec->to_json();
      if (!ai::is_final(rec->status) && (wait->count() > 0 || rec->pending)) {
        to_wait.emplace_back(i, rec->id);
      }
    }
    if (to_wait.empty()) {
      batch->finish();
      return;
    }
    batch->pending = to_wait.size();
    for (auto& [index, id] : to_wait) {
      m_pipeline->wait(id, *wait, [batch, index = index](std::optional<ai::RecordView> v) {
        std::lock_guard lock(batch->mutex);
        if (v && !v->unavailable) {
          batch->parts[index] = v->to_json();
        }
        if (--batch->pending == 0) {
          batch->finish();
        }
      });
    }
  });

  route("GET", "/api/ai/requests/{id}", Access::user, [this, limits](Call& c) {
    ApiError err;
    auto wait = wait_param(c.request, limits.max_wait_ms, err);
    if (!wait) {
      c.reply.send(api_error(err));
      return;
    }
    const std::string id = c.params.at("id");
    auto rec = m_pipeline->get(id);
    if (!rec && m_pipeline->shared()) {
      // Another instance holds it (or none): the shared store answers, and wakes the wait.
      m_pipeline->wait(id, *wait, [reply = c.reply, who = c.principal, id](std::optional<ai::RecordView> v) {
        if (v && v->unavailable) {
          reply.send(shared_unavailable());
        } else if (!v || !may_see(who, *v)) {
          reply.error(404, "not_found", fmt::format("no request {} (unknown, expired, or not yours)", id));
        } else {
          reply.send(net::Response::json(v->to_json(), 200));
        }
      });
      return;
    }
    if (!rec || !may_see(c.principal, *rec)) {
      c.reply.error(404, "not_found", fmt::format("no request {} (unknown, expired, or not yours)", id));
      return;
    }
    auto answer = [reply = c.reply](std::optional<ai::RecordView> v) {
      if (!v) {
        reply.error(404, "not_found", "the request expired");
        return;
      }
      if (v->unavailable) {
        reply.send(shared_unavailable());
        return;
      }
      net::Response r = net::Response::json(v->to_json(), 200);
      reply.send(std::move(r));
    };
    m_pipeline->wait(id, *wait, answer);
  });

  route("DELETE", "/api/ai/requests/{id}", Access::user, [this](Call& c) {
    const std::string id = c.params.at("id");
    auto rec = m_pipeline->get(id);
    if (!rec && m_pipeline->shared()) {
      m_pipeline->cancel_shared(
          id, c.principal.is_admin() ? std::string() : c.principal.user_id,
          [reply = c.reply, id](std::optional<std::pair<ai::Pipeline::CancelResult, ai::Status>> r) {
            if (!r) {
              reply.send(shared_unavailable());
            } else if (r->first == ai::Pipeline::CancelResult::cancelled) {
              reply.json(fmt::format(R"({{"request_id":{},"status":"cancelled"}})", util::json_quote(id)));
            } else if (r->first == ai::Pipeline::CancelResult::too_late) {
              reply.error(409, "conflict",
                          fmt::format("request {} is {}: only queued requests can be cancelled", id,
                                      ai::status_name(r->second)));
            } else {
              reply.error(404, "not_found",
                          fmt::format("no request {} (unknown, expired, or not yours)", id));
            }
          });
      return;
    }
    if (!rec || !may_see(c.principal, *rec)) {
      c.reply.error(404, "not_found", fmt::format("no request {} (unknown, expired, or not yours)", id));
      return;
    }
    switch (m_pipeline->cancel(id)) {
    case ai::Pipeline::CancelResult::cancelled:
      c.reply.json(fmt::format(R"({{"request_id":{},"status":"cancelled"}})", util::json_quote(id)));
      return;
    case ai::Pipeline::CancelResult::not_found:
      c.reply.error(404, "not_found", fmt::format("no request {}", id));
      return;
    case ai::Pipeline::CancelResult::too_late:
      c.reply.error(409, "conflict",
                    fmt::format("request {} is {}: only queued requests can be cancelled", id,
                                ai::status_name(m_pipeline->get(id).value_or(*rec).status)));
      return;
    }
  });
}

} // namespace mp::serve
