#include "monitor/store.hpp"
#include "serve/monitor_service.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using namespace mp;

TEST_CASE("monitor service: record_metric lands in the history with fixed label names", "[serve][monitor]") {
  const auto dir = std::filesystem::temp_directory_path() / ("mp-record-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  config::MonitoringConfig cfg;
  cfg.collection_interval_seconds = 1;
  cfg.db_path = (dir / "m.db").string();
  serve::MonitorService svc(cfg, {});
  REQUIRE(svc.start());
  REQUIRE(svc.record_metric("jobs_done", 3, "queue=mail"));
  REQUIRE(svc.record_metric("jobs_done", 4, "queue=sms"));
  REQUIRE_FALSE(svc.record_metric("jobs_done", 5, "user=alice")); // other label names: refused
  REQUIRE_FALSE(svc.record_metric("", 1));
  REQUIRE_FALSE(svc.record_metric("jobs_done", std::nan(""), "queue=mail"));
  const auto first = svc.ticks();
  for (int i = 0; i < 100 && svc.ticks() < first + 2; ++i) { // the next tick writes them
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  svc.stop();
  auto store = monitor::Store::open(cfg.db_path, {}, true);
  REQUIRE(store);
  auto labels = (*store)->labels("jobs_done");
  REQUIRE(labels);
  REQUIRE(*labels == std::vector<std::string>{"queue=mail", "queue=sms"});
  auto metrics = (*store)->metrics();
  REQUIRE(std::find(metrics->begin(), metrics->end(), "process_rss_bytes") != metrics->end());
  std::filesystem::remove_all(dir);
}
