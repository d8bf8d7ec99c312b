#include "serve/monitor_service.hpp"
#include "monitor/health.hpp"
#include "monitor/report.hpp"

#include "util/clock.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <fmt/format.h>
#include <thread>

namespace mp::serve {

namespace {

double unix_now() {
  return util::to_unix_seconds(std::chrono::system_clock::now());
}

} // namespace

std::vector<monitor::AlertRule> MonitorService::rules(const config::MonitoringConfig& cfg) {
  std::vector<monitor::AlertRule> out;
  for (const auto& r : cfg.alerts) {
    monitor::AlertRule rule;
    rule.name = r.name;
    rule.metric_name = r.metric_name;
    rule.condition = monitor::parse_condition(r.condition).value_or(monitor::Condition::gt);
    rule.value = r.value;
    rule.severity = monitor::parse_severity(r.severity).value_or(monitor::Severity::warning);
    rule.description = r.description;
    rule.for_seconds = r.for_seconds;
    rule.cooldown_seconds = r.cooldown_seconds;
    rule.clear_value = r.clear_value;
    rule.escalate_after_seconds = r.escalate_after_seconds;
    rule.no_data = monitor::parse_no_data(r.no_data).value_or(monitor::NoData::keep);
    out.push_back(std::move(rule));
  }
  return out;
}

namespace {

/// "route=/x,status=200" -> "route,status": a metric's label names.
std::string label_names(std::string_view labels) {
  std::string out;
  while (!labels.empty()) {
    const auto comma = labels.find(',');
    const auto item = labels.substr(0, comma);
    out += out.empty() ? "" : ",";
    out += item.substr(0, item.find('='));
    if (comma == std::string_view::npos) {
      break;
    }
    labels.remove_prefix(comma + 1);
  }
  return out;
}

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

/// One webhook POST; true on a 2xx.
bool post_json(const std::string& url, const std::string& body, long timeout_ms) {
  CURL* curl = curl_easy_init();
  if (!curl) {
    return false;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && status >= 200 && status < 300;
}

} // namespace

Expected<void> MonitorService::check(const config::MonitoringConfig& cfg) {
  auto ok = monitor::validate(rules(cfg), "monitoring.alerts");
  if (!ok) {
    return fail(Errc::config, ok.error().message, ok.error().field);
  }
  return {};
}

MonitorService::MonitorService(const config::MonitoringConfig& cfg, Inputs inputs)
    : m_cfg(cfg), m_inputs(std::move(inputs)), m_engine(rules(cfg)) {
  std::string_view list = m_cfg.webhooks;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto url = util::trim(list.substr(0, comma));
    if (!url.empty()) {
      m_webhooks.emplace_back(url);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
}

MonitorService::~MonitorService() {
  stop();
}

Expected<void> MonitorService::start() {
  monitor::StoreOptions o;
  o.raw_retention = std::chrono::hours(m_cfg.raw_retention_hours);
  o.minute_retention = std::chrono::hours(24 * m_cfg.minute_retention_days);
  o.hour_retention = std::chrono::hours(24 * m_cfg.hour_retention_days);
  auto store = monitor::Store::open(m_cfg.db_path, o);
  if (!store) {
    return fail(Errc::config,
                fmt::format("monitoring.db_path '{}': {}", m_cfg.db_path, store.error().message),
                "monitoring.db_path");
  }
  m_store = std::move(*store);
  if (auto active = m_store->alerts(0, true); active) {
    spdlog::debug("monitor: {} alert(s) were active at the last stop", active->size());
  }
  m_thread = std::thread([this] { loop(); });
  if (!m_webhooks.empty()) {
    m_hook_thread = std::thread([this] { webhook_loop(); });
  }
  spdlog::debug("monitor: collecting every {} s into {}", m_cfg.collection_interval_seconds, m_cfg.db_path);
  return {};
}

void MonitorService::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  {
    std::lock_guard lock(m_hook_mutex);
    m_hooks_stopping = true;
  }
  m_hook_cv.notify_all();
  if (m_hook_thread.joinable()) {
    m_hook_thread.join();
  }
}

std::uint64_t MonitorService::ticks() const {
  std::lock_guard lock(m_mutex);
  return m_ticks;
}

bool MonitorService::record_metric(std::string name, double value, std::string_view labels) {
  auto canonical = monitor::canonical_labels(labels);
  if (name.empty() || !canonical || !std::isfinite(value)) {
    return false;
  }
  const std::string names = label_names(*canonical);
  std::lock_guard lock(m_mutex);
  auto [it, inserted] = m_label_names.try_emplace(name, names);
  if (!inserted && it->second != names) {
    spdlog::warn("record_metric: {} has labels ({}), not ({}): dropped", name, it->second, names);
    return false;
  }
  m_recorded.push_back({std::move(name), std::move(*canonical), unix_now(), value});
  return true;
}

void MonitorService::loop() {
  const auto interval = std::chrono::seconds(std::max<std::int64_t>(1, m_cfg.collection_interval_seconds));
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    lock.unlock();
    tick(unix_now());
    lock.lock();
    next += interval;
    m_cv.wait_until(lock, next, [this] { return m_stopping; });
  }
}

void MonitorService::tick(double now) {
  std::vector<monitor::Sample> batch;
  const double steady =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  for (auto& [name, value] : m_system.sample(steady)) {
    batch.push_back({std::move(name), "", now, value});
  }
  if (m_inputs.named) {
    for (auto& [name, value] : m_inputs.named()) {
      if (std::isfinite(value)) {
        batch.push_back({std::move(name), "", now, value});
      }
    }
  }
  if (m_inputs.registry) {
    m_inputs.registry(batch, now);
  }
  std::lock_guard lock(m_mutex);
  for (auto& s : m_recorded) {
    batch.push_back(std::move(s));
  }
  m_recorded.clear();
  for (const auto& s : batch) {
    if (s.labels.empty()) {
      m_latest[s.metric] = s.value;
    }
  }
  if (auto ok = m_store->write(batch); !ok) {
    spdlog::warn("monitor: writing {} samples failed: {}", batch.size(), ok.error().message);
  }
  ++m_ticks;
  if (now - m_last_eval >= static_cast<double>(m_cfg.alert_evaluation_interval_seconds) - 0.001 ||
      m_cfg.alert_evaluation_interval_seconds <= m_cfg.collection_interval_seconds) {
    m_last_eval = now;
    evaluate(now);
  }
  if (now - m_last_maintain >= 60) {
    m_last_maintain = now;
    if (auto ok = m_store->maintain(now); !ok) {
      spdlog::warn("monitor: rollups and retention failed: {}", ok.error().message);
    }
  }
}

// Requires m_mutex.
void MonitorService::evaluate(double now) {
  auto events = m_engine.evaluate(
      [this](std::string_view metric) -> std::optional<double> {
        auto it = m_latest.find(std::string(metric));
        return it == m_latest.end() ? std::nullopt : std::optional(it->second);
      },
      now);
  // The error budget's burn-rate alerts (SRE workbook): page and ticket, as rules of
  // their own ("error_budget_burn_page", "..._ticket").
  const auto burn = monitor::burn_rates_from(*m_store, now, m_cfg.sla.error_rate_percent / 100.0);
  for (const auto& b : burn.alerts) {
    const std::string rule = fmt::format("error_budget_burn_{}", b.policy.name);
    const bool was = m_burn_active.contains(rule);
    if (b.active != was) {
      if (b.active) {
        monitor::ActiveAlert a;
        a.rule = rule;
        a.state = monitor::AlertState::firing;
        a.severity = b.policy.name == "page" ? monitor::Severity::critical : monitor::Severity::warning;
        a.value = b.long_burn_rate;
        a.since = now;
        a.last_notified = now;
        a.description = "error budget burn rate over its multi-window threshold";
        m_burn_active[rule] = a;
      } else {
        m_burn_active.erase(rule);
      }
      events.push_back(
          {rule, b.active ? monitor::AlertState::firing : monitor::AlertState::resolved,
           b.policy.name == "page" ? monitor::Severity::critical : monitor::Severity::warning,
           b.long_burn_rate, now,
           fmt::format("error budget burning at {:.1f}x over {:.0f} min and {:.1f}x over {:.0f} min",
                       b.long_burn_rate, b.policy.long_seconds / 60, b.short_burn_rate,
                       b.policy.short_seconds / 60),
           true});
    }
  }
  for (const auto& e : events) {
    if (e.state == monitor::AlertState::inactive) {
      continue;
    }
    monitor::AlertRecord r{e.rule,
                           std::string(monitor::state_name(e.state)),
                           std::string(monitor::severity_name(e.severity)),
                           std::isfinite(e.value) ? e.value : 0,
                           e.ts,
                           e.description};
    if (auto ok = m_store->record_alert(r); !ok) {
      spdlog::warn("monitor: recording alert {} failed: {}", e.rule, ok.error().message);
    }
    if (e.notify) {
      notify(e);
    }
  }
}

void MonitorService::notify(const monitor::AlertEvent& e) {
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  monitor::write_json(w, e);
  std::string json(buf.GetString(), buf.GetSize());
  const auto level = e.severity == monitor::Severity::critical  ? spdlog::level::err
                     : e.severity == monitor::Severity::warning ? spdlog::level::warn
                                                                : spdlog::level::info;
  spdlog::log(level, "alert {} {}: {} (value {})", monitor::state_name(e.state), e.rule, e.description,
              e.value);
  if (m_inputs.publish) {
    const int priority = e.severity == monitor::Severity::critical  ? 0
                         : e.severity == monitor::Severity::warning ? 1
                                                                    : 2;
    m_inputs.publish("system_alerts",
                     e.state == monitor::AlertState::resolved ? "alert_resolved" : "alert_firing", json,
                     priority);
  }
  if (!m_webhooks.empty()) {
    std::lock_guard lock(m_hook_mutex);
    if (m_hook_queue.size() < 1000) {
      m_hook_queue.push_back(std::move(json));
    }
    m_hook_cv.notify_one();
  }
}

// Webhooks on their own thread: a slow receiver must not hold up collection.
void MonitorService::webhook_loop() {
  std::unique_lock lock(m_hook_mutex);
  for (;;) {
    m_hook_cv.wait(lock, [this] { return m_hooks_stopping || !m_hook_queue.empty(); });
    if (m_hook_queue.empty()) {
      return; // stopping, nothing left
    }
    std::string body = std::move(m_hook_queue.front());
    m_hook_queue.pop_front();
    lock.unlock();
    for (const auto& url : m_webhooks) {
      bool ok = false;
      for (std::int64_t attempt = 0; attempt <= m_cfg.webhook_retries && !ok; ++attempt) {
        if (attempt > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200 << std::min<std::int64_t>(attempt, 5)));
        }
        ok = post_json(url, body, static_cast<long>(m_cfg.webhook_timeout_ms));
      }
      if (!ok) {
        spdlog::warn("monitor: webhook {} failed after {} attempt(s)", url, m_cfg.webhook_retries + 1);
      }
    }
    lock.lock();
  }
}

