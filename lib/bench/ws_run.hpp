#pragma once
// mp-bench's WebSocket target: N connections ramped at a rate, broadcasts published to them
// through POST /api/ws/broadcast, publish-to-receive latency from each event's `ts`, and the
// handshake time apart. The connections are the epoll workers of ws_worker.hpp (measured in
// bench/RESULTS.md: a client core reads ~2 million frames/s); this file is the run's
// sequence and its figures.
//
// Sequence: connect (at ramp_rate, until every connection is welcomed or has failed, or
// connect_timeout_s past the ramp), warm-up (warmup_s: broadcasts are published and timed
// but not counted; their deliveries are drained before measuring), measure (duration_s of
// publishing at publish_rate, then the deliveries drained for at most drain_timeout_s),
// close (close handshakes, at most ~2 s).

#include "util/error.hpp"
#include "util/histogram.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace mp::bench {

struct WsRunOptions {
  std::string url; ///< ws://host:port/path?query (mp-serve: /ws?token=..&topics=..)
  int connections = 100;
  double ramp_rate = 1000; ///< new connections per second
  double duration_s = 10;  ///< time published and measured after the connect (and warm-up)
  double warmup_s = 0;     ///< time after the connect before measuring (its events do not count)
  int threads = 1;         ///< worker threads, each with its own epoll set
  std::string publish_url; ///< http://host:port (or the full broadcast URL); empty: from url
  double publish_rate = 1; ///< broadcasts per second (0: publish nothing, receive what others do)
  std::string token; ///< bearer token of the broadcasts (admin); also the url's ?token= when it has none
  std::string topic = "email_updates"; ///< published to; also the url's ?topics= when it has none
  int payload_bytes = 16;              ///< length of the broadcast's data.pad
  double connect_timeout_s = 10, drain_timeout_s = 5, interval_s = 1;
};

/// One interval of a run, as it ends.
struct WsInterval {
  double t = 0;                       ///< seconds since run_ws was called, at the end of this interval
  double dt = 0;                      ///< its length, s (intervals are cut at the phase changes)
  bool warmup = false;                ///< connect or warm-up phase: not part of the summary's statistics
  std::uint64_t published = 0;        ///< broadcasts posted successfully in this interval
  std::uint64_t received = 0;         ///< events received in this interval
  std::uint64_t connections_open = 0; ///< at the end of the interval
  std::uint64_t failures = 0;         ///< connections that failed in this interval
  double generator_cpu_percent = 0;   ///< the worker threads' CPU, % of threads x dt
  util::Histogram latency;            ///< publish-to-receive of the events received in this interval
};

struct WsResult {
  util::Histogram latency;   ///< publish-to-receive (event `ts` to its read) over the measured phase
  util::Histogram handshake; ///< connect start to the welcome (after the 101), every connection
  util::Histogram publish;   ///< round trip of each POST /api/ws/broadcast
  std::uint64_t connections_target = 0;
  std::uint64_t connections_open = 0;   ///< healthy at the end of the measured phase
  std::uint64_t connect_failures = 0;   ///< never became ready (sum of `failures`)
  std::uint64_t connections_lost = 0;   ///< ready, then closed by the server or the network
  std::uint64_t messages_published = 0; ///< broadcasts posted successfully while measuring
  std::uint64_t publish_errors = 0;     ///< posts not answered 200 (any phase)
  std::uint64_t messages_expected = 0;  ///< messages_published x connections_open
  std::uint64_t messages_received = 0;  ///< events counted on the connections_open connections
  std::uint64_t dropped_notices = 0, gaps = 0;
  std::map<std::string, std::uint64_t>
      failures;                             ///< kind -> count: connect_refused, connect_error,
                                            ///< handshake_status_401, timeout, closed, read_error, protocol
  std::map<int, std::uint64_t> close_codes; ///< close codes the server sent
  std::map<int, std::uint64_t> publish_statuses; ///< HTTP status of the posts (0: no connection)
  double duration_s = 0;                         ///< the measured phase, with its drain
  double connect_s = 0;                          ///< the connect phase
  double generator_cpu_percent = 0; ///< the worker threads' CPU over the run, % of threads x wall
  bool stopped = false;             ///< `stop` ended the run early

  [[nodiscard]] double delivery_ratio() const {
    return messages_expected == 0
               ? 1.0
               : static_cast<double>(messages_received) / static_cast<double>(messages_expected);
  }
};

/// Connects, measures, closes; calls `on_interval` (may be empty) from the calling thread once
/// per interval_s and at each phase change; returns when done or soon after `stop` becomes
/// true (then with `stopped` set). Raises RLIMIT_NOFILE to its hard limit.
/// Errors: Errc::usage for a bad URL or option, Errc::unavailable when no connection at all
/// became ready (the message names the commonest failure kinds).
Expected<WsResult> run_ws(const WsRunOptions& opt, const std::function<void(const WsInterval&)>& on_interval,
                          const std::atomic<bool>& stop);

/// The URL the connections use: `opt.url` with `token=` (from opt.token) and `topics=` (from
/// opt.topic) added when it has none. Pure.
std::string ws_connect_url(const WsRunOptions& opt);

} // namespace mp::bench
