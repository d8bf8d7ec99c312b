// WebSocket push in mp-serve: the upgrade routes, client ops, broadcasts, metrics.

#include "serve/service.hpp"
#include "serve/ws_service.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>

namespace mp::serve {

namespace {

net::Response refuse(int status, std::string_view code, std::string_view message,
                     std::string_view field = {}) {
  return net::Response::error(status, code, message, field);
}

std::optional<std::string> decoded_param(const net::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  if (!v) {
    return std::nullopt;
  }
  return util::percent_decode(*v).value_or(std::string(*v));
}

/// A comma-separated list; nullopt when an item is empty ("a,,b", "a,").
std::optional<std::vector<std::string>> split_list(std::string_view s) {
  std::vector<std::string> out;
  if (util::trim(s).empty()) {
    return out;
  }
  for (;;) {
    const auto comma = s.find(',');
    auto item = util::trim(s.substr(0, comma));
    if (item.empty()) {
      return std::nullopt;
    }
    out.emplace_back(item);
    if (comma == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(comma + 1);
  }
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& t : items) {
    out += out.size() > 1 ? "," : "";
    out += util::json_quote(t);
  }
  out += ']';
  return out;
}

} // namespace

WsService::WsService(const config::Config& cfg, const auth::KeyStore& keys, metrics::Registry& registry,
                     net::HttpServer& server, const util::Clock& clock)
    : m_cfg(cfg.websocket), m_keys(keys),
      m_hub(
          push::HubOptions{static_cast<std::size_t>(cfg.websocket.history_size),
                           std::chrono::seconds(cfg.websocket.history_max_age_seconds), 100'000,
                           static_cast<std::size_t>(cfg.websocket.max_connections_per_pool)},
          server.threads(),
          [&server](unsigned t, std::function<void()> fn) { server.post(t, std::move(fn)); }, clock),
      m_registry(registry),
      m_disconnects(
          registry.counter("mp_ws_disconnects_total", "WebSocket connections ended, by reason", {"reason"})),
      m_rejected(
          registry.counter("mp_ws_rejected_total", "WebSocket upgrades refused, by reason", {"reason"})),
      m_published(
          registry.counter("mp_ws_published_total", "Events published to WebSocket topics").with({})) {
  m_options.max_message_bytes = static_cast<std::size_t>(m_cfg.max_message_bytes);
  m_options.queue_max_bytes = static_cast<std::size_t>(m_cfg.send_queue_max_bytes);
  m_options.queue_max_messages = static_cast<std::size_t>(m_cfg.send_queue_max_messages);
  m_options.batch_size = static_cast<std::size_t>(m_cfg.broadcast_batch_size);
  m_options.slow_consumer = std::chrono::milliseconds(m_cfg.slow_consumer_ms);
  m_options.ping_interval = std::chrono::seconds(m_cfg.ping_interval_seconds);
  m_options.ping_timeout = std::chrono::seconds(m_cfg.ping_timeout_seconds);
  m_options.inbound_per_second = m_cfg.max_inbound_per_second;
  m_options.counters = &m_counters;
  m_counters.delivery =
      &registry
           .histogram("mp_ws_delivery_seconds",
                      "Time from an event's publication to its write to a subscriber's socket")
           .with({})
           .samples();
  auto& active = registry.gauge("mp_ws_connections", "Open WebSocket connections").with({});
  auto& connects = registry.counter("mp_ws_connects_total", "WebSocket connections opened").with({});
  auto& sent = registry.counter("mp_ws_messages_sent_total", "Frames written to WebSocket clients").with({});
  auto& dropped = registry
                      .counter("mp_ws_messages_dropped_total",
                               "Events dropped from full send queues (lowest priority first)")
                      .with({});
  auto& slow =
      registry
          .counter("mp_ws_slow_consumer_closes_total",
                   "Connections closed with 4000: send queue over its bound for websocket.slow_consumer_ms")
          .with({});
  auto& queued = registry.gauge("mp_ws_queued_bytes", "Bytes waiting in WebSocket send queues").with({});
  registry.on_collect([this, &active, &connects, &sent, &dropped, &slow, &queued] {
    active.set(static_cast<double>(m_counters.open.load()));
    connects.set(m_counters.opened.load());
    sent.set(m_counters.sent.load());
    dropped.set(m_counters.dropped.load());
    slow.set(m_counters.slow_closes.load());
    queued.set(static_cast<double>(m_counters.queued_bytes.load()));
  });
  // The fan-out's threads post to the I/O threads: they stop while the server still runs.
  server.on_drain([this] {
    if (m_fanout) {
      m_fanout->stop();
    }
  });
}

void WsService::use_redis(const redis::RedisUrl& url, const config::RedisConfig& rc) {
  push::FanoutOptions o;
  o.history_size = static_cast<std::size_t>(m_cfg.history_size);
  o.history_max_age = std::chrono::seconds(m_cfg.history_max_age_seconds);
  o.connect = redis::ConnectOptions{std::chrono::milliseconds(rc.connect_timeout_ms),
                                    std::chrono::milliseconds(rc.command_timeout_ms)};
  m_fanout = std::make_unique<push::RedisFanout>(m_hub, url, o);
  auto& r = m_registry;
  auto& published =
      r.counter("mp_ws_redis_published_total", "WebSocket events numbered and fanned out by Redis").with({});
  auto& received = r.counter("mp_ws_redis_received_total",
                             "WebSocket events received from Redis (every instance's, this one's too)")
                       .with({});
  auto& local = r.counter("mp_ws_redis_local_total",
                          "WebSocket events published on this instance only, under a local epoch, because "
                          "Redis failed")
                    .with({});
  auto& resumes =
      r.counter("mp_ws_redis_resumes_total", "WebSocket resumes answered from the Redis stream").with({});
  auto& errors = r.counter("mp_ws_redis_errors_total", "WebSocket fan-out failures, by operation", {"op"});
  auto& connected =
      r.gauge("mp_ws_redis_connected", "1 while the WebSocket fan-out's Redis subscription is live").with({});
  auto& queued =
      r.gauge("mp_ws_redis_queued", "WebSocket publishes and resumes waiting for the Redis thread").with({});
  std::vector<metrics::Counter*> by_op;
  by_op.reserve(push::FanoutCounters::k_error_ops.size());
  for (auto op : push::FanoutCounters::k_error_ops) {
    by_op.push_back(&errors.with({op}));
  }
  const push::FanoutCounters& c = m_fanout->counters();
  r.on_collect([&c, &published, &received, &local, &resumes, &connected, &queued, by_op] {
    published.set(c.published.load());
    received.set(c.received.load());
    local.set(c.local.load());
    resumes.set(c.resumes.load());
    connected.set(c.connected.load() ? 1 : 0);
    queued.set(static_cast<double>(c.queued.load()));
    for (std::size_t i = 0; i < by_op.size(); ++i) {
      by_op[i]->set(c.errors[i].load());
    }
  });
}

void WsService::publish_event(std::string topic, std::string_view type, std::string_view data_json,
                              int priority, PublishDone done) {
  m_published.inc();
  if (m_fanout) {
    m_fanout->publish(std::move(topic), type, data_json, priority, std::move(done));
    return;
  }
  auto p = m_hub.publish(topic, type, data_json, priority);
  if (done) {
    done(std::move(p));
  }
}

std::string_view WsService::topic_refusal(std::string_view topic, std::string_view user) const {
  if (!push::valid_topic(topic)) {
    return "invalid_topic";
  }
  if (auto owner = push::topic_owner(topic); owner && *owner != user) {
    return "forbidden_topic";
  }
  return {};
}

net::Response WsService::accept(const net::Request& req, bool draining) {
  auto reject = [this](std::string_view reason, net::Response r) {
    m_rejected.with({reason}).inc();
    return r;
  };
  if (!req.is_websocket_upgrade()) {
    net::Response r =
        refuse(426, "upgrade_required", "this endpoint speaks WebSocket: send a GET with Upgrade: websocket");
    r.headers.emplace_back("Upgrade", "websocket");
    return reject("bad_request", std::move(r));
  }
  if (draining) {
    return reject("draining", refuse(503, "unavailable", "the server is shutting down"));
  }
  // Browsers cannot set headers on a WebSocket: the key may come as ?token= as well.
  std::string token = decoded_param(req, "token").value_or("");
  if (token.empty()) {
    token = std::string(auth::KeyStore::bearer_token(req.header("Authorization")));
  }
  auth::Principal who;
  switch (m_keys.check(token, who)) {
  case auth::AuthResult::ok: break;
  case auth::AuthResult::missing:
    return reject("auth", refuse(401, "unauthorized",
                                 "missing API key: pass ?token=<key> or 'Authorization: Bearer <key>'"));
  case auth::AuthResult::invalid: return reject("auth", refuse(401, "unauthorized", "invalid API key"));
  }
  std::string user = who.user_id;
  if (auto asked = decoded_param(req, "user_id"); asked && !asked->empty()) {
    if (*asked != who.user_id && !who.is_admin()) {
      return reject("forbidden",
                    refuse(403, "forbidden", "user_id must be your own (the API key's user)", "user_id"));
    }
    user = *asked;
  }
  if (!push::valid_user_id(user)) {
    return reject("bad_request", refuse(400, "invalid_request",
                                        "user_id: 1-128 of letters, digits and _ . @ + -", "user_id"));
  }
  auto client = std::make_shared<Client>(*this, user);
  // The reservation is the client's: from here, every return releases it.
  {
    std::lock_guard lock(m_users_mutex);
    ++m_total;
    ++m_per_user[user];
  }
  auto topics = split_list(decoded_param(req, "topics").value_or(""));
  if (!topics) {
    return reject("bad_request", refuse(400, "invalid_topic", "topics: an empty name in the list", "topics"));
  }
  client->topics = std::move(*topics);
  auto positions = split_list(decoded_param(req, "since").value_or(""));
  if (!positions) {
    return reject("bad_request",
                  refuse(400, "invalid_request", "since: an empty position in the list", "since"));
  }
  for (const auto& entry : *positions) {
    const auto at = entry.rfind('@');
    auto pos =
        at == std::string::npos ? std::nullopt : push::parse_position(std::string_view(entry).substr(at + 1));
    if (!pos) {
      return reject("bad_request", refuse(400, "invalid_request",
                                          fmt::format("since: '{}' is not TOPIC@EPOCH:SEQ", entry), "since"));
    }
    std::string topic = entry.substr(0, at);
    if (std::find(client->topics.begin(), client->topics.end(), topic) == client->topics.end()) {
      client->topics.push_back(topic); // resuming a topic subscribes it
    }
    client->since.emplace_back(std::move(topic), std::move(*pos));
  }
  if (client->topics.size() > static_cast<std::size_t>(m_cfg.max_topics_per_connection)) {
    return reject("bad_request",
                  refuse(400, "invalid_request",
                         fmt::format("at most {} topics per connection", m_cfg.max_topics_per_connection),
                         "topics"));
  }
  for (const auto& t : client->topics) {
    const auto why = topic_refusal(t, user);
    if (why == "invalid_topic") {
      return reject("bad_request",
                    refuse(400, "invalid_topic", fmt::format("unknown topic '{}'", t), "topics"));
    }
    if (!why.empty()) {
      return reject("forbidden", refuse(403, "forbidden_topic",
                                        fmt::format("'{}' is another user's private topic", t), "topics"));
    }
  }
  {
    std::lock_guard lock(m_users_mutex);
    if (m_total > m_cfg.max_total_connections) {
      return reject("total_limit",
                    refuse(503, "unavailable",
                           fmt::format("at most {} WebSocket connections", m_cfg.max_total_connections)));
    }
    if (m_per_user[user] > m_cfg.max_connections_per_user) {
      return reject("user_limit", refuse(429, "too_many_connections",
                                         fmt::format("at most {} WebSocket connections per user",
                                                     m_cfg.max_connections_per_user)));
    }
  }
  // Not owned: the service outlives the server and every connection.
  std::shared_ptr<net::WsHandler> handler(std::shared_ptr<void>{}, this);
  return net::Response::upgrade(net::WsAccept{std::move(handler), m_options, std::move(client)});
}

void WsService::release(const std::string& user) {
  std::lock_guard lock(m_users_mutex);
  --m_total;
  if (auto it = m_per_user.find(user); it != m_per_user.end() && --it->second <= 0) {
    m_per_user.erase(it);
  }
}

// Replies and notices: never dropped, ahead of every event, in the order sent.
void WsService::send_json(net::WsConnection& c, const std::string& json) {
  c.send(net::make_ws_text(json, -1, false));
}

void WsService::send_error(net::WsConnection& c, std::string_view code, std::string_view message,
                           std::string_view op, std::string_view topic, const std::string& ref_json) {
  std::string json =
      R"({"type":"error","code":)" + util::json_quote(code) + R"(,"message":)" + util::json_quote(message);
  if (!op.empty()) {
    json += R"(,"op":)" + util::json_quote(op);
  }
  if (!topic.empty()) {
    json += R"(,"topic":)" + util::json_quote(topic);
  }
  if (!ref_json.empty()) {
    json += R"(,"ref":)" + ref_json;
  }
  json += '}';
  send_json(c, json);
}

void WsService::on_open(net::WsConnection& c) {
  auto& client = *static_cast<Client*>(c.context());
  // Subscribed before the welcome is written: a client that reacts to the welcome (by
  // publishing, say) must find its subscriptions in place.
  std::vector<net::WsFramePtr> replay;
  for (const auto& t : client.topics) {
    std::optional<push::Position> since;
    for (const auto& [topic, pos] : client.since) {
      if (topic == t) {
        since = pos;
      }
    }
    auto frames = m_hub.subscribe(c, t, since);
    replay.insert(replay.end(), frames.begin(), frames.end());
  }
  send_json(
      c, fmt::format(
             R"({{"type":"welcome","connection_id":"c{:x}","user_id":{},"topics":{},"ping_interval_ms":{}}})",
             c.id(), util::json_quote(client.user_id), quoted_list(client.topics),
             m_cfg.ping_interval_seconds * 1000));
  for (const auto& f : replay) {
    c.send(f);
  }
  client.topics.clear();
  client.since.clear();
}

void WsService::on_text(net::WsConnection& c, std::string_view text) {
  auto& client = *static_cast<Client*>(c.context());
  auto doc = util::parse_json_scratch(text);
  if (!doc) {
    send_error(c, "invalid_json", doc.error().message, "", "", "");
    return;
  }
  const rapidjson::Value& v = **doc;
  if (!v.IsObject()) {
    send_error(c, "invalid_request", "an op is a JSON object like {\"op\":\"ping\"}", "", "", "");
    return;
  }
  std::string ref;
  if (auto r = v.FindMember("ref"); r != v.MemberEnd()) {
    ref = util::to_json(r->value);
  }
  const auto op = util::get_string(v, "op");
  if (!op) {
    send_error(c, "invalid_request", "missing string field 'op' (subscribe, unsubscribe, ping)", "", "", ref);
    return;
  }
  if (*op == "ping") {
    send_json(c, fmt::format(R"({{"type":"pong"{}{},"ts":{:.6f}}})", ref.empty() ? "" : R"(,"ref":)", ref,
                             util::to_unix_seconds(std::chrono::system_clock::now())));
    return;
  }
  if (*op != "subscribe" && *op != "unsubscribe") {
    send_error(c, "unknown_op", fmt::format("unknown op '{}' (subscribe, unsubscribe, ping)", *op), *op, "",
               ref);
    return;
  }
  auto topics = v.FindMember("topics");
  if (topics == v.MemberEnd() || !topics->value.IsArray() || topics->value.Empty()) {
    send_error(c, "invalid_request", "'topics' must be a non-empty array of topic names", *op, "", ref);
    return;
  }
  const auto since_obj = v.FindMember("since");
  if (since_obj != v.MemberEnd() && !since_obj->value.IsObject()) {
    send_error(c, "invalid_request", "'since' must be an object of TOPIC: \"EPOCH:SEQ\"", *op, "", ref);
    return;
  }
  // Check every topic first: the acknowledgement names the ones taken and goes out
  // before any replay.
  std::vector<std::pair<std::string, std::optional<push::Position>>> accepted;
  std::size_t subscribed = m_hub.subscriptions(c);
  for (const auto& t : topics->value.GetArray()) {
    if (!t.IsString()) {
      send_error(c, "invalid_request", "topic names are strings", *op, "", ref);
      continue;
    }
    const std::string_view topic(t.GetString(), t.GetStringLength());
    if (*op == "unsubscribe") {
      if (m_hub.unsubscribe(c, topic)) {
        --subscribed;
      }
      accepted.emplace_back(topic, std::nullopt);
      continue;
    }
    if (const auto why = topic_refusal(topic, client.user_id); !why.empty()) {
      send_error(c, why,
                 why == "invalid_topic" ? fmt::format("unknown topic '{}'", topic)
                                        : fmt::format("'{}' is another user's private topic", topic),
                 *op, topic, ref);
      continue;
    }
    std::optional<push::Position> since;
    if (since_obj != v.MemberEnd()) {
      if (auto s = since_obj->value.FindMember(t); s != since_obj->value.MemberEnd()) {
        since = s->value.IsString() ? push::parse_position(s->value.GetString()) : std::nullopt;
        if (!since) {
          send_error(c, "invalid_request", "a since position is \"EPOCH:SEQ\"", *op, topic, ref);
          continue;
        }
      }
    }
    if (subscribed >= static_cast<std::size_t>(m_cfg.max_topics_per_connection)) {
      send_error(c, "too_many_topics",
                 fmt::format("at most {} topics per connection", m_cfg.max_topics_per_connection), *op, topic,
                 ref);
      continue;
    }
    ++subscribed;
    accepted.emplace_back(topic, std::move(since));
  }
  std::vector<std::string> names;
  names.reserve(accepted.size());
  for (const auto& [topic, since] : accepted) {
    names.push_back(topic);
  }
  send_json(c, fmt::format(R"({{"type":"{}","topics":{}{}{}}})",
                           *op == "subscribe" ? "subscribed" : "unsubscribed", quoted_list(names),
                           ref.empty() ? "" : R"(,"ref":)", ref));
  if (*op == "subscribe") {
    for (const auto& [topic, since] : accepted) {
      for (const auto& f : m_hub.subscribe(c, topic, since)) {
        c.send(f);
      }
    }
  }
}

void WsService::on_close(net::WsConnection& c, std::string_view reason) {
  m_hub.detach(c);
  m_disconnects.with({reason}).inc();
}

std::optional<ApiError> WsService::broadcast(std::string_view body, PublishDone done) {
  auto bad = [](std::string field, std::string message) {
    return std::optional(ApiError{400, "invalid_request", std::move(message), std::move(field)});
  };
  auto doc = util::parse_json_scratch(body);
  if (!doc) {
    return ApiError{400, "invalid_json", doc.error().message, "body"};
  }
  const rapidjson::Value& v = **doc;
  if (!v.IsObject()) {
    return bad("body", "a broadcast is a JSON object");
  }
  static constexpr std::array<std::string_view, 5> k_fields = {"topic", "user_id", "type", "data",
                                                               "priority"};
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    const std::string_view name(m->name.GetString(), m->name.GetStringLength());
    if (std::find(k_fields.begin(), k_fields.end(), name) == k_fields.end()) {
      return bad(std::string(name), fmt::format("unknown field '{}'", name));
    }
  }
  const auto topic = util::get_string(v, "topic");
  const auto user = util::get_string(v, "user_id");
  if (v.HasMember("topic") && !topic) {
    return bad("topic", "topic must be a string");
  }
  if (v.HasMember("user_id") && !user) {
    return bad("user_id", "user_id must be a string");
  }
  if (topic.has_value() == user.has_value()) {
    return bad("topic", "give exactly one of 'topic' and 'user_id'");
  }
  std::string target = topic ? std::string(*topic) : "user:" + std::string(*user);
  if (!push::valid_topic(target)) {
    return topic ? bad("topic", fmt::format("unknown topic '{}'", *topic))
                 : bad("user_id", "user_id: 1-128 of letters, digits and _ . @ + -");
  }
  const auto type = util::get_string(v, "type");
  if (!type || type->empty() || type->size() > 128) {
    return bad("type", "type must be a non-empty string (at most 128 characters)");
  }
  int priority = 2;
  if (v.HasMember("priority")) {
    auto p = util::get_string(v, "priority");
    auto parsed = p ? push::priority_from_name(*p) : std::nullopt;
    if (!parsed) {
      return bad("priority", "priority must be one of urgent, high, normal, low, background");
    }
    priority = *parsed;
  }
  const auto data = v.FindMember("data");
  const std::string data_json = data == v.MemberEnd() ? "{}" : util::to_json(data->value);
  publish_event(std::move(target), *type, data_json, priority, std::move(done));
  return std::nullopt;
}