// Requires m_mutex.
std::vector<monitor::ActiveAlert> MonitorService::active_alerts() const {
  auto out = m_engine.active();
  for (const auto& [rule, a] : m_burn_active) {
    out.push_back(a);
  }
  return out;
}

Expected<std::string> MonitorService::report_json(double hours) {
  std::lock_guard lock(m_mutex);
  monitor::ReportInputs in;
  in.now = unix_now();
  in.hours = hours;
  in.sla = monitor::SlaTargets{m_cfg.sla.urgent_ms,
                               m_cfg.sla.p50_ms,
                               m_cfg.sla.p95_ms,
                               m_cfg.sla.p99_ms,
                               m_cfg.sla.error_rate_percent,
                               m_cfg.sla.cache_hit_rate_percent};
  in.apdex_t_ms = m_cfg.apdex_t_ms;
  in.active = active_alerts();
  in.advisor = &m_advisor;
  return monitor::build_report(*m_store, in);
}

Expected<std::string> MonitorService::alerts_json(double since) {
  std::lock_guard lock(m_mutex);
  auto records = m_store->alerts(since, false);
  if (!records) {
    return std::unexpected(records.error());
  }
  rapidjson::StringBuffer buf;
  util::JsonWriter w(buf);
  w.StartObject();
  util::write_key(w, "active");
  w.StartArray();
  for (const auto& a : active_alerts()) {
    monitor::write_json(w, a);
  }
  w.EndArray();
  util::write_key(w, "recent");
  w.StartArray();
  for (const auto& r : *records) {
    w.StartObject();
    util::write_kv(w, "rule", r.rule);
    util::write_kv(w, "state", r.state);
    util::write_kv(w, "severity", r.severity);
    util::write_key(w, "value");
    w.Double(r.value);
    util::write_key(w, "ts");
    w.Double(r.ts);
    util::write_kv(w, "description", r.description);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

} // namespace mp::serve
