#pragma once
// Process and host figures from /proc, for the collector: CPU percent from the change
// since the previous sample, memory, open file descriptors, threads, network bytes.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mp::monitor {

class SystemSampler {
public:
  /// (metric name, value) pairs: process_cpu_percent (of one core), host_cpu_percent
  /// (of all cores), process_rss_bytes, process_threads, process_open_fds,
  /// host_memory_used_percent, host_memory_available_bytes, network_receive_bytes_total,
  /// network_transmit_bytes_total. The CPU figures need a previous sample: the first
  /// call leaves them out. `now` is steady seconds.
  std::vector<std::pair<std::string, double>> sample(double now);

private:
  double m_prev_time = -1;
  double m_prev_process_cpu = 0; ///< seconds
  std::uint64_t m_prev_host_busy = 0;
  std::uint64_t m_prev_host_total = 0;
};

} // namespace mp::monitor
