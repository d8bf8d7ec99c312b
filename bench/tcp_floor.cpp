// mp-bench-tcp-floor: what this machine's kernel alone allows for bench/ws_push.sh's latency
// test. N loopback TCP connections; writer threads put one small segment on each of them R
// times a second (no WebSocket, no framing, no JSON, no queue: a loop of send(2)); one
// epoll thread in a second process reads them and times each arrival against the moment
// its broadcast began.
// No server can hand one message to each of N sockets sooner than this loop does, so its
// p99 is the floor under mp-serve's (and Node ws's) publish-to-receipt p99 here.
//
// Usage: mp-bench-tcp-floor [--connections 10000] [--rate 10] [--count 100] [--warm 10]
//        [--payload-bytes 100] [--writers 2]
// Prints one JSON object: latency_ms {p50,p90,p99,max} over the broadcasts after --warm,
// deliveries and expected, and the CPU each side spent per delivery.

#include <fmt/format.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Options {
  int connections = 10'000;
  int rate = 10;
  int count = 100;
  int warm = 10;
  int payload = 100;
  int writers = 2;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double thread_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "mp-bench-tcp-floor: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               std::strerror(errno));
  std::exit(1);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    int* target = flag == "--connections"     ? &o.connections
                  : flag == "--rate"          ? &o.rate
                  : flag == "--count"         ? &o.count
                  : flag == "--warm"          ? &o.warm
                  : flag == "--payload-bytes" ? &o.payload
                  : flag == "--writers"       ? &o.writers
                                              : nullptr;
    if (target == nullptr || i + 1 == argc) {
      std::fprintf(stderr, "mp-bench-tcp-floor: unknown flag or missing value: %s\n", argv[i]);
      return false;
    }
    const std::string_view v = argv[++i];
    if (std::from_chars(v.data(), v.data() + v.size(), *target).ec != std::errc{} || *target <= 0) {
      std::fprintf(stderr, "mp-bench-tcp-floor: %s wants a positive whole number, not %s\n", argv[i - 1],
                   argv[i]);
      return false;
    }
  }
  if (o.payload < 8 || o.payload > 256 || o.warm >= o.count) {
    std::fprintf(stderr, "mp-bench-tcp-floor: --payload-bytes 8..256, --warm below --count\n");
    return false;
  }
  return true;
}

/// A listener on 127.0.0.1, port chosen by the kernel.
int listen_loopback(sockaddr_in& addr) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listener, 4096) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("listen on 127.0.0.1");
  }
  return listener;
}

std::vector<int> connect_all(const sockaddr_in& addr, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    // Blocking, one at a time: a burst of connects past the listen backlog would be retried
    // after a second, or completed by SYN cookies on one side only.
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0) {
      die("socket (raise ulimit -n)");
    }
    if (connect(c, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      die("connect");
    }
    fcntl(c, F_SETFL, O_NONBLOCK);
    fds.push_back(c);
  }
  return fds;
}

std::vector<int> accept_all(int listener, int n) {
  std::vector<int> fds;
  const int one = 1;
  for (int i = 0; i < n; ++i) {
    const int s = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
    if (s < 0) {
      die("accept (raise ulimit -n)");
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // as every WebSocket server sets it
    fds.push_back(s);
  }
  return fds;
}

void write_exact(int fd, const void* p, std::size_t n) {
  if (write(fd, p, n) != static_cast<ssize_t>(n)) {
    die("pipe write");
  }
}

void read_exact(int fd, void* p, std::size_t n) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = read(fd, static_cast<char*>(p) + got, n - got);
    if (r <= 0) {
      die("pipe read");
    }
    got += static_cast<std::size_t>(r);
  }
}

struct Reader {
  std::vector<std::uint32_t> latency_us; ///< one per delivery of a measured broadcast
  std::uint64_t deliveries = 0;
  double cpu_s = 0;
};

/// Reads every connection until `expected` records arrived or `deadline_ns` passed.
void read_all(const std::vector<int>& fds, int payload, std::uint64_t expected, std::int64_t measure_from,
              std::int64_t deadline_ns, Reader& out) {
  const int ep = epoll_create1(0);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
      die("epoll_ctl");
    }
  }
  struct Partial {
    std::array<char, 256> bytes{};
    int have = 0;
  };
  std::vector<Partial> partial(fds.size());
  std::vector<epoll_event> events(1024);
  std::array<char, 4096> buf{};
  const double cpu0 = thread_cpu_s();
  while (out.deliveries < expected && now_ns() < deadline_ns) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      const auto i = events[e].data.u64;
      const ssize_t r = read(fds[i], buf.data(), buf.size());
      if (r <= 0) {
        continue;
      }
      const std::int64_t t = now_ns();
      Partial& p = partial[i];
      for (ssize_t off = 0; off < r;) {
        const auto take = std::min<ssize_t>(payload - p.have, r - off);
        std::memcpy(p.bytes.data() + p.have, buf.data() + off, static_cast<std::size_t>(take));
        p.have += static_cast<int>(take);
        off += take;
        if (p.have == payload) {
          std::int64_t sent = 0;
          std::memcpy(&sent, p.bytes.data(), sizeof sent);
          ++out.deliveries;
          if (sent >= measure_from) {
            out.latency_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(t - sent, 0) / 1000));
          }
          p.have = 0;
        }
      }
    }
  }
  out.cpu_s = thread_cpu_s() - cpu0;
  close(ep);
}

