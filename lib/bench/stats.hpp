#pragma once
// What a load generator counts: one Window per interval and thread, merged by the main
// thread into interval events, stages and the run's totals. A window is fixed-size (two
// histograms of 30 KiB and a status table), so an endurance run's memory does not grow.

#include "util/histogram.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::bench {

/// Why a request did not get a response (status >= 400 is counted by status, not here).
enum class ErrorKind : std::uint8_t {
  timeout,
  connect_refused,
  connect_error,
  read_error,
  protocol,
  closed,
  count
};

std::string_view error_kind_name(ErrorKind k);

inline constexpr int k_max_status = 600;

struct Window {
  std::uint64_t sent = 0;      ///< requests written
  std::uint64_t completed = 0; ///< responses, errors and timeouts
  std::uint64_t ok = 0;        ///< responses with status < 400
  std::uint64_t late = 0;      ///< sent more than k_late_ns after their intended time
  std::uint64_t dropped = 0;   ///< due but never sent (backlog bound, or the run ended)
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t cpu_ns = 0;  ///< the threads' CPU time in this window
  std::uint64_t threads = 0; ///< how many threads' windows were merged into this one
  std::uint64_t connections = 0;
  std::uint64_t users = 0;
  std::array<std::uint64_t, k_max_status> status{};
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorKind::count)> failures{};
  util::Histogram latency; ///< from the intended send time (CO-correct)
  util::Histogram service; ///< from the actual send time

  void record_status(int code) {
    status[static_cast<std::size_t>(code > 0 && code < k_max_status ? code : 0)]++;
  }
  void record_failure(ErrorKind k) { failures[static_cast<std::size_t>(k)]++; }
  [[nodiscard]] std::uint64_t errors() const;
  [[nodiscard]] std::uint64_t status_errors() const;
  /// Adds `other`'s counts: the window of another thread over the same time (threads,
  /// connections and users add up), or with `later`, a later window of the same threads
  /// (they keep the larger).
  void merge(const Window& other, bool later = false);
};

/// A request sent later than this after its intended time counts as late.
inline constexpr std::int64_t k_late_ns = 10'000'000;

/// A run's or stage's statistics, ready to be judged and written: a merged window and its length.
struct Totals {
  Window w;
  double duration_s = 0;
  double target_rps = 0;
  double cpu_percent_max = 0;

  [[nodiscard]] double achieved_rps() const {
    return duration_s > 0 ? static_cast<double>(w.completed) / duration_s : 0;
  }
  [[nodiscard]] double error_rate() const;
  [[nodiscard]] double late_rate() const;
  [[nodiscard]] double cpu_percent() const;
};

/// The value of a threshold metric (bench/threshold.hpp) over `t`: latencies in ms, rates
/// as fractions; nullopt for a metric this kind of run does not have.
std::optional<double> metric_value(const Totals& t, std::string_view metric);

} // namespace mp::bench
