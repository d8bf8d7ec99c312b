#include "serve/service.hpp"
#include "ai/local_provider.hpp"
#include "ai/openai.hpp"
#include "redis/subscriber.hpp"
#include "serve/cache_routes.hpp"
#include "serve/monitor_service.hpp"
#include "serve/redis_queue.hpp"
#include "serve/redis_state.hpp"
#include "serve/ws_service.hpp"
#include "util/clock.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>
#include <fmt/format.h>

namespace mp::serve {

namespace {

constexpr std::array<std::string_view, 8> k_methods = {"GET",   "POST", "PUT",     "DELETE",
                                                       "PATCH", "HEAD", "OPTIONS", "other"};

std::uint32_t method_index(std::string_view m) {
  for (std::uint32_t i = 0; i + 1 < k_methods.size(); ++i) {
    if (k_methods[i] == m) {
      return i;
    }
  }
  return static_cast<std::uint32_t>(k_methods.size() - 1);
}

// Route indexes for requests that match no route; they share one label each so that
// scanners cannot grow the series count.
constexpr std::uint32_t k_route_unmatched = 0xfffe;
constexpr std::uint32_t k_route_unauthorized = 0xfffd;

} // namespace

bool is_loopback(std::string_view host) {
  if (host == "localhost") {
    return true;
  }
  const std::string h(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1) {
    return buf[0] == 127;
  }
  if (inet_pton(AF_INET6, h.c_str(), buf) == 1) {
    static constexpr unsigned char k_v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(buf, buf + 16, k_v6_loopback);
  }
  return false;
}

void Reply::send(net::Response r) const {
  const int status = r.status;
  m_responder.send(std::move(r));
  m_service->record(m_route, m_method, status, std::chrono::steady_clock::now() - m_start);
}

Service::Service(const config::Config& cfg)
    : m_config(cfg), m_started(std::chrono::steady_clock::now()),
      m_start_unix(util::to_unix_seconds(std::chrono::system_clock::now())) {
}

Service::~Service() {
  // What calls into the others goes first: the server's connections call everything, the
  // monitor reads everything, and the pipeline's workers (finishing their last attempts)
  // publish into the WebSocket hub, which the members' own order would destroy before them.
  m_server.reset();
  m_monitor.reset();
  m_cache_invalidations.reset();
  m_pipeline.reset();
}

Expected<std::unique_ptr<Service>> Service::create(const config::Config& cfg) {
  std::unique_ptr<Service> s(new Service(cfg));
  if (!cfg.auth.keys_file.empty()) {
    if (auto ok = s->m_keys.add_file(cfg.auth.keys_file); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = s->m_keys.add_list(cfg.auth.api_keys, "auth.api_keys"); !ok) {
    return std::unexpected(ok.error());
  }
  if (s->m_keys.empty() && !is_loopback(cfg.server.host) && !cfg.server.insecure) {
    return fail(Errc::config,
                fmt::format("refusing to serve {} with no API keys: configure auth.keys_file or "
                            "MP_API_KEYS, bind 127.0.0.1, or pass --insecure",
                            cfg.server.host),
                "server.host");
  }
  net::ServerOptions o;
  o.host = cfg.server.host;
  o.port = static_cast<std::uint16_t>(cfg.server.port);
  o.threads = static_cast<unsigned>(cfg.server.threads);
  o.max_body_bytes = static_cast<std::size_t>(cfg.server.max_body_bytes);
  o.max_header_bytes = static_cast<std::size_t>(cfg.server.max_header_bytes);
  o.read_timeout = std::chrono::milliseconds(cfg.server.read_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(cfg.server.idle_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(cfg.server.write_timeout_ms);
  o.max_pipelined = static_cast<std::size_t>(cfg.server.max_pipelined_requests);
  o.max_connections = static_cast<std::size_t>(cfg.server.max_connections);
  o.shutdown_timeout = std::chrono::milliseconds(cfg.server.shutdown_timeout_ms);
  auto* raw = s.get();
  s->m_server = std::make_unique<net::HttpServer>(
      std::move(o), [raw](const net::Request& req, net::Responder r) { raw->handle(req, std::move(r)); },
      [raw](int status) { raw->m_protocol_errors->with({std::to_string(status)}).inc(); });
  s->register_metrics();
  if (auto ok = s->build_pipeline(); !ok) {
    return std::unexpected(ok.error());
  }
  s->m_ws =
      std::make_unique<WsService>(cfg, s->m_keys, s->m_registry, *s->m_server, util::SystemClock::instance());
  if (s->m_redis) {
    s->m_ws->use_redis(s->m_redis->url(), cfg.redis); // topics shared by every instance
  }
  s->add_core_routes();
  s->add_ai_routes();
  s->add_ws_routes();
  add_cache_routes(*s);
  s->m_cache_invalidations = subscribe_cache_invalidations(*s);
  if (auto ok = s->add_monitor_routes(); !ok) {
    return std::unexpected(ok.error());
  }
  if (s->m_redis && cfg.redis.shared_queue) {
    // Last: its feeder claims work at once, which may complete before the first request
    // arrives and must find the event hook and the fan-out in place.
    s->add_shared_queue(std::chrono::seconds(cfg.ai_processing.records.ttl_seconds));
  }
  // On SIGTERM: answer every long-poll with what it has, stop starting attempts.
  s->m_server->on_drain([raw] { raw->m_pipeline->stop(); });
  return s;
}

void Service::route(std::string method, std::string pattern, Access access, RouteHandler handler) {
  m_router.add(std::move(method), std::move(pattern), access);
  m_handlers.push_back(std::move(handler));
  m_route_series.push_back(std::make_unique<RouteSeries>());
}

const Service::Series& Service::series_for(std::uint32_t route, std::uint32_t method, int status) {
  // A matched route has one method, except that HEAD shares GET's route: HEAD takes the
  // locked path so the two keep their own series.
  const bool fast =
      route < m_route_series.size() && status >= 100 && status < 600 && k_methods[method] != "HEAD";
  if (fast) {
    if (const Series* s = m_route_series[route]->by_status[static_cast<std::size_t>(status - 100)].load(
            std::memory_order_acquire)) {
      return *s;
    }
  }
  const std::uint32_t key = (route << 16) | (method << 12) | static_cast<std::uint32_t>(status & 0xfff);
  std::lock_guard lock(m_series_mutex);
  auto& slot = m_series[key];
  if (!slot) {
    const std::string route_label = route == k_route_unmatched      ? "unmatched"
                                    : route == k_route_unauthorized ? "unauthorized"
                                                                    : m_router.pattern(route);
    const std::string status_label = std::to_string(status);
    slot = std::make_unique<Series>();
    slot->count = &m_requests->with({route_label, k_methods[method], status_label});
    slot->latency = &m_latency->with({route_label, status_label});
  }
  if (fast) {
    m_route_series[route]->by_status[static_cast<std::size_t>(status - 100)].store(slot.get(),
                                                                                   std::memory_order_release);
  }
  return *slot;
}

bool Service::redis_up() const {
  return m_redis_health && m_redis_health->up();
}

Expected<void> Service::build_pipeline() {
  const auto& a = m_config.ai_processing;
  const auto& clock = util::SystemClock::instance();
  ai::PipelineConfig pc;
  pc.queue_capacity_per_level = static_cast<std::size_t>(a.queue.max_per_level);
  pc.aging = std::chrono::milliseconds(a.queue.aging_ms);
  pc.min_workers = static_cast<int>(std::min(a.min_workers, a.num_workers));
  pc.max_workers = static_cast<int>(a.num_workers);
  pc.cache_ttl = std::chrono::seconds(a.cache.ttl_seconds);
  pc.cache_max_bytes = static_cast<std::size_t>(a.cache.max_bytes);
  pc.zstd_level = static_cast<int>(a.cache.compression_level);
  pc.record_ttl = std::chrono::seconds(a.records.ttl_seconds);
  pc.max_records = static_cast<std::size_t>(a.records.max_entries);
  pc.prompt_version = a.prompt_version;
  pc.retry = ai::RetryPolicy{
      static_cast<int>(a.retry.max_attempts), std::chrono::milliseconds(a.retry.base_delay_ms),
      std::chrono::milliseconds(a.retry.max_delay_ms), std::chrono::milliseconds(a.retry.max_total_wait_ms)};
  pc.breaker_threshold = static_cast<int>(a.circuit_breaker.failure_threshold);
  pc.breaker_open = std::chrono::milliseconds(a.circuit_breaker.open_ms);
  std::unique_ptr<ai::Provider> provider;
  if (a.provider == "openai") {
    ai::OpenAiProvider::Options o;
    o.base_url = a.openai.base_url;
    if (const char* key = std::getenv("OPENAI_API_KEY")) {
      o.api_key = key;
    }
    o.timeout_ms = static_cast<long>(a.openai.timeout_ms);
    o.connect_timeout_ms = static_cast<long>(a.openai.connect_timeout_ms);
    o.models =
        ai::TypeModels{a.models.classification, a.models.summary, a.models.action_items, a.models.analysis};
    o.prices.clear();
    for (const auto& [model, price] : a.pricing.models) {
      o.prices[model] = ai::Price{price.input_per_million, price.output_per_million};
    }
    o.default_price = ai::Price{a.pricing.default_input_per_million, a.pricing.default_output_per_million};
    o.max_output_tokens = a.openai.max_output_tokens;
    o.temperature = a.openai.temperature < 0 ? std::nullopt : std::optional<double>(a.openai.temperature);
    o.prompt_version = a.prompt_version;
    pc.models = {a.models.classification, a.models.summary, a.models.action_items, a.models.analysis};
    if (o.api_key.empty()) {
      spdlog::warn("OPENAI_API_KEY is not set: calling {} without a key", o.base_url);
    }
    provider = std::make_unique<ai::OpenAiProvider>(std::move(o));
  } else {
    pc.models = {"local", "local", "local", "local"};
    provider = std::make_unique<ai::LocalProvider>(clock);
  }
  auto redis_url = redis::from_config(m_config);
  if (!redis_url) {
    return std::unexpected(redis_url.error());
  }
  if (*redis_url) {
    const auto& r = m_config.redis;
    m_redis =
        std::make_shared<redis::Pool>(**redis_url, static_cast<std::size_t>(r.pool_size),
                                      redis::ConnectOptions{std::chrono::milliseconds(r.connect_timeout_ms),
                                                            std::chrono::milliseconds(r.command_timeout_ms)});
    m_redis_health = std::make_unique<RedisHealth>(m_redis, m_registry);
  }
  auto cache = std::make_unique<ai::MemoryCache>(pc.cache_max_bytes, pc.zstd_level, clock);
  const ai::LimitConfig limits{a.rate_limiting.requests_per_minute, a.rate_limiting.requests_per_hour,
                               a.rate_limiting.cost_limit_per_hour,
                               std::chrono::milliseconds(a.rate_limiting.window_margin_ms)};
  std::unique_ptr<ai::Limiter> limiter;
  if (m_redis) {
    limiter = std::make_unique<RedisLimiter>(m_redis, limits, clock);
  } else {
    limiter = std::make_unique<ai::SlidingWindowLimiter>(limits, clock);
  }
  const int zstd_level = pc.zstd_level;
  m_pipeline = std::make_unique<ai::Pipeline>(std::move(pc), std::move(provider), std::move(cache),
                                              std::move(limiter), m_registry, clock);
  if (m_redis) {
    m_pipeline->set_shared_cache(std::make_unique<RedisCache>(m_redis, zstd_level));
    auto& l2 = m_registry.gauge("mp_ai_cache_l2_lookups", "L2 (Redis) lookups since start", {"result"});
    m_registry.on_collect([this, &l2] {
      const auto s = m_pipeline->l2_stats();
      l2.with({"hit"}).set(static_cast<double>(s.hits));
      l2.with({"miss"}).set(static_cast<double>(s.misses));
      l2.with({"error"}).set(static_cast<double>(s.errors));
      l2.with({"store"}).set(static_cast<double>(s.stores));
    });
  }
  return {};
}

void Service::add_shared_queue(std::chrono::seconds record_ttl) {
  const auto& r = m_config.redis;
  RedisQueueOptions o;
  o.visibility = std::chrono::milliseconds(r.visibility_timeout_ms);
  o.aging = std::chrono::milliseconds(m_config.ai_processing.queue.aging_ms);
  o.record_ttl = record_ttl;
  o.connect = redis::ConnectOptions{std::chrono::milliseconds(r.connect_timeout_ms),
                                    std::chrono::milliseconds(r.command_timeout_ms)};
  m_pipeline->set_shared_queue(
      std::make_unique<RedisQueue>(m_redis, o),
      ai::Pipeline::SharedQueueOptions{o.visibility, static_cast<int>(r.max_deliveries)});
  auto& events = m_registry.gauge("mp_ai_shared_queue_events",
                                  "shared queue (Redis Streams) traffic since start", {"event"});
  m_registry.on_collect([this, &events] {
    const auto s = m_pipeline->shared_stats();
    events.with({"enqueued"}).set(static_cast<double>(s.enqueued));
    events.with({"claimed"}).set(static_cast<double>(s.claimed));
    events.with({"reclaimed"}).set(static_cast<double>(s.reclaimed));
    events.with({"finished"}).set(static_cast<double>(s.finished));
    events.with({"local_fallback"}).set(static_cast<double>(s.local_fallbacks));
    events.with({"abandoned"}).set(static_cast<double>(s.abandoned));
    events.with({"error"}).set(static_cast<double>(s.errors));
  });
}

Expected<void> Service::listen() {
  if (auto ok = m_server->listen(); !ok) {
    return ok;
  }
  // The history opens once the port is ours: a second instance refused for its port
  // must not have touched the file.
  return m_monitor ? m_monitor->start() : Expected<void>{};
}

void Service::run() {
  spdlog::info("listening on http://{}:{} ({} I/O threads, {})",
               m_config.server.host.find(':') != std::string::npos ? "[" + m_config.server.host + "]"
                                                                   : m_config.server.host,
               port(), m_server->threads(),
               m_keys.empty() ? "no API keys: open on loopback"
                              : fmt::format("{} API key(s)", m_keys.size()));
  m_server->run();
  if (m_monitor) {
    m_monitor->stop();
  }
  m_pipeline->stop();
}

double Service::uptime_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
}

util::Histogram Service::latency_all() const {
  return m_latency_all.snapshot();
}

void Service::handle(const net::Request& req, net::Responder responder) {
  const std::uint32_t method = method_index(req.method());
  // HEAD is GET without the body (the server drops it and keeps Content-Length).
  RouteMatch m = m_router.match(req.method() == "HEAD" ? std::string_view("GET") : req.method(), req.path());
  const bool open_route = m.kind == RouteMatch::Kind::found && m_router.access(m.index) == Access::open;
  auth::Principal who;
  if (!open_route) {
    const auto token = auth::KeyStore::bearer_token(req.header("Authorization"));
    switch (m_keys.check(token, who)) {
    case auth::AuthResult::ok: break;
    case auth::AuthResult::missing: {
      m_auth_failures->with({"missing"}).inc();
      net::Response r =
          net::Response::error(401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      Reply(this, std::move(responder), k_route_unauthorized, method).send(std::move(r));
      return;
    }
    case auth::AuthResult::invalid: {
      m_auth_failures->with({"invalid"}).inc();
      net::Response r = net::Response::error(401, "unauthorized", "invalid API key");
      r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      Reply(this, std::move(responder), k_route_unauthorized, method).send(std::move(r));
      return;
    }
    }
  }
  if (m.kind == RouteMatch::Kind::no_path) {
    Reply(this, std::move(responder), k_route_unmatched, method)
        .error(404, "not_found", fmt::format("no route for {} {}", req.method(), req.path()));
    return;
  }
  if (m.kind == RouteMatch::Kind::wrong_method) {
    net::Response r = net::Response::error(
        405, "method_not_allowed",
        fmt::format("{} does not allow {} (allowed: {})", req.path(), req.method(), m.allowed));
    r.headers.emplace_back("Allow", m.allowed);
    Reply(this, std::move(responder), k_route_unmatched, method).send(std::move(r));
    return;
  }
  Reply reply(this, std::move(responder), static_cast<std::uint32_t>(m.index), method);
  if (m_router.access(m.index) == Access::admin && !who.is_admin()) {
    m_auth_failures->with({"forbidden"}).inc();
    reply.error(403, "forbidden", fmt::format("{} needs an admin key", m_router.pattern(m.index)));
    return;
  }
  Call call{req, m.params, who, reply};
  m_handlers[m.index](call);
}

void Service::record(std::uint32_t route, std::uint32_t method, int status, std::chrono::nanoseconds took) {
  m_requests_total.fetch_add(1, std::memory_order_relaxed);
  if (status >= 500) {
    m_server_errors.fetch_add(1, std::memory_order_relaxed);
  }
  m_latency_all.record(took);
  const Series& series = series_for(route, method, status);
  series.count->inc();
  series.latency->observe(took);
}

} // namespace mp::serve
