// ws_load: the WebSocket load client of the push benchmarks (issue #4, bench/ws_push.sh),
// run against mp-serve and against the Node `ws` peer so both are measured the same way.
//
// Why not Beast: fan-out is measured in deliveries per second to 10,000 subscribers and the
// target is over a million a second on a 2-core machine the client shares with the server.
// A client that allocates or parses JSON per message would be what the benchmark measures.
// This one reads in 64 KiB chunks and walks only the frame headers; of an event's payload it
// reads two numbers (`"seq":`, `"ts":`) found with memmem (lib/bench/ws_worker.hpp).
//
// Shape: the connections are spread over --threads workers, each with its own epoll set;
// lib/bench/ws_session.hpp sequences the phases (connect, measure, close) and publishes when
// asked (one keep-alive HTTP/1.1 connection, blocking; lib/bench/ws_wire.hpp). mp-bench's
// WebSocket target (lib/bench/ws_run.hpp) is the same code. This file is the CLI, the modes
// and the one JSON object it prints on stdout; progress goes to stderr. Modes:
//   --idle            connect, wait for every welcome, hold --duration, report the connects
//                     (and with --watch-pid the server's VmRSS before and while held);
//   default           count and time the events others publish, for --duration;
//   --run-ws          mp-bench's WebSocket target (mp::bench::run_ws, lib/bench/ws_run.hpp):
//                     one NDJSON line per --interval and a result line, on stdout;
//   --publish-url     publish --publish-count broadcasts, at --publish-rate or (rate 0) in
//                     bursts of --burst, each burst waited for until every subscriber has
//                     it; then wait for all N x C deliveries (or --drain-timeout) and report
//                     deliveries/s = deliveries / (first publish .. last receipt).
// Everything ends by itself: --hard-timeout (default ramp + duration + 30 s), then a
// watchdog 10 s later.
//
// Latency is CLOCK_REALTIME after the read that completed a frame minus the event's `ts`
// (the server's publish time, same machine), so it includes this client's own queueing:
// what a subscriber would see. Only frames that arrive in the measured phase count.

#include "bench/ws_run.hpp"
#include "bench/ws_session.hpp"
#include "util/histogram.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using mp::util::Histogram;
using namespace mp::bench::ws;

/// The command line.
struct Options {
  std::string url;
  int connections = 1;
  double ramp = 5000;
  double duration = 10;
  bool idle = false;
  int threads = 1;
  std::string publish_url;
  double publish_rate = 0;
  int publish_count = 0;
  int burst = 100;
  std::string token;
  int payload_bytes = 16;
  std::string topic = "email_updates";
  std::string subscribe;
  double connect_timeout = 10;
  double drain_timeout = 10;
  double hard_timeout = 0;
  int watch_pid = 0;
  int coalesce_us = 0;
  bool run_ws = false;
  double warmup = 0;
  double interval = 1;
};

/// The latency percentiles of `h` as a JSON object, in milliseconds.
std::string ms_json(const Histogram& h, bool full) {
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  if (!full) {
    return fmt::format(R"({{"p50":{:.3f},"p99":{:.3f},"max":{:.3f}}})", ms(h.quantile_ns(0.5)),
                       ms(h.quantile_ns(0.99)), ms(h.max_ns()));
  }
  return fmt::format(R"({{"p50":{:.3f},"p90":{:.3f},"p99":{:.3f},"p999":{:.3f},"max":{:.3f},"mean":{:.3f}}})",
                     ms(h.quantile_ns(0.5)), ms(h.quantile_ns(0.9)), ms(h.quantile_ns(0.99)),
                     ms(h.quantile_ns(0.999)), ms(h.max_ns()), h.mean_ns() / 1e6);
}

/// `url` with the value of a `token=` parameter hidden, for the report.
std::string without_token(std::string url) {
  if (const auto at = url.find("token="); at != std::string::npos) {
    url.replace(at + 6,
                url.find('&', at) == std::string::npos ? std::string::npos : url.find('&', at) - at - 6,
                "***");
  }
  return url;
}

