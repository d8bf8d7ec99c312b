#include "bench/ws_run.hpp"

#include "bench/ws_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace mp::bench {

using namespace ws;

std::string ws_connect_url(const WsRunOptions& opt) {
  std::string url = opt.url;
  if (!opt.token.empty() && !has_query_param(url, "token")) {
    url = with_query_param(url, "token", opt.token);
  }
  if (!opt.topic.empty() && !has_query_param(url, "topics")) {
    url = with_query_param(url, "topics", opt.topic);
  }
  return url;
}

namespace {

Expected<void> check_options(const WsRunOptions& opt) {
  auto bad = [](std::string field, std::string message) {
    return fail(Errc::usage, std::move(message), std::move(field));
  };
  if (opt.connections < 1) {
    return bad("connections", "connections must be at least 1");
  }
  if (!(opt.ramp_rate > 0)) {
    return bad("ramp_rate", "the ramp rate must be positive");
  }
  if (opt.threads < 1) {
    return bad("threads", "threads must be at least 1");
  }
  if (!(opt.interval_s > 0)) {
    return bad("interval", "the interval must be positive");
  }
  if (opt.duration_s < 0 || opt.warmup_s < 0 || opt.publish_rate < 0 || opt.payload_bytes < 0 ||
      opt.connect_timeout_s < 0 || opt.drain_timeout_s < 0) {
    return bad("", "durations, rates and sizes must not be negative");
  }
  return {};
}

/// Cuts the run into intervals and hands each to the callback; lives on the calling thread.
class Intervals {
public:
  Intervals(Session& session, const PublishStats& pub, const std::function<void(const WsInterval&)>& sink,
            double interval_s, int threads)
      : m_session(session), m_pub(pub), m_sink(sink),
        m_interval_ns(static_cast<std::int64_t>(interval_s * 1e9)), m_threads(threads), m_start(mono_ns()),
        m_last(m_start) {}

