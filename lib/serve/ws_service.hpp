#pragma once
// mp-serve's WebSocket push: accepting connections (auth, limits, initial topics and
// resume), the client ops, admin broadcasts, the pipeline's events, and the metrics.
// The protocol is in ARCHITECTURE.md and mp-serve(1); topics and history in push/hub.hpp.

#include "auth/keys.hpp"
#include "config/config.hpp"
#include "metrics/registry.hpp"
#include "net/http.hpp"
#include "net/websocket.hpp"
#include "push/hub.hpp"
#include "push/redis_fanout.hpp"
#include "redis/url.hpp"
#include "serve/ai_request.hpp"
#include "util/json.hpp"

#include <map>
#include <memory>
#include <mutex>

namespace mp::serve {

class WsService final : public net::WsHandler {
public:
  WsService(const config::Config& cfg, const auth::KeyStore& keys, metrics::Registry& registry,
            net::HttpServer& server, const util::Clock& clock);

  /// Answers an upgrade request: 101 with the connection's state, or a JSON error.
  net::Response accept(const net::Request& req, bool draining);
  /// Where a publish went; nullopt when it was refused (the Redis queue is full).
  using PublishDone = std::function<void(std::optional<push::Published>)>;

  /// From now on topics are shared with every instance on this Redis (push/redis_fanout.hpp),
  /// with mp_ws_redis_* metrics. Call once, before the server runs.
  void use_redis(const redis::RedisUrl& url, const config::RedisConfig& rc);
  /// POST /api/ws/broadcast: a validation error, or nullopt when it is published and
  /// `done` will be called (on any thread) with where it went.
  std::optional<ApiError> broadcast(std::string_view body, PublishDone done);
  /// Publishes a pipeline result as `email_processed`.
  void publish_record(const std::string& record_json, const std::string& owner, int priority);
  /// Publishes an internal event (alerts, metrics) to a public topic.
  void publish(const std::string& topic, const std::string& type, const std::string& data_json,
               int priority) {
    publish_event(topic, type, data_json, priority, {});
  }
  [[nodiscard]] std::int64_t open_connections() const { return m_counters.open.load(); }
  void write_summary(util::JsonWriter& w) const;

  void on_open(net::WsConnection& c) override;
  void on_text(net::WsConnection& c, std::string_view text) override;
  void on_close(net::WsConnection& c, std::string_view reason) override;

  /// A connection's state. It holds the connection's place in the per-user and total
  /// limits from the moment it is accepted until it is gone, upgrade failures included.
  struct Client {
    Client(WsService& s, std::string user) : service(s), user_id(std::move(user)) {}
    ~Client() { service.release(user_id); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    WsService& service;
    std::string user_id;
    std::vector<std::string> topics; ///< to subscribe on open
    std::vector<std::pair<std::string, push::Position>> since;
  };

private:
  /// Through Redis when it is in use, else straight to the hub (`done` then runs here).
  void publish_event(std::string topic, std::string_view type, std::string_view data_json, int priority,
                     PublishDone done);
  void send_json(net::WsConnection& c, const std::string& json);
  void send_error(net::WsConnection& c, std::string_view code, std::string_view message, std::string_view op,
                  std::string_view topic, const std::string& ref_json);
  /// Checks a topic for `user`: empty when allowed, else the error code.
  std::string_view topic_refusal(std::string_view topic, std::string_view user) const;
  void release(const std::string& user);

  const config::WebsocketConfig m_cfg;
  const auth::KeyStore& m_keys;
  net::WsCounters m_counters;
  net::WsOptions m_options;
  push::Hub m_hub;
  metrics::Registry& m_registry;
  std::unique_ptr<push::RedisFanout> m_fanout; ///< after m_hub: stopped and gone before it
  mutable std::mutex m_users_mutex;
  std::map<std::string, std::int64_t, std::less<>> m_per_user;
  std::int64_t m_total = 0; ///< accepted and not yet closed; under m_users_mutex
  metrics::Family<metrics::Counter>& m_disconnects;
  metrics::Family<metrics::Counter>& m_rejected;
  metrics::Counter& m_published;
};

} // namespace mp::serve
