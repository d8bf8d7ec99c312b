#pragma once
// mp-bench run against a ws:// URL: the WebSocket target (lib/bench/ws_run.hpp) with the
// same start / interval / summary lines and thresholds as an HTTP run.

#include "bench/run.hpp"

#include <iosfwd>
#include <string>

namespace mp::tools {

struct WsFlags {
  std::string url;
  std::string base_url; ///< where to publish; empty: the ws URL's host and port
  std::string token;
  std::string topic;
  int connections = 100;
  double ramp_rate = 1000;
  double publish_rate = 1;
  int threads = 1;
  double interval_s = 1;
};

/// Runs it and returns the exit code (0, 3 when no connection opened, 99 a threshold failed).
int run_ws_command(bench::RunConfig rc, const WsFlags& flags, std::ostream& out);

} // namespace mp::tools