/// A JSON object written field by field; keys and string values are plain (no escaping).
class JsonObject {
public:
  JsonObject& num(std::string_view key, auto value) { return raw(key, fmt::format("{}", value)); }
  JsonObject& fixed(std::string_view key, double value, int digits = 3) {
    return raw(key, fmt::format("{:.{}f}", value, digits));
  }
  JsonObject& str(std::string_view key, std::string_view value) {
    return raw(key, fmt::format(R"("{}")", value));
  }
  JsonObject& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  JsonObject& raw(std::string_view key, std::string_view json) {
    fmt::format_to(std::back_inserter(m_text), R"({}"{}":{})", m_text.empty() ? "{" : ",", key, json);
    return *this;
  }
  [[nodiscard]] std::string str() const { return (m_text.empty() ? "{" : m_text) + "}"; }

private:
  std::string m_text;
};

template <typename Map> std::string map_json(const Map& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    out += fmt::format(R"({}"{}":{})", out.size() > 1 ? "," : "", k, v);
  }
  return out + "}";
}

std::uint64_t read_proc_status_kib(int pid, std::string_view field) {
  FILE* f = std::fopen(fmt::format("/proc/{}/status", pid).c_str(), "r");
  if (f == nullptr) {
    return 0;
  }
  char line[256];
  std::uint64_t value = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::string_view(line).starts_with(field)) {
      value = std::strtoull(line + field.size(), nullptr, 10);
    }
  }
  std::fclose(f);
  return value;
}

