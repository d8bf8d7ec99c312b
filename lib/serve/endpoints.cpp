// The core endpoints: liveness, readiness, Prometheus exposition, the JSON snapshot.

#include "serve/service.hpp"
#include "serve/ws_service.hpp"
#include "util/clock.hpp"

#include <rapidjson/stringbuffer.h>

#include <cmath>

namespace mp::serve {

void Service::register_metrics() {
  m_requests =
      &m_registry.counter("mp_http_requests_total", "HTTP requests answered", {"route", "method", "status"});
  m_latency = &m_registry.histogram("mp_http_request_duration_seconds",
                                    "Time from a request's arrival at its handler to its answer",
                                    {"route", "status"});
  m_protocol_errors = &m_registry.counter(
      "mp_http_protocol_errors_total",
      "Requests the server refused before routing (400 malformed, 413, 431, 503 over max_connections)",
      {"status"});
  m_auth_failures = &m_registry.counter("mp_http_auth_failures_total",
                                        "Requests refused by authentication or scope", {"reason"});
  m_registry.gauge("mp_build_info", "Build information; always 1", {"version"}).with({MP_VERSION}).set(1);
  m_registry.gauge("mp_process_start_time_seconds", "Start time of the process since the Unix epoch")
      .with({})
      .set(m_start_unix);
  auto& active = m_registry.gauge("mp_http_connections_active", "Open HTTP connections").with({});
  auto& accepted =
      m_registry.counter("mp_http_connections_accepted_total", "HTTP connections accepted").with({});
  m_registry.on_collect([this, &active, &accepted] {
    active.set(static_cast<double>(m_server->active_connections()));
    accepted.set(m_server->connections_accepted());
  });
}

// The pipeline under the seed's names: ai_response_time_ms, cache_hit_rate_percent,
// ai_requests_per_minute, error_rate_percent, plus queue depth, workers and budget.
void Service::write_ai_summary(util::JsonWriter& w) const {
  const ai::PipelineStats s = m_pipeline->stats();
  const auto depths = m_pipeline->queue_depths();
  const auto limits = m_pipeline->limits();
  const double hits = static_cast<double>(s.cache_hits + s.coalesced);
  const double lookups = hits + static_cast<double>(s.cache_misses);
  const double finished = static_cast<double>(s.completed + s.failed);
  auto number = [&w](std::string_view key, double v) {
    util::write_key(w, key);
    w.Double(v);
  };
  auto count = [&w](std::string_view key, std::uint64_t v) {
    util::write_key(w, key);
    w.Uint64(v);
  };
  util::write_key(w, "ai");
  w.StartObject();
  util::write_kv(w, "provider", m_pipeline->provider().name());
  count("requests_total", s.submitted);
  count("ai_requests_per_minute", s.requests_last_minute);
  count("completed_total", s.completed);
  count("failed_total", s.failed);
  count("rejected_total", s.rejected);
  number("error_rate_percent", finished > 0 ? 100.0 * static_cast<double>(s.failed) / finished : 0.0);
  number("cache_hit_rate_percent", lookups > 0 ? 100.0 * hits / lookups : 0.0);
  count("cache_hits_total", s.cache_hits);
  count("coalesced_total", s.coalesced);
  count("upstream_calls_total", s.upstream_calls);
  count("retries_total", s.retries);
  number("cost_usd_total", s.cost_usd);
  if (std::isfinite(limits.budget_left)) {
    number("budget_remaining_usd", limits.budget_left);
  }
  util::write_key(w, "upstream_requests_last_minute");
  w.Int64(limits.used_minute);
  util::write_key(w, "ai_response_time_ms");
  w.StartObject();
  const auto& h = s.total_latency;
  number("mean", h.mean_ns() / 1e6);
  number("p50", static_cast<double>(h.quantile_ns(0.5)) / 1e6);
  number("p95", static_cast<double>(h.quantile_ns(0.95)) / 1e6);
  number("p99", static_cast<double>(h.quantile_ns(0.99)) / 1e6);
  number("max", static_cast<double>(h.max_ns()) / 1e6);
  w.EndObject();
  util::write_key(w, "queue_depth");
  w.StartObject();
  for (std::size_t i = 0; i < ai::k_priority_count; ++i) {
    util::write_key(w, ai::k_priority_names[i]);
    w.Uint64(depths[i]);
  }
  w.EndObject();
  util::write_key(w, "workers_active");
  w.Int(m_pipeline->active_workers());
  w.EndObject();
}

void Service::add_core_routes() {
  route("GET", "/healthz", Access::open, [](Call& c) { c.reply.json(R"({"status":"ok"})"); });

  route("GET", "/readyz", Access::open, [this](Call& c) {
    if (draining()) {
      c.reply.json(R"({"status":"draining","checks":{"http":"draining"}})", 503);
    } else if (redis_pool() && !redis_up()) {
      // Still serving (from the L1 and this instance's own state): ready, but say so.
      c.reply.json(R"({"status":"degraded","checks":{"http":"ok","redis":"down"}})");
    } else if (redis_pool()) {
      c.reply.json(R"({"status":"ready","checks":{"http":"ok","redis":"ok"}})");
    } else {
      c.reply.json(R"({"status":"ready","checks":{"http":"ok"}})");
    }
  });

  route("GET", "/metrics", Access::admin, [this](Call& c) {
    net::Response r;
    r.body = m_registry.prometheus_text();
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    c.reply.send(std::move(r));
  });

  route("GET", "/api/performance/metrics", Access::admin, [this](Call& c) {
    rapidjson::StringBuffer buf;
    util::JsonWriter w(buf);
    const std::uint64_t total = requests_total();
    const std::uint64_t errors = server_errors_total();
    w.StartObject();
    util::write_key(w, "timestamp");
    w.Double(util::to_unix_seconds(std::chrono::system_clock::now()));
    util::write_kv(w, "version", MP_VERSION);
    util::write_key(w, "uptime_seconds");
    w.Double(uptime_seconds());
    util::write_key(w, "http");
    w.StartObject();
    util::write_key(w, "requests_total");
    w.Uint64(total);
    util::write_key(w, "server_errors_total");
    w.Uint64(errors);
    util::write_key(w, "error_rate_percent");
    w.Double(total ? 100.0 * static_cast<double>(errors) / static_cast<double>(total) : 0.0);
    util::write_key(w, "connections_active");
    w.Uint64(active_connections());
    util::write_key(w, "response_time_ms");
    w.StartObject();
    metrics::write_latency_summary(w, latency_all());
    w.EndObject();
    w.EndObject();
    write_ai_summary(w);
    m_ws->write_summary(w);
    util::write_key(w, "metrics");
    m_registry.write_json(w);
    w.EndObject();
    c.reply.json(std::string(buf.GetString(), buf.GetSize()));
  });
}

} // namespace mp::serve