void WsService::publish_record(const std::string& record_json, const std::string& owner, int priority) {
  publish_event("email_updates", "email_processed", record_json, priority, {});
  if (push::valid_user_id(owner)) {
    publish_event("user:" + owner, "email_processed", record_json, priority, {});
  }
}

void WsService::write_summary(util::JsonWriter& w) const {
  const auto delivery = m_counters.delivery ? m_counters.delivery->snapshot() : util::Histogram{};
  util::write_key(w, "websocket");
  w.StartObject();
  util::write_key(w, "active_websocket_connections");
  w.Int64(m_counters.open.load());
  util::write_key(w, "connects_total");
  w.Uint64(m_counters.opened.load());
  util::write_key(w, "messages_sent_total");
  w.Uint64(m_counters.sent.load());
  util::write_key(w, "messages_dropped_total");
  w.Uint64(m_counters.dropped.load());
  util::write_key(w, "slow_consumer_closes_total");
  w.Uint64(m_counters.slow_closes.load());
  util::write_key(w, "queued_bytes");
  w.Int64(m_counters.queued_bytes.load());
  util::write_key(w, "published_total");
  w.Uint64(m_hub.published_total());
  util::write_key(w, "delivery_p50_ms");
  w.Double(static_cast<double>(delivery.quantile_ns(0.50)) / 1e6);
  util::write_key(w, "delivery_p99_ms");
  w.Double(static_cast<double>(delivery.quantile_ns(0.99)) / 1e6);
  w.EndObject();
}

