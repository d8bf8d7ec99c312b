// The performance monitor in mp-serve: what the collector reads each tick, and the
// report and alerts endpoints.

#include "monitor/report.hpp"
#include "serve/monitor_service.hpp"
#include "serve/service.hpp"
#include "serve/ws_service.hpp"

#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace mp::serve {

namespace {

/// `now - before`, bucket by bucket: the samples of one interval.
util::Histogram difference(const util::Histogram& now, const util::Histogram& before) {
  util::Histogram d;
  for (std::size_t i = 0; i < util::Histogram::k_bucket_count; ++i) {
    const auto a = now.bucket(i);
    const auto b = before.bucket(i);
    if (a > b) {
      d.record_ns(util::histogram_detail::lower_bound(i), a - b);
    }
  }
  return d;
}

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

/// What the collector derives from the pipeline between two ticks.
struct IntervalState {
  ai::PipelineStats prev;
  util::Histogram prev_urgent;
  bool first = true;
};

std::optional<double> number_param(const net::Request& req, std::string_view name, double lo, double hi) {
  auto v = req.query_param(name);
  if (!v) {
    return std::nullopt;
  }
  double d = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
  if (ec != std::errc{} || end != v->data() + v->size() || !(d >= lo && d <= hi)) {
    return NAN;
  }
  return d;
}

} // namespace

Expected<void> Service::add_monitor_routes() {
  if (!m_config.monitoring.enabled) {
    return {};
  }
  if (auto ok = MonitorService::check(m_config.monitoring); !ok) {
    return ok;
  }
  auto state = std::make_shared<IntervalState>();
  auto& urgent_family = m_registry.histogram(
      "mp_ai_total_seconds", "Time from submission to the final answer", {"request_type", "priority"});
  const double apdex_t_ns = m_config.monitoring.apdex_t_ms * 1e6;
  MonitorService::Inputs in;
  in.named = [this, state, &urgent_family, apdex_t_ns] {
    std::vector<std::pair<std::string, double>> out;
    const ai::PipelineStats s = m_pipeline->stats();
    util::Histogram urgent;
    for (const auto& [labels, h] : urgent_family.series()) {
      if (labels.size() == 2 && labels[1] == "urgent") {
        urgent.merge(h->snapshot());
      }
    }
    if (!state->first) {
      const util::Histogram lat = difference(s.total_latency, state->prev.total_latency);
      const std::uint64_t done = (s.completed - state->prev.completed) + (s.failed - state->prev.failed);
      const std::uint64_t failed = s.failed - state->prev.failed;
      const std::uint64_t hits =
          (s.cache_hits + s.coalesced) - (state->prev.cache_hits + state->prev.coalesced);
      const std::uint64_t misses = s.cache_misses - state->prev.cache_misses;
      out.emplace_back(monitor::names::requests, static_cast<double>(done));
      out.emplace_back(monitor::names::errors, static_cast<double>(failed));
      if (lat.count() > 0) {
        out.emplace_back(monitor::names::response_mean, lat.mean_ns() / 1e6);
        out.emplace_back(monitor::names::response_p50, ms(lat.quantile_ns(0.50)));
        out.emplace_back(monitor::names::response_p95, ms(lat.quantile_ns(0.95)));
        out.emplace_back(monitor::names::response_p99, ms(lat.quantile_ns(0.99)));
        const auto t = static_cast<std::uint64_t>(apdex_t_ns);
        const double satisfied = static_cast<double>(lat.count_at_or_below(t));
        const double tolerating = static_cast<double>(lat.count_at_or_below(4 * t)) - satisfied;
        out.emplace_back(monitor::names::satisfied, satisfied);
        out.emplace_back(monitor::names::tolerating, tolerating);
        out.emplace_back(monitor::names::frustrated,
                         static_cast<double>(lat.count()) - satisfied - tolerating);
      }
      const util::Histogram urgent_lat = difference(urgent, state->prev_urgent);
      if (urgent_lat.count() > 0) {
        out.emplace_back(monitor::names::urgent_p99, ms(urgent_lat.quantile_ns(0.99)));
      }
      if (done > 0) {
        out.emplace_back(monitor::names::error_rate,
                         100.0 * static_cast<double>(failed) / static_cast<double>(done));
      }
      if (hits + misses > 0) {
        out.emplace_back(monitor::names::cache_hit_rate,
                         100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
      }
    }
    state->first = false;
    state->prev = s;
    state->prev_urgent = urgent;
    double depth = 0;
    for (auto d : m_pipeline->queue_depths()) {
      depth += static_cast<double>(d);
    }
    out.emplace_back(monitor::names::queue_depth, depth);
    out.emplace_back(monitor::names::workers, m_pipeline->active_workers());
    out.emplace_back(monitor::names::per_minute, static_cast<double>(s.requests_last_minute));
    out.emplace_back(monitor::names::websockets, static_cast<double>(m_ws->open_connections()));
    out.emplace_back("http_connections_active", static_cast<double>(m_server->active_connections()));
    return out;
  };
  in.registry = [this](std::vector<monitor::Sample>& batch, double ts) {
    for (auto& v : m_registry.values()) {
      if (std::isfinite(v.value)) {
        batch.push_back({std::move(v.name), std::move(v.labels), ts, v.value});
      }
    }
  };
  in.publish = [this](const std::string& topic, const std::string& type, const std::string& data,
                      int priority) { m_ws->publish(topic, type, data, priority); };
  m_monitor = std::make_unique<MonitorService>(m_config.monitoring, std::move(in));

  route("GET", "/api/performance/report", Access::admin, [this](Call& c) {
    const auto hours = number_param(c.request, "hours", 0.01, 24.0 * 366);
    if (hours && std::isnan(*hours)) {
      c.reply.error(400, "invalid_request", "hours must be a number from 0.01 to 8784", "hours");
      return;
    }
    auto json = m_monitor->report_json(hours.value_or(24));
    if (!json) {
      c.reply.error(500, "internal", json.error().message);
      return;
    }
    c.reply.json(std::move(*json));
  });
  route("GET", "/api/performance/alerts", Access::admin, [this](Call& c) {
    const auto hours = number_param(c.request, "hours", 0, 24.0 * 366);
    if (hours && std::isnan(*hours)) {
      c.reply.error(400, "invalid_request", "hours must be a number from 0 to 8784", "hours");
      return;
    }
    const double since = util::to_unix_seconds(std::chrono::system_clock::now()) - hours.value_or(24) * 3600;
    auto json = m_monitor->alerts_json(since);
    if (!json) {
      c.reply.error(500, "internal", json.error().message);
      return;
    }
    c.reply.json(std::move(*json));
  });
  return {};
}

} // namespace mp::serve