/// utime + stime of `pid` in seconds (fields 14 and 15 of /proc/PID/stat).
double read_cpu_seconds(int pid) {
  FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
  if (f == nullptr) {
    return 0;
  }
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  if (p == nullptr ||
      std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

WorkerOptions worker_options(const Options& opt) {
  WorkerOptions w;
  w.ramp = opt.ramp;
  w.threads = std::clamp(opt.threads, 1, 2);
  w.connect_timeout = opt.connect_timeout;
  w.subscribe = opt.subscribe;
  w.coalesce_us = opt.coalesce_us;
  return w;
}

/// The run as the main thread sees it: the modes and the final report.
class Run {
public:
  Run(const Options& opt, Url url)
      : m_opt(opt),
        m_session(worker_options(opt), std::move(url), static_cast<std::size_t>(opt.connections)) {
    const double ramp_s = opt.connections / opt.ramp;
    m_hard_deadline =
        mono_ns() + static_cast<std::int64_t>(
                        1e9 * (opt.hard_timeout > 0 ? opt.hard_timeout : ramp_s + opt.duration + 30));
    m_session.stopped = [this] { return past_hard_deadline(); };
    m_session.log = [](const std::string& line) { fmt::print(stderr, "ws_load: {}\n", line); };
  }
  int execute(std::optional<Url> publish_url);

private:
  bool past_hard_deadline() {
    if (mono_ns() < m_hard_deadline) {
      return false;
    }
    if (!m_timed_out) {
      fmt::print(stderr, "ws_load: hard timeout reached, stopping\n");
    }
    m_timed_out = true;
    return true;
  }
  void publish(Publisher& publisher);
  /// Prints the JSON result; returns the exit code (3 when no connection became ready).
  int report();

  const Options& m_opt;
  Session m_session;
  PublishStats m_pub;
  std::int64_t m_hard_deadline = 0, m_window_start = 0, m_window_end = 0;
  std::uint64_t m_rss_before = 0, m_rss_held = 0;
  double m_server_cpu = 0, m_connect_seconds = 0;
  bool m_timed_out = false;
};

void Run::publish(Publisher& publisher) {
  const std::string body = broadcast_body(m_opt.topic, m_opt.payload_bytes);
  const std::int64_t start = mono_ns();
  const auto stop = start + static_cast<std::int64_t>(m_opt.duration * 1e9);
  const auto count = static_cast<std::uint64_t>(m_opt.publish_count > 0 ? m_opt.publish_count : INT32_MAX);
  if (m_opt.publish_rate > 0) {
    m_session.publish_paced(publisher, body, m_opt.publish_rate, count, stop, m_pub);
  } else {
    m_session.publish_bursts(publisher, body, m_opt.burst, count, stop, m_opt.drain_timeout, m_pub);
  }
  fmt::print(stderr, "ws_load: published {} ({} errors) in {:.2f} s\n", m_pub.published, m_pub.errors,
             seconds(mono_ns() - start));
  m_session.drain(m_pub.published, m_opt.drain_timeout);
}

int Run::execute(std::optional<Url> publish_url) {
  if (m_opt.watch_pid > 0) {
    m_rss_before = read_proc_status_kib(m_opt.watch_pid, "VmRSS:");
  }
  m_session.start();
  m_connect_seconds = m_session.connect_all(m_opt.connections / m_opt.ramp + m_opt.connect_timeout + 2);
  const double cpu_start = m_opt.watch_pid > 0 ? read_cpu_seconds(m_opt.watch_pid) : 0;
  m_window_start = real_ns();
  m_session.set_phase(Phase::measuring);
  if (publish_url && !m_opt.idle) {
    Publisher publisher(*publish_url, m_opt.token);
    publish(publisher);
  } else {
    m_session.wait_until(mono_ns() + static_cast<std::int64_t>(m_opt.duration * 1e9), {});
  }
  m_window_end = real_ns();
  if (m_opt.watch_pid > 0) {
    m_rss_held = read_proc_status_kib(m_opt.watch_pid, "VmRSS:");
    m_server_cpu = read_cpu_seconds(m_opt.watch_pid) - cpu_start;
  }
  m_session.finish();
  return report();
}

int Run::report() {
  Stats all;
  std::int64_t first_event = INT64_MAX, last_event = 0;
  std::uint64_t complete = 0;
  for (const auto& w : m_session.workers()) {
    all.merge(w->stats());
    complete += static_cast<std::uint64_t>(std::ranges::count(w->stats().received, m_pub.published));
    last_event = std::max(last_event, w->last_event_real_ns());
    if (w->events() > 0) {
      first_event = std::min(first_event, w->first_event_real_ns());
    }
  }
  std::uint64_t failed = 0;
  for (const auto& [reason, count] : all.failures) {
    failed += count;
  }
  const std::uint64_t messages = all.latency.count();
  const std::uint64_t per_min = all.per_conn_counted ? all.per_conn_min : 0;
  const double window = seconds(m_window_end - m_window_start);
  const double span = messages > 1 ? seconds(last_event - first_event) : 0.0;
  auto rate = [](std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  const double client_cpu = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                            static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;

  JsonObject out;
  out.str("mode", m_opt.idle ? "idle" : (m_pub.first_real_ns != 0 ? "publish" : "receive"))
      .str("url", without_token(m_opt.url))
      .num("threads", m_session.workers().size())
      .num("connections", m_opt.connections)
      .num("connected", all.connected)
      .num("failed", failed)
      .raw("failures", map_json(all.failures))
      .fixed("connect_seconds", m_connect_seconds)
      .raw("handshake_ms", ms_json(all.handshake, false))
      .raw("welcome_ms", ms_json(all.welcome, false))
      .num("lost", all.lost)
      .num("closed_by_server", all.closed_by_server)
      .raw("close_codes", map_json(all.close_codes))
      .fixed("window_seconds", window)
      .num("messages", messages)
      .fixed("rate_per_second", rate(messages, window), 0)
      .fixed("event_span_seconds", span)
      .fixed("event_rate_per_second", rate(messages, span), 0)
      .raw("latency_ms", ms_json(all.latency, true))
      .raw("per_connection", fmt::format(R"({{"counted":{},"min":{},"max":{}}})", all.per_conn_counted,
                                         per_min, all.per_conn_max))
      .num("dropped_notices", all.dropped_notices)
      .num("dropped_events", all.dropped_events)
      .num("gaps", all.gaps)
      .num("seq_gaps", all.seq_gaps)
      .num("other_frames", all.other_frames)
      .num("outside_window_events", all.outside_window_events)
      .num("no_welcome", all.no_welcome)
      .num("pings", all.pings)
      .num("bytes_read", all.bytes)
      .num("reads", all.reads)
      .num("epoll_waits", all.waits)
      .num("epoll_events", all.wait_events);
  if (m_pub.first_real_ns != 0) {
    const std::uint64_t expected = all.per_conn_counted * m_pub.published;
    const double delivery = seconds(last_event - m_pub.first_real_ns);
    out.num("published", m_pub.published)
        .num("publish_errors", m_pub.errors)
        .raw("publish_statuses", map_json(m_pub.statuses))
        .raw("publish_ms", ms_json(m_pub.rtt, false))
        .num("expected", expected)
        .num("complete_connections", complete)
        .boolean("delivered_all", messages == expected && complete == all.per_conn_counted && all.lost == 0)
        .fixed("delivery_seconds", delivery)
        .fixed("deliveries_per_second", rate(messages, delivery), 0);
  }
  if (m_opt.watch_pid > 0) {
    const std::uint64_t held = m_rss_held > m_rss_before ? m_rss_held - m_rss_before : 0;
    out.raw("server",
            JsonObject()
                .num("pid", m_opt.watch_pid)
                .num("rss_kib_before", m_rss_before)
                .num("rss_kib_held", m_rss_held)
                .fixed("rss_kib_per_connection", rate(held, static_cast<double>(all.per_conn_counted)), 2)
                .fixed("cpu_seconds", m_server_cpu, 2)
                .str());
  }
  out.raw("client", JsonObject()
                        .num("rss_kib", read_proc_status_kib(static_cast<int>(getpid()), "VmHWM:"))
                        .fixed("cpu_seconds", client_cpu, 2)
                        .str())
      .boolean("timed_out", m_timed_out);
  fmt::print("{}\n", out.str());
  fmt::print(stderr,
             "ws_load: {} messages in {:.2f} s, latency p50 {:.3f} ms p99 {:.3f} ms, per connection {}..{}\n",
             messages, window, static_cast<double>(all.latency.quantile_ns(0.5)) / 1e6,
             static_cast<double>(all.latency.quantile_ns(0.99)) / 1e6, per_min, all.per_conn_max);
  return all.connected == 0 ? 3 : 0;
}

/// --run-ws: the run as mp-bench makes it, printed as NDJSON.
int run_ws_mode(const Options& opt) {
  mp::bench::WsRunOptions w;
  w.url = opt.url;
  w.connections = opt.connections;
  w.ramp_rate = opt.ramp;
  w.duration_s = opt.duration;
  w.warmup_s = opt.warmup;
  w.threads = opt.threads;
  w.publish_url = opt.publish_url;
  w.publish_rate = opt.publish_rate;
  w.token = opt.token;
  w.topic = opt.topic;
  w.payload_bytes = opt.payload_bytes;
  w.connect_timeout_s = opt.connect_timeout;
  w.drain_timeout_s = opt.drain_timeout;
  w.interval_s = opt.interval;
  const std::atomic<bool> stop{false};
  const auto r = mp::bench::run_ws(
      w,
      [](const mp::bench::WsInterval& iv) {
        fmt::print("{}\n", JsonObject()
                               .str("type", "interval")
                               .fixed("t", iv.t)
                               .fixed("dt", iv.dt)
                               .boolean("warmup", iv.warmup)
                               .num("published", iv.published)
                               .num("received", iv.received)
                               .num("connections", iv.connections_open)
                               .num("failures", iv.failures)
                               .fixed("generator_cpu", iv.generator_cpu_percent, 1)
                               .raw("latency_ms", ms_json(iv.latency, true))
                               .str());
        std::fflush(stdout);
      },
      stop);
  if (!r) {
    fmt::print(stderr, "ws_load: error: {}\n", r.error().message);
    return static_cast<int>(r.error().exit_code());
  }
  fmt::print("{}\n", JsonObject()
                         .str("type", "result")
                         .num("connections_target", r->connections_target)
                         .num("connections_open", r->connections_open)
                         .num("connect_failures", r->connect_failures)
                         .num("connections_lost", r->connections_lost)
                         .raw("failures", map_json(r->failures))
                         .raw("close_codes", map_json(r->close_codes))
                         .fixed("connect_s", r->connect_s)
                         .raw("handshake_ms", ms_json(r->handshake, true))
                         .num("messages_published", r->messages_published)
                         .num("publish_errors", r->publish_errors)
                         .raw("publish_statuses", map_json(r->publish_statuses))
                         .raw("publish_ms", ms_json(r->publish, false))
                         .num("messages_expected", r->messages_expected)
                         .num("messages_received", r->messages_received)
                         .fixed("delivery_ratio", r->delivery_ratio(), 6)
                         .num("dropped_notices", r->dropped_notices)
                         .num("gaps", r->gaps)
                         .fixed("duration_s", r->duration_s)
                         .raw("latency_ms", ms_json(r->latency, true))
                         .fixed("generator_cpu_percent", r->generator_cpu_percent, 1)
                         .boolean("stopped", r->stopped)
                         .str());
  return 0;
}

/// Ends the process if the run overstays its hard timeout by 10 s (a wedged peer).
void start_watchdog(double limit_s) {
  std::thread([limit_s] {
    std::this_thread::sleep_for(std::chrono::duration<double>(limit_s + 10));
    fmt::print(stderr, "ws_load: watchdog: still running {} s past the hard timeout, exiting\n", 10);
    std::_Exit(1);
  }).detach();
}

} // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"ws_load: WebSocket load client for the push benchmarks (bench/ws_push.sh).\n"
               "Prints one JSON object on stdout; progress on stderr."};
  app.add_option("--url", opt.url, "ws://HOST:PORT/PATH?QUERY to connect to")->required();
  app.add_option("--connections", opt.connections, "connections to hold")->check(CLI::Range(1, 1'000'000));
  app.add_option("--ramp-per-second", opt.ramp, "connections opened per second")->check(CLI::PositiveNumber);
  app.add_option("--duration", opt.duration,
                 "seconds to hold (idle), to measure (receive), or at most to publish (publish)");
  app.add_flag("--idle", opt.idle, "only connect, hold and report connection figures");
  app.add_option("--threads", opt.threads, "receiving threads, each with its own epoll set")
      ->check(CLI::Range(1, 2));
  app.add_option("--publish-url", opt.publish_url, "http://HOST:PORT/api/ws/broadcast: publish from here");
  app.add_option("--publish-rate", opt.publish_rate,
                 "broadcasts per second; 0: bursts as fast as delivery allows");
  app.add_option("--publish-count", opt.publish_count, "broadcasts to send (0: until --duration)");
  app.add_option("--burst", opt.burst, "broadcasts per burst when --publish-rate is 0")
      ->check(CLI::PositiveNumber);
  app.add_option("--token", opt.token, "Authorization: Bearer token for the publish requests");
  app.add_option("--payload-bytes", opt.payload_bytes, "length of data.pad in each broadcast")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--topic", opt.topic, "topic of the broadcasts");
  app.add_option("--subscribe", opt.subscribe,
                 "comma-separated topics to subscribe with an op after the welcome");
  app.add_option("--connect-timeout", opt.connect_timeout, "seconds a connection may take to be ready");
  app.add_option("--drain-timeout", opt.drain_timeout, "seconds to wait for the deliveries after publishing");
  app.add_option("--hard-timeout", opt.hard_timeout,
                 "stop after this many seconds (default ramp + duration + 30)");
  app.add_option("--coalesce-us", opt.coalesce_us,
                 "sleep this long after a wait that returned fewer than 1024 ready sockets: fewer wake-ups, "
                 "up to this much added latency");
  app.add_option("--watch-pid", opt.watch_pid,
                 "server PID: report its VmRSS before and while held, and its CPU");
  app.add_flag("--run-ws", opt.run_ws,
               "run mp-bench's WebSocket target (lib/bench/ws_run.hpp): NDJSON intervals and a result; "
               "publishes at --publish-rate to --publish-url (default: the --url's server)");
  app.add_option("--warmup", opt.warmup, "--run-ws: seconds after the connect before measuring");
  app.add_option("--interval", opt.interval, "--run-ws: seconds per interval line")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (opt.run_ws) {
    start_watchdog(opt.hard_timeout > 0 ? opt.hard_timeout
                                        : opt.connections / opt.ramp + opt.warmup + opt.duration + 40);
    return run_ws_mode(opt);
  }

  const auto url = parse_url(opt.url, "ws");
  if (!url) {
    fmt::print(stderr, "ws_load: error: --url must be ws://HOST:PORT/PATH with a resolvable host\n");
    return 2;
  }
  std::optional<Url> publish_url;
  if (!opt.publish_url.empty()) {
    publish_url = parse_url(opt.publish_url, "http");
    if (!publish_url) {
      fmt::print(stderr, "ws_load: error: --publish-url must be http://HOST:PORT/PATH\n");
      return 2;
    }
  }
  if (!raise_fd_limit(static_cast<std::size_t>(opt.connections))) {
    fmt::print(stderr, "ws_load: warning: the RLIMIT_NOFILE hard limit is too low for {} connections\n",
               opt.connections);
  }
  Run run(opt, *url);
  start_watchdog(opt.hard_timeout > 0 ? opt.hard_timeout : opt.connections / opt.ramp + opt.duration + 30);
  return run.execute(publish_url);
}
