#pragma once
// mp-monitor's commands beyond query/report/alerts/export (monitor_cmds.cpp).

#include "monitor/store.hpp"

#include <iosfwd>
#include <string>

namespace mp::tools {

/// Reads NDJSON (mp-bench's interval events and summary) from `in` and stores every
/// number as a series `bench_<key path>`, labelled with the line's run_id/test/type.
int run_ingest(monitor::Store& store, std::istream& in);
/// Redraws the seed's metrics every `interval` seconds; `count` > 0 stops after that many.
int run_watch(const monitor::Store& store, double interval, int count);
/// Evaluates the rules of a test file against its series; exit 99 when an expectation fails.
int run_test_rules(const std::string& file);

} // namespace mp::tools
