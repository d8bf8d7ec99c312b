#pragma once
// mp-serve's performance monitor: every monitoring.collection_interval_seconds it takes
// the process and host figures (/proc), the seed's named metrics and every series of the
// metric registry, and writes them to the SQLite history in one transaction; every
// alert_evaluation_interval_seconds it evaluates the alert rules and notifies (log,
// WebSocket topic system_alerts, webhooks); it answers /api/performance/report and
// /api/performance/alerts.

#include "config/config.hpp"
#include "monitor/alerts.hpp"
#include "monitor/health.hpp"
#include "monitor/store.hpp"
#include "monitor/system.hpp"
#include "util/histogram.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace mp::serve {

class Service;

class MonitorService {
public:
  /// What the collector reads from the service at each tick.
  struct Inputs {
    std::function<std::vector<std::pair<std::string, double>>()> named; ///< the seed's names, computed
    std::function<void(std::vector<monitor::Sample>&, double ts)> registry;
    std::function<void(const std::string& topic, const std::string& type, const std::string& data_json,
                       int priority)>
        publish;
  };

  /// The alert rules make sense together (no duplicate names, a clear value on the
  /// right side, escalation only for warnings): Errc::config naming the rule's field.
  static Expected<void> check(const config::MonitoringConfig& cfg);
  /// The config's [[monitoring.alerts]] as rules (their strings already checked).
  static std::vector<monitor::AlertRule> rules(const config::MonitoringConfig& cfg);
  MonitorService(const config::MonitoringConfig& cfg, Inputs inputs);
  ~MonitorService();
  MonitorService(const MonitorService&) = delete;
  MonitorService& operator=(const MonitorService&) = delete;

  /// Opens the history (creating it) and starts collecting. Errc::config/io naming
  /// monitoring.db_path when it cannot be opened.
  Expected<void> start();
  void stop();

  /// Records a value for the next tick (any component, any thread). A metric keeps the
  /// label names it was first recorded with; other label names are refused (false), so a
  /// request or user id cannot become a label by accident.
  bool record_metric(std::string name, double value, std::string_view labels = {});

  /// GET /api/performance/report?hours=N.
  Expected<std::string> report_json(double hours);
  /// GET /api/performance/alerts: active alerts and the records since `since`.
  Expected<std::string> alerts_json(double since);

  [[nodiscard]] std::uint64_t ticks() const;

private:
  void loop();
  void tick(double now);
  void evaluate(double now);
  void notify(const monitor::AlertEvent& e);
  void webhook_loop();
  [[nodiscard]] std::vector<monitor::ActiveAlert> active_alerts() const;

  config::MonitoringConfig m_cfg;
  Inputs m_inputs;
  std::unique_ptr<monitor::Store> m_store;
  monitor::AlertEngine m_engine;
  monitor::SystemSampler m_system;

  mutable std::mutex m_mutex; ///< the store, the engine, the latest values, pending samples
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::thread m_thread;
  std::map<std::string, double> m_latest; ///< metric (no labels) -> last value, for the rules
  std::vector<monitor::Sample> m_recorded;
  std::map<std::string, std::string, std::less<>> m_label_names; ///< metric -> "k1,k2"
  monitor::ScalingAdvisor m_advisor;
  std::map<std::string, monitor::ActiveAlert> m_burn_active; ///< the burn-rate alerts firing
  std::uint64_t m_ticks = 0;
  double m_last_eval = 0;
  double m_last_maintain = 0;

  std::mutex m_hook_mutex;
  std::condition_variable m_hook_cv;
  std::deque<std::string> m_hook_queue; ///< alert JSON bodies to POST
  bool m_hooks_stopping = false;        ///< under m_hook_mutex (never taken with m_mutex after it)
  std::thread m_hook_thread;
  std::vector<std::string> m_webhooks;
};

} // namespace mp::serve