double percentile_ms(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i] / 1000.0;
}

/// What the reading process reports back.
struct ReaderReport {
  std::uint64_t deliveries = 0, measured = 0;
  double cpu_s = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct Schedule {
  std::int64_t start = 0, period = 0, measure_from = 0, deadline = 0;
};

} // namespace

// Two processes, so that each holds one side of the N connections (one descriptor each, as
// a server and its client would): the child connects and reads, the parent accepts and sends.
int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    return 2;
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  sockaddr_in addr{};
  const int listener = listen_loopback(addr);
  int to_child[2], to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
    die("pipe");
  }
  const auto expected = static_cast<std::uint64_t>(o.connections) * static_cast<std::uint64_t>(o.count);
  const pid_t child = fork();
  if (child < 0) {
    die("fork");
  }
  if (child == 0) {
    close(listener);
    const std::vector<int> fds = connect_all(addr, o.connections);
    Schedule at;
    read_exact(to_child[0], &at, sizeof at);
    Reader reader;
    read_all(fds, o.payload, expected, at.measure_from, at.deadline, reader);
    ReaderReport r{reader.deliveries, reader.latency_us.size(), reader.cpu_s};
    r.p50 = percentile_ms(reader.latency_us, 0.50);
    r.p90 = percentile_ms(reader.latency_us, 0.90);
    r.p99 = percentile_ms(reader.latency_us, 0.99);
    r.max = percentile_ms(reader.latency_us, 1.0);
    write_exact(to_parent[1], &r, sizeof r);
    _exit(0);
  }
  const std::vector<int> senders = accept_all(listener, o.connections);
  close(listener);
  Schedule at;
  at.start = now_ns() + 300'000'000; // the reader is waiting by then
  at.period = 1'000'000'000 / o.rate;
  at.measure_from = at.start + static_cast<std::int64_t>(o.warm) * at.period;
  at.deadline = at.start + (o.count + 50) * at.period;
  write_exact(to_child[1], &at, sizeof at);

  // Each writer owns a slice of the connections and sends broadcast b at start + b * period.
  std::vector<double> writer_cpu(static_cast<std::size_t>(o.writers));
  std::atomic<std::uint64_t> send_errors{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < o.writers; ++w) {
    writers.emplace_back([&, w] {
      const std::size_t n = senders.size(), per = (n + static_cast<std::size_t>(o.writers) - 1) /
                                                  static_cast<std::size_t>(o.writers);
      const std::size_t from = static_cast<std::size_t>(w) * per, to = std::min(n, from + per);
      std::array<char, 256> msg{};
      const double cpu0 = thread_cpu_s();
      for (int b = 0; b < o.count; ++b) {
        const std::int64_t when = at.start + b * at.period;
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<std::int64_t>(when - now_ns(), 0)));
        const std::int64_t t0 = now_ns(); // the broadcast's moment, as a server stamps its ts
        std::memcpy(msg.data(), &t0, sizeof t0);
        for (std::size_t i = from; i < to; ++i) {
          if (send(senders[i], msg.data(), static_cast<std::size_t>(o.payload),
                   MSG_NOSIGNAL | MSG_DONTWAIT) != o.payload) {
            if (send_errors.fetch_add(1, std::memory_order_relaxed) == 0) {
              std::fprintf(stderr, "mp-bench-tcp-floor: send: %s (counted in send_errors)\n",
                           std::strerror(errno));
            }
          }
        }
      }
      writer_cpu[static_cast<std::size_t>(w)] = thread_cpu_s() - cpu0;
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  ReaderReport r;
  read_exact(to_parent[0], &r, sizeof r);
  waitpid(child, nullptr, 0);
  double wcpu = 0;
  for (const double c : writer_cpu) {
    wcpu += c;
  }
  const double d = static_cast<double>(std::max<std::uint64_t>(r.deliveries, 1));
  fmt::print(R"({{"connections":{},"broadcasts":{},"rate":{},"writers":{},"payload_bytes":{},)"
             R"("expected":{},"deliveries":{},"measured":{},"send_errors":{},)"
             R"("latency_ms":{{"p50":{:.2f},"p90":{:.2f},"p99":{:.2f},"max":{:.2f}}},)"
             R"("writer_cpu_us_per_delivery":{:.2f},"reader_cpu_us_per_delivery":{:.2f}}})"
             "\n",
             o.connections, o.count, o.rate, o.writers, o.payload, expected, r.deliveries, r.measured,
             send_errors.load(), r.p50, r.p90, r.p99, r.max, wcpu * 1e6 / d, r.cpu_s * 1e6 / d);
  for (const int fd : senders) {
    close(fd);
  }
  return r.deliveries == expected ? 0 : 1;
}