void Service::add_ws_routes() {
  auto upgrade = [this](Call& c) { c.reply.send(m_ws->accept(c.request, draining())); };
  route("GET", "/ws/optimized", Access::open, upgrade);
  route("GET", "/ws", Access::open, upgrade);
  route("POST", "/api/ws/broadcast", Access::admin, [this](Call& c) {
    if (auto e = check_content_type(c.request.header("Content-Type"), false)) {
      c.reply.error(e->status, e->code, e->message, e->field);
      return;
    }
    // Answered when the event is numbered: at once, or from the Redis thread.
    auto error = m_ws->broadcast(c.request.body(), [reply = c.reply](std::optional<push::Published> p) {
      if (!p) {
        reply.error(503, "unavailable", "too many WebSocket events waiting for Redis; retry later");
        return;
      }
      reply.json(fmt::format(R"({{"topic":{},"id":"{}:{}","epoch":"{}","seq":{},"subscribers":{}}})",
                             util::json_quote(p->topic), p->epoch, p->seq, p->epoch, p->seq, p->subscribers));
    });
    if (error) {
      c.reply.error(error->status, error->code, error->message, error->field);
    }
  });
  m_pipeline->on_final([this](const ai::RecordView& v) {
    m_ws->publish_record(v.to_json(), v.owner, static_cast<int>(v.priority));
  });
}

} // namespace mp::serve
