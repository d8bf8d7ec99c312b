#pragma once
// mp-serve's HTTP front: configuration into a running server, authentication, routing,
// request metrics, and the core endpoints (health, readiness, metrics).

#include "ai/pipeline.hpp"
#include "auth/keys.hpp"
#include "config/config.hpp"
#include "metrics/registry.hpp"
#include "net/http.hpp"
#include "redis/client.hpp"
#include "serve/router.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace mp::redis {
class Subscriber;
}

namespace mp::serve {

class Service;
class WsService;
class MonitorService;
class RedisHealth;

/// Answers one routed request and records its status and latency. Copyable; the first
/// send() wins. Thread-safe.
class Reply {
public:
  void send(net::Response r) const;
  void json(std::string body, int status = 200) const { send(net::Response::json(std::move(body), status)); }
  void error(int status, std::string_view code, std::string_view message, std::string_view field = {}) const {
    send(net::Response::error(status, code, message, field));
  }

private:
  friend class Service;
  class WsService;
  class MonitorService;
  Reply(Service* s, net::Responder r, std::uint32_t route, std::uint32_t method)
      : m_service(s), m_responder(std::move(r)), m_route(route), m_method(method),
        m_start(std::chrono::steady_clock::now()) {}
  Service* m_service;
  net::Responder m_responder;
  std::uint32_t m_route;
  std::uint32_t m_method;
  std::chrono::steady_clock::time_point m_start;
};

/// Everything a route handler gets.
struct Call {
  const net::Request& request;
  const Params& params;
  const auth::Principal& principal;
  Reply reply;
};

using RouteHandler = std::function<void(Call&)>;

class Service {
public:
  /// Builds the service from a validated config: keys, limits, routes. Errc::config
  /// when keys are unreadable, or when a non-loopback host has no keys and not
  /// `server.insecure`.
  static Expected<std::unique_ptr<Service>> create(const config::Config& cfg);
  ~Service();

  /// Registers a route. Must be called before run().
  void route(std::string method, std::string pattern, Access access, RouteHandler handler);

  Expected<void> listen();
  [[nodiscard]] std::uint16_t port() const { return m_server->port(); }
  /// Serves until SIGTERM/SIGINT or stop(); returns after the drain.
  void run();
  void stop() { m_server->stop(); }

  [[nodiscard]] metrics::Registry& registry() { return m_registry; }
  [[nodiscard]] const config::Config& config() const { return m_config; }
  [[nodiscard]] bool draining() const { return m_server->draining(); }
  [[nodiscard]] bool open_mode() const { return m_keys.empty(); }
  /// Seconds since the service was created.
  [[nodiscard]] double uptime_seconds() const;
  /// All requests' latency merged, for the JSON summary.
  [[nodiscard]] util::Histogram latency_all() const;
  [[nodiscard]] std::uint64_t requests_total() const { return m_requests_total.load(); }
  [[nodiscard]] std::uint64_t server_errors_total() const { return m_server_errors.load(); }
  [[nodiscard]] std::size_t active_connections() const { return m_server->active_connections(); }
  [[nodiscard]] ai::Pipeline& pipeline() { return *m_pipeline; }
  /// Redis mode: the pool every shared-state user takes connections from; null when embedded.
  [[nodiscard]] const std::shared_ptr<redis::Pool>& redis_pool() const { return m_redis; }
  /// Redis mode and Redis answering its pings.
  [[nodiscard]] bool redis_up() const;
  [[nodiscard]] const WsService& websocket() const { return *m_ws; }
  /// The performance monitor; null when monitoring.enabled is false.
  [[nodiscard]] MonitorService* monitor() { return m_monitor.get(); }

private:
  friend class Reply;
  explicit Service(const config::Config& cfg);
  void handle(const net::Request& req, net::Responder responder);
  void record(std::uint32_t route, std::uint32_t method, int status, std::chrono::nanoseconds took);
  void add_core_routes();
  void add_ai_routes();
  void add_ws_routes();
  Expected<void> add_monitor_routes();
  void write_ai_summary(util::JsonWriter& w) const;
  Expected<void> build_pipeline();
  /// One request queue for every instance, in Redis (redis_queue.hpp).
  void add_shared_queue(std::chrono::seconds record_ttl);
  void register_metrics();

  struct Series {
    metrics::Counter* count = nullptr;
    metrics::Histogram* latency = nullptr;
  };
  /// Lock-free lookup of a matched route's series by status (the hot path); unmatched
  /// requests go through the locked map.
  struct RouteSeries {
    std::array<std::atomic<const Series*>, 500> by_status{};
  };
  const Series& series_for(std::uint32_t route, std::uint32_t method, int status);

  config::Config m_config;
  auth::KeyStore m_keys;
  Router m_router;
  std::vector<RouteHandler> m_handlers;
  metrics::Registry m_registry;
  std::shared_ptr<redis::Pool> m_redis; ///< Redis mode only; outlives everything that uses it
  std::unique_ptr<RedisHealth> m_redis_health;
  std::unique_ptr<ai::Pipeline> m_pipeline; ///< before m_server: destroyed after it
  /// Redis mode: drops from the L1 what mp-cache deleted (calls into the pipeline's cache).
  std::unique_ptr<redis::Subscriber> m_cache_invalidations;
  std::unique_ptr<WsService> m_ws;           ///< likewise: connections call it until the end
  std::unique_ptr<MonitorService> m_monitor; ///< stopped after the server: it reads everything above
  std::unique_ptr<net::HttpServer> m_server;
  std::chrono::steady_clock::time_point m_started;
  double m_start_unix = 0;

  metrics::Family<metrics::Counter>* m_requests = nullptr;
  metrics::Family<metrics::Histogram>* m_latency = nullptr;
  metrics::Family<metrics::Counter>* m_protocol_errors = nullptr;
  metrics::Family<metrics::Counter>* m_auth_failures = nullptr;
  std::vector<std::unique_ptr<RouteSeries>> m_route_series; ///< index: route
  std::mutex m_series_mutex;
  std::unordered_map<std::uint32_t, std::unique_ptr<Series>> m_series;
  util::AtomicHistogram m_latency_all;
  std::atomic<std::uint64_t> m_requests_total{0};
  std::atomic<std::uint64_t> m_server_errors{0};
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(std::string_view host);

} // namespace mp::serve
