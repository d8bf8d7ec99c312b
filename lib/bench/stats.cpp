// Counting and merging windows (stats.hpp).

#include "bench/stats.hpp"

#include <algorithm>

namespace mp::bench {

namespace {
constexpr std::string_view k_kind_names[] = {"timeout",    "connect_refused", "connect_error",
                                             "read_error", "protocol",        "closed"};

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
} // namespace

std::string_view error_kind_name(ErrorKind k) {
  return k_kind_names[static_cast<std::size_t>(k)];
}

std::uint64_t Window::status_errors() const {
  std::uint64_t n = 0;
  for (int c = 400; c < k_max_status; ++c) {
    n += status[static_cast<std::size_t>(c)];
  }
  return n + status[0]; // 0: a status line we could not read as one
}

std::uint64_t Window::errors() const {
  std::uint64_t n = status_errors();
  for (auto f : failures) {
    n += f;
  }
  return n;
}

void Window::merge(const Window& o, bool later) {
  sent += o.sent;
  completed += o.completed;
  ok += o.ok;
  late += o.late;
  dropped += o.dropped;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  cpu_ns += o.cpu_ns;
  if (later) {
    threads = std::max(threads, o.threads);
    connections = std::max(connections, o.connections);
    users = std::max(users, o.users);
  } else {
    threads += o.threads;
    connections += o.connections;
    users += o.users;
  }
  for (std::size_t i = 0; i < status.size(); ++i) {
    status[i] += o.status[i];
  }
  for (std::size_t i = 0; i < failures.size(); ++i) {
    failures[i] += o.failures[i];
  }
  latency.merge(o.latency);
  service.merge(o.service);
}

double Totals::error_rate() const {
  return w.completed ? static_cast<double>(w.errors()) / static_cast<double>(w.completed) : 0;
}

double Totals::late_rate() const {
  return w.sent ? static_cast<double>(w.late) / static_cast<double>(w.sent) : 0;
}

double Totals::cpu_percent() const {
  const double capacity = duration_s * 1e9 * static_cast<double>(std::max<std::uint64_t>(w.threads, 1));
  return capacity > 0 ? 100.0 * static_cast<double>(w.cpu_ns) / capacity : 0;
}

std::optional<double> metric_value(const Totals& t, std::string_view m) {
  const auto& lat = t.w.latency;
  const auto& svc = t.w.service;
  auto pct = [](const util::Histogram& h, std::string_view name) -> std::optional<double> {
    if (name == "p50")
      return ms(h.quantile_ns(0.50));
    if (name == "p90")
      return ms(h.quantile_ns(0.90));
    if (name == "p95")
      return ms(h.quantile_ns(0.95));
    if (name == "p99")
      return ms(h.quantile_ns(0.99));
    if (name == "p99.9" || name == "p99_9")
      return ms(h.quantile_ns(0.999));
    if (name == "max")
      return ms(h.max_ns());
    if (name == "min")
      return ms(h.min_ns());
    if (name == "mean")
      return h.mean_ns() / 1e6;
    return std::nullopt;
  };
  if (m.starts_with("service_")) {
    return pct(svc, m.substr(8));
  }
  if (auto v = pct(lat, m)) {
    return v;
  }
  if (m == "error_rate")
    return t.error_rate();
  if (m == "late_rate")
    return t.late_rate();
  if (m == "rps")
    return t.achieved_rps();
  if (m == "requests")
    return static_cast<double>(t.w.completed);
  if (m == "errors")
    return static_cast<double>(t.w.errors());
  if (m == "dropped")
    return static_cast<double>(t.w.dropped);
  return std::nullopt;
}

} // namespace mp::bench
