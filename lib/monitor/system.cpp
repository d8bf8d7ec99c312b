#include "monitor/system.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mp::monitor {

namespace {

/// utime + stime in seconds, threads and RSS pages from /proc/self/stat.
bool read_self_stat(double& cpu_seconds, double& threads, double& rss_pages) {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')'); // the command name may hold spaces
  if (close == std::string::npos) {
    return false;
  }
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) {
    f.push_back(x);
  }
  // Fields after the name, 0-based from "state": utime 11, stime 12, num_threads 17, rss 21.
  if (f.size() < 22) {
    return false;
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / tick;
  threads = std::stod(f[17]);
  rss_pages = std::stod(f[21]);
  return true;
}

bool read_host_cpu(std::uint64_t& busy, std::uint64_t& total) {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") {
    return false;
  }
  busy = user + nice + system + irq + softirq + steal;
  total = busy + idle + iowait;
  return true;
}

double count_fds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) {
      ++n;
    }
    closedir(d);
    n -= 3; // ".", ".." and the directory's own descriptor
  }
  return n < 0 ? 0 : n;
}

} // namespace

std::vector<std::pair<std::string, double>> SystemSampler::sample(double now) {
  std::vector<std::pair<std::string, double>> out;
  double cpu = 0, threads = 0, rss_pages = 0;
  if (read_self_stat(cpu, threads, rss_pages)) {
    out.emplace_back("process_rss_bytes", rss_pages * static_cast<double>(sysconf(_SC_PAGESIZE)));
    out.emplace_back("process_threads", threads);
    if (m_prev_time >= 0 && now > m_prev_time) {
      out.emplace_back("process_cpu_percent", 100.0 * (cpu - m_prev_process_cpu) / (now - m_prev_time));
    }
    m_prev_process_cpu = cpu;
  }
  std::uint64_t busy = 0, total = 0;
  if (read_host_cpu(busy, total)) {
    if (m_prev_time >= 0 && total > m_prev_host_total) {
      out.emplace_back("host_cpu_percent", 100.0 * static_cast<double>(busy - m_prev_host_busy) /
                                               static_cast<double>(total - m_prev_host_total));
    }
    m_prev_host_busy = busy;
    m_prev_host_total = total;
  }
  m_prev_time = now;
  out.emplace_back("process_open_fds", count_fds());
  std::ifstream mem("/proc/meminfo");
  double mem_total = 0, mem_available = 0;
  for (std::string key; mem >> key;) {
    double v = 0;
    std::string unit;
    mem >> v >> unit;
    if (key == "MemTotal:") {
      mem_total = v * 1024;
    } else if (key == "MemAvailable:") {
      mem_available = v * 1024;
    }
  }
  if (mem_total > 0) {
    out.emplace_back("host_memory_used_percent", 100.0 * (1.0 - mem_available / mem_total));
    out.emplace_back("host_memory_available_bytes", mem_available);
  }
  std::ifstream net("/proc/net/dev");
  std::string line;
  double rx = 0, tx = 0;
  std::getline(net, line);
  std::getline(net, line); // two header lines
  while (std::getline(net, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::istringstream f(line.substr(colon + 1));
    double v[9] = {};
    for (double& x : v) {
      f >> x;
    }
    rx += v[0]; // receive bytes
    tx += v[8]; // transmit bytes
  }
  out.emplace_back("network_receive_bytes_total", rx);
  out.emplace_back("network_transmit_bytes_total", tx);
  return out;
}

} // namespace mp::monitor