  void tick() {
    if (mono_ns() - m_last >= m_interval_ns) {
      emit();
    }
  }
  /// Ends the current interval now (at a phase change) and marks the next as `warmup`.
  void cut(bool next_warmup) {
    emit();
    m_warmup = next_warmup;
  }
  /// Ends the interval at `now` (monotonic ns).
  void emit(std::int64_t now = mono_ns()) {
    IntervalCounts c = m_session.take_interval();
    WsInterval iv;
    iv.t = seconds(now - m_start);
    iv.dt = seconds(now - m_last);
    iv.warmup = m_warmup;
    iv.published = m_pub.published - m_published;
    iv.received = c.events + c.warm_events - m_events;
    iv.connections_open = static_cast<std::uint64_t>(std::max(m_session.open(), 0));
    iv.failures = c.failures - m_failures;
    const double cpu_s = seconds(c.cpu_ns - m_cpu_ns);
    iv.generator_cpu_percent = iv.dt > 0 ? 100.0 * cpu_s / (iv.dt * m_threads) : 0.0;
    iv.latency = c.latency;
    m_published = m_pub.published;
    m_events = c.events + c.warm_events;
    m_failures = c.failures;
    m_cpu_ns = c.cpu_ns;
    m_last = now;
    if (m_sink) {
      m_sink(iv);
    }
  }
  [[nodiscard]] std::int64_t start_ns() const { return m_start; }

private:
  Session& m_session;
  const PublishStats& m_pub;
  const std::function<void(const WsInterval&)>& m_sink;
  std::int64_t m_interval_ns;
  int m_threads;
  std::int64_t m_start, m_last;
  std::uint64_t m_published = 0, m_events = 0, m_failures = 0;
  std::int64_t m_cpu_ns = 0;
  bool m_warmup = true;
};

/// "no WebSocket connection became ready (timeout 90, connect_refused 10)".
std::string none_ready_message(const std::map<std::string, std::uint64_t>& kinds, const std::string& url) {
  std::vector<std::pair<std::string, std::uint64_t>> sorted(kinds.begin(), kinds.end());
  std::ranges::sort(sorted, [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string list;
  for (std::size_t i = 0; i < sorted.size() && i < 3; ++i) {
    list += fmt::format("{}{} {}", i ? ", " : "", sorted[i].first, sorted[i].second);
  }
  return fmt::format("no WebSocket connection to {} became ready ({})", url,
                     list.empty() ? "none opened" : list);
}

/// `url` with the value of a `token=` parameter hidden, for messages.
std::string without_token(std::string url) {
  if (const auto at = url.find("token="); at != std::string::npos) {
    const auto end = url.find('&', at);
    url.replace(at + 6, end == std::string::npos ? std::string::npos : end - at - 6, "***");
  }
  return url;
}

/// The figures of a finished session.
void fill_result(const Session& session, const PublishStats& pub, std::uint64_t published_before,
                 WsResult& r) {
  const Stats all = session.merged();
  r.latency = all.latency;
  r.handshake = all.welcome;
  r.publish = pub.rtt;
  r.connections_target = session.connections();
  r.connections_open = all.received.size();
  r.connections_lost = all.lost;
  for (const auto& [reason, count] : all.failures) {
    r.failures[failure_kind(reason)] += count;
    if (!reason.starts_with("after_ready_")) {
      r.connect_failures += count;
    }
  }
  r.messages_published = pub.published - published_before;
  r.publish_errors = pub.errors;
  r.publish_statuses = pub.statuses;
  r.messages_expected = r.connections_open * r.messages_published;
  for (const std::uint32_t n : all.received) {
    r.messages_received += n;
  }
  r.dropped_notices = all.dropped_notices;
  r.gaps = all.gaps;
  r.close_codes = all.close_codes;
}

} // namespace

Expected<WsResult> run_ws(const WsRunOptions& opt, const std::function<void(const WsInterval&)>& on_interval,
                          const std::atomic<bool>& stop) {
  if (auto ok = check_options(opt); !ok) {
    return std::unexpected(ok.error());
  }
  const std::string connect_url = ws_connect_url(opt);
  auto url = parse_url(connect_url, "ws");
  if (!url) {
    return fail(Errc::usage, fmt::format("'{}' is not ws://HOST[:PORT]/PATH with a resolvable host", opt.url),
                "url");
  }
  std::optional<Url> publish_to;
  if (opt.publish_rate > 0) {
    const std::string text = broadcast_url(opt.url, opt.publish_url);
    publish_to = parse_url(text, "http");
    if (!publish_to) {
      return fail(Errc::usage,
                  fmt::format("'{}' is not http://HOST[:PORT][/PATH] with a resolvable host", text),
                  "publish_url");
    }
  }
  raise_fd_limit(static_cast<std::size_t>(opt.connections));

  WorkerOptions wo;
  wo.ramp = opt.ramp_rate;
  wo.threads = opt.threads;
  wo.connect_timeout = opt.connect_timeout_s;
  Session session(wo, std::move(*url), static_cast<std::size_t>(opt.connections));
  PublishStats pub;
  Intervals timed(session, pub, on_interval, opt.interval_s, session.threads());
  session.on_tick = [&] { timed.tick(); };
  session.stopped = [&] { return stop.load(std::memory_order_relaxed); };

  WsResult r;
  session.start();
  r.connect_s = session.connect_all(opt.connections / opt.ramp_rate + opt.connect_timeout_s + 2);
  if (session.open() == 0) {
    session.finish();
    std::map<std::string, std::uint64_t> kinds;
    for (const auto& [reason, count] : session.merged().failures) {
      kinds[failure_kind(reason)] += count;
    }
    return fail(Errc::unavailable, none_ready_message(kinds, without_token(connect_url)), "url");
  }
  const std::string body = broadcast_body(opt.topic, opt.payload_bytes);
  std::optional<Publisher> publisher;
  if (publish_to) {
    publisher.emplace(*publish_to, opt.token);
  }
  const auto ns = [](double s) { return static_cast<std::int64_t>(s * 1e9); };
  if (opt.warmup_s > 0 && !stop.load()) {
    timed.cut(true);
    const std::int64_t until = mono_ns() + ns(opt.warmup_s);
    if (publisher) {
      session.publish_paced(*publisher, body, opt.publish_rate, UINT64_MAX, until, pub);
      session.wait_until(until, {}); // the last post was due before the end of the window
      session.drain_warm(pub.published, opt.drain_timeout_s);
    } else {
      session.wait_until(until, {});
    }
  }
  const std::uint64_t published_before = pub.published;
  timed.cut(false);
  session.set_phase(Phase::measuring);
  const std::int64_t measure_start = mono_ns();
  const std::int64_t measure_until = measure_start + ns(opt.duration_s);
  if (publisher) {
    session.publish_paced(*publisher, body, opt.publish_rate, UINT64_MAX, measure_until, pub);
  }
  session.wait_until(measure_until, {});
  if (publisher) {
    session.drain(pub.published - published_before, opt.drain_timeout_s);
  }
  const std::int64_t measure_end = mono_ns();
  r.duration_s = seconds(measure_end - measure_start);
  r.stopped = stop.load();
  timed.emit(measure_end); // before the close, whose CPU belongs to no interval
  session.finish();
  fill_result(session, pub, published_before, r);
  std::int64_t cpu_ns = 0;
  for (const auto& w : session.workers()) {
    cpu_ns += w->cpu_ns();
  }
  const double wall = seconds(mono_ns() - timed.start_ns());
  r.generator_cpu_percent = wall > 0 ? 100.0 * seconds(cpu_ns) / (wall * session.threads()) : 0;
  return r;
}

} // namespace mp::bench
