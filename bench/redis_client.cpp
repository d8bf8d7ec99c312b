// redis_client: the measurement behind mp's Redis client layer (issue #7 item 1, run by
// bench/redis_client.sh): a blocking hiredis connection on a dedicated thread against a
// hiredis async adapter on the Asio reactor, from one io_context thread (the "I/O thread")
// that never blocks.
//
//   --mode thread  the I/O thread queues each request (under a short lock) for a dedicated
//                  thread, which takes everything queued, sends it as one pipeline on a
//                  blocking mp::redis::Pool connection and posts the replies back with
//                  asio::post: the pipeline's L2 thread, reduced to its Redis traffic.
//   --mode async   a redisAsyncContext whose ev.addRead/delRead/addWrite/delWrite/cleanup
//                  hooks arm async_wait(wait_read / wait_write) on a stream_descriptor of
//                  its socket; hiredis reads, writes and runs the reply callbacks on the
//                  I/O thread.
//
// The workload is a closed loop: --outstanding K requests in flight, each one GET (or with
// --batch B, B pipelined GETs answered together, like SharedCache::get_many) of --key; a
// reply starts the next request. After --warmup replies it measures until --requests
// replies or --max-seconds: ops/s, p50/p99 latency (steady_clock, issue to reply callback),
// and CPU per op of the I/O thread (getrusage RUSAGE_THREAD) and of the process
// (RUSAGE_SELF). One JSON object on stdout. A watchdog ends a run that hangs (exit 1).

#include "redis/client.hpp"
#include "redis/url.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using mp::Errc;
using mp::Error;
using mp::Fatal;

struct Options {
  std::string mode = "thread";
  std::string url = "redis://127.0.0.1:6379/0";
  std::string key = "mp:bench:rcl";
  std::uint32_t outstanding = 16;
  std::uint32_t batch = 1;
  std::uint64_t requests = 100000;
  std::uint64_t warmup = 2000;
  double max_seconds = 10;
};

/// Called on the I/O thread when request `slot` is answered; ok is false unless every GET
/// of it returned a non-empty string.
using ReplySink = std::function<void(std::uint32_t slot, bool ok)>;

/// A way of sending requests. issue() and close() are called on the I/O thread and never
/// block it on Redis.
class Client {
public:
  virtual ~Client() = default;
  virtual void issue(std::uint32_t slot) = 0;
  /// No more requests: let the io_context run out of work.
  virtual void close() = 0;
};

// ---- thread: a blocking connection on a dedicated thread ----

class ThreadClient : public Client {
public:
  ThreadClient(asio::io_context& io, const mp::redis::RedisUrl& url, std::string key, std::uint32_t batch,
               ReplySink sink)
      : m_io(io), m_work(asio::make_work_guard(io)), m_pool(url, 1), m_key(std::move(key)), m_batch(batch),
        m_sink(std::move(sink)), m_thread([this] { loop(); }) {}
  ~ThreadClient() override {
    {
      std::lock_guard lock(m_mu);
      m_stop = true;
    }
    m_cv.notify_one();
    m_thread.join();
  }

  void issue(std::uint32_t slot) override {
    bool was_empty = false;
    {
      std::lock_guard lock(m_mu);
      was_empty = m_queue.empty();
      m_queue.push_back(slot);
    }
    // A non-empty queue has been signalled already and is taken whole by the next turn.
    if (was_empty) {
      m_cv.notify_one();
    }
  }
  void close() override { m_work.reset(); }

private:
  void loop() {
    std::vector<std::uint32_t> slots;
    for (;;) {
      {
        std::unique_lock lock(m_mu);
        m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
        if (m_queue.empty()) {
          return;
        }
        slots.swap(m_queue);
      }
      asio::post(m_io, [this, done = run(slots)] {
        for (auto [slot, ok] : done) {
          m_sink(slot, ok);
        }
      });
      slots.clear();
    }
  }

  /// One round trip for every GET of every queued request.
  std::vector<std::pair<std::uint32_t, bool>> run(const std::vector<std::uint32_t>& slots) {
    std::vector<std::vector<std::string_view>> commands(slots.size() * m_batch,
                                                        std::vector<std::string_view>{"GET", m_key});
    auto replies = m_pool.with([&](mp::redis::Connection& c) { return c.pipeline(commands); });
    std::vector<std::pair<std::uint32_t, bool>> done;
    done.reserve(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
      bool ok = replies.has_value();
      for (std::size_t j = 0; ok && j < m_batch; ++j) {
        const auto& r = (*replies)[i * m_batch + j];
        ok = r.type() == mp::redis::Reply::Type::string && !r.str().empty();
      }
      done.emplace_back(slots[i], ok);
    }
    return done;
  }

  asio::io_context& m_io;
  asio::executor_work_guard<asio::io_context::executor_type> m_work;
  mp::redis::Pool m_pool;
  std::string m_key;
  std::uint32_t m_batch;
  ReplySink m_sink;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::vector<std::uint32_t> m_queue;
  bool m_stop = false;
  std::thread m_thread; // last: starts once the rest exists
};

// ---- async: hiredis's async API on the Asio reactor ----

/// The adapter: hiredis says when it wants to read or write, this waits for the socket on
/// the io_context and calls redisAsyncHandleRead/Write. Each armed wait is one
/// EPOLL_CTL_MOD (Asio's wait ops are never speculative), which re-reports readiness that
/// an edge-triggered epoll would not repeat: a read hiredis left unfinished is not lost.
/// Owned by itself until hiredis calls cleanup (redisAsyncFree), and by pending waits.
class AsioEvents : public std::enable_shared_from_this<AsioEvents> {
public:
  static void attach(redisAsyncContext* ac, asio::io_context& io) {
    auto self = std::shared_ptr<AsioEvents>(new AsioEvents(ac, io));
    self->m_self = self;
    ac->ev.data = self.get();
    ac->ev.addRead = [](void* p) { static_cast<AsioEvents*>(p)->want(m_read_bit, true); };
    ac->ev.delRead = [](void* p) { static_cast<AsioEvents*>(p)->want(m_read_bit, false); };
    ac->ev.addWrite = [](void* p) { static_cast<AsioEvents*>(p)->want(m_write_bit, true); };
    ac->ev.delWrite = [](void* p) { static_cast<AsioEvents*>(p)->want(m_write_bit, false); };
    ac->ev.cleanup = [](void* p) { static_cast<AsioEvents*>(p)->cleanup(); };
  }

private:
  static constexpr unsigned m_read_bit = 1;
  static constexpr unsigned m_write_bit = 2;

  AsioEvents(redisAsyncContext* ac, asio::io_context& io) : m_ac(ac), m_socket(io, ac->c.fd) {}

  void want(unsigned bit, bool on) {
    m_wanted = on ? (m_wanted | bit) : (m_wanted & ~bit);
    arm();
  }
  void arm() {
    for (unsigned bit : {m_read_bit, m_write_bit}) {
      if (m_ac == nullptr || (m_wanted & bit) == 0 || (m_armed & bit) != 0) {
        continue;
      }
      m_armed |= bit;
      const auto type = bit == m_read_bit ? asio::posix::descriptor_base::wait_read
                                          : asio::posix::descriptor_base::wait_write;
      m_socket.async_wait(
          type, [self = shared_from_this(), bit](boost::system::error_code ec) { self->ready(bit, ec); });
    }
  }
  void ready(unsigned bit, boost::system::error_code ec) {
    m_armed &= ~bit;
    if (ec || m_ac == nullptr || (m_wanted & bit) == 0) {
      return;
    }
    // Either call may free the context (an error, a disconnect): cleanup() clears m_ac.
    if (bit == m_read_bit) {
      redisAsyncHandleRead(m_ac);
    } else {
      redisAsyncHandleWrite(m_ac);
    }
    arm();
  }
  void cleanup() {
    m_ac = nullptr;
    m_wanted = 0;
    // hiredis closes the socket itself; release() only cancels the waits.
    (void)m_socket.release();
    m_self.reset(); // the waits still pending keep the object until they are aborted
  }

  redisAsyncContext* m_ac;
  asio::posix::stream_descriptor m_socket;
  unsigned m_wanted = 0;
  unsigned m_armed = 0;
  std::shared_ptr<AsioEvents> m_self;
};

class AsyncClient : public Client {
public:
  AsyncClient(asio::io_context& io, const mp::redis::RedisUrl& url, std::string key, std::uint32_t batch,
              std::uint32_t slots, ReplySink sink)
      : m_io(io), m_key(std::move(key)), m_batch(batch), m_sink(std::move(sink)), m_slots(slots) {
    if (!url.password.empty() || url.db != 0) {
      throw Fatal(Error{Errc::usage, "--mode async sends no AUTH or SELECT: use redis://host:port/0", "url"});
    }
    m_ac = redisAsyncConnect(url.host.c_str(), url.port);
    if (m_ac == nullptr || m_ac->err != 0) {
      throw Fatal(Error{Errc::unavailable,
                        fmt::format("Redis {}: {}", url.redacted(), m_ac ? m_ac->errstr : "out of memory")});
    }
    m_ac->data = this;
    AsioEvents::attach(m_ac, io);
    // A refused connect reaches only the connect callback; a later loss only the other.
    redisAsyncSetConnectCallback(m_ac, [](const redisAsyncContext* ac, int status) {
      if (status != REDIS_OK) {
        fmt::print(stderr, "redis_client: error: Redis connect: {}\n", ac->errstr);
        std::_Exit(3);
      }
    });
    redisAsyncSetDisconnectCallback(m_ac, [](const redisAsyncContext* ac, int status) {
      if (status != REDIS_OK) {
        fmt::print(stderr, "redis_client: error: Redis connection lost: {}\n", ac->errstr);
        std::_Exit(3);
      }
    });
  }

  void issue(std::uint32_t slot) override {
    m_slots[slot] = Pending{m_batch, true};
    const char* argv[] = {"GET", m_key.c_str()};
    const std::size_t lens[] = {3, m_key.size()};
    for (std::uint32_t i = 0; i < m_batch; ++i) {
      redisAsyncCommandArgv(m_ac, &AsyncClient::on_reply, reinterpret_cast<void*>(std::uintptr_t{slot}), 2,
                            argv, lens);
    }
  }
  // Posted, not called from a reply callback: hiredis frees the context (and calls the
  // adapter's cleanup) at once when nothing is pending.
  void close() override {
    asio::post(m_io, [ac = m_ac] { redisAsyncDisconnect(ac); });
  }

private:
  struct Pending {
    std::uint32_t left = 0;
    bool ok = true;
  };

  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* self = static_cast<AsyncClient*>(ac->data);
    const auto slot = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(privdata));
    const auto* r = static_cast<const redisReply*>(reply);
    auto& p = self->m_slots[slot];
    p.ok = p.ok && r != nullptr && r->type == REDIS_REPLY_STRING && r->len > 0;
    if (--p.left == 0) {
      self->m_sink(slot, p.ok);
    }
  }

  asio::io_context& m_io;
  std::string m_key;
  std::uint32_t m_batch;
  ReplySink m_sink;
  std::vector<Pending> m_slots;
  redisAsyncContext* m_ac = nullptr;
};

// ---- the closed loop ----

struct Cpu {
  double thread_us = 0;
  double process_us = 0;
  long thread_vcsw = 0;
};

double micros(const timeval& t) {
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
}

/// Called on the I/O thread: its own CPU time and that of the whole process.
Cpu cpu_now() {
  rusage self{};
  rusage thread{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_THREAD, &thread);
  return {micros(thread.ru_utime) + micros(thread.ru_stime), micros(self.ru_utime) + micros(self.ru_stime),
          thread.ru_nvcsw};
}

/// K requests in flight; runs entirely on the I/O thread.
class Driver {
public:
  Driver(const Options& opts, std::function<void()> finished)
      : m_opts(opts), m_finished(std::move(finished)), m_issued_at(opts.outstanding) {
    m_latency_ns.reserve(opts.requests);
  }
  void set_client(Client* c) { m_client = c; }

  void start() {
    for (std::uint32_t s = 0; s < m_opts.outstanding; ++s) {
      issue(s);
    }
  }

  void on_reply(std::uint32_t slot, bool ok) {
    const auto now = Clock::now();
    ++m_completed;
    m_errors += ok ? 0 : 1;
    if (m_measuring) {
      m_latency_ns.push_back(static_cast<std::uint64_t>((now - m_issued_at[slot]).count()));
      if (m_latency_ns.size() == m_opts.requests || now >= m_deadline) {
        stop(now);
      }
    } else if (!m_stopping && m_completed == m_opts.warmup) {
      m_measuring = true;
      m_begin = now;
      m_deadline = now + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(m_opts.max_seconds));
      m_cpu_begin = cpu_now();
    }
    if (!m_stopping) {
      issue(slot);
    } else if (--m_in_flight == 0) {
      m_client->close();
      m_finished();
    }
  }

  void print(std::FILE* out) {
    const auto n = m_latency_ns.size();
    const double secs = std::chrono::duration<double>(m_end - m_begin).count();
    auto pct = [&](double q) {
      if (n == 0) {
        return 0.0;
      }
      const auto k = std::min(n - 1, static_cast<std::size_t>(q * static_cast<double>(n)));
      std::nth_element(m_latency_ns.begin(), m_latency_ns.begin() + static_cast<std::ptrdiff_t>(k),
                       m_latency_ns.end());
      return static_cast<double>(m_latency_ns[k]) / 1e3;
    };
    const double ops = static_cast<double>(std::max<std::size_t>(n, 1));
    fmt::print(out,
               "{{\"mode\":\"{}\",\"outstanding\":{},\"batch\":{},\"requests\":{},\"seconds\":{:.3f},"
               "\"ops_per_s\":{:.0f},\"gets_per_s\":{:.0f},\"p50_us\":{:.1f},\"p99_us\":{:.1f},"
               "\"io_cpu_us_per_op\":{:.2f},\"process_cpu_us_per_op\":{:.2f},\"io_vcsw_per_op\":{:.3f},"
               "\"errors\":{}}}\n",
               m_opts.mode, m_opts.outstanding, m_opts.batch, n, secs, static_cast<double>(n) / secs,
               static_cast<double>(n * m_opts.batch) / secs, pct(0.50), pct(0.99),
               (m_cpu_end.thread_us - m_cpu_begin.thread_us) / ops,
               (m_cpu_end.process_us - m_cpu_begin.process_us) / ops,
               static_cast<double>(m_cpu_end.thread_vcsw - m_cpu_begin.thread_vcsw) / ops, m_errors);
  }
  [[nodiscard]] bool measured() const { return !m_latency_ns.empty(); }
  [[nodiscard]] std::uint64_t errors() const { return m_errors; }

private:
  void issue(std::uint32_t slot) {
    m_issued_at[slot] = Clock::now();
    m_client->issue(slot);
  }
  // The window ends here, with K still in flight; they drain uncounted.
  void stop(Clock::time_point now) {
    m_end = now;
    m_cpu_end = cpu_now();
    m_measuring = false;
    m_stopping = true;
    m_in_flight = m_opts.outstanding;
  }

  Options m_opts;
  std::function<void()> m_finished;
  Client* m_client = nullptr;
  std::vector<Clock::time_point> m_issued_at;
  std::vector<std::uint64_t> m_latency_ns;
  std::uint64_t m_completed = 0;
  std::uint64_t m_errors = 0;
  std::uint32_t m_in_flight = 0;
  bool m_measuring = false;
  bool m_stopping = false;
  Clock::time_point m_begin, m_end, m_deadline;
  Cpu m_cpu_begin, m_cpu_end;
};

int run(const Options& opts) {
  const auto url = mp::value_or_throw(mp::redis::parse_url(opts.url, "url"));
  asio::io_context io(1);
  asio::steady_timer watchdog(
      io, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.max_seconds + 30)));
  watchdog.async_wait([](boost::system::error_code ec) {
    if (!ec) {
      fmt::print(stderr, "redis_client: no end after --max-seconds + 30 s: Redis stopped answering\n");
      std::_Exit(1);
    }
  });
  Driver driver(opts, [&] { watchdog.cancel(); });
  ReplySink sink = [&](std::uint32_t slot, bool ok) { driver.on_reply(slot, ok); };
  std::unique_ptr<Client> client;
  if (opts.mode == "thread") {
    client = std::make_unique<ThreadClient>(io, url, opts.key, opts.batch, sink);
  } else {
    client = std::make_unique<AsyncClient>(io, url, opts.key, opts.batch, opts.outstanding, sink);
  }
  driver.set_client(client.get());
  asio::post(io, [&] { driver.start(); });
  io.run();
  if (!driver.measured()) {
    throw Fatal(Error{Errc::internal, "nothing measured: --requests or --max-seconds too small"});
  }
  driver.print(stdout);
  if (driver.errors() != 0) {
    throw Fatal(
        Error{Errc::unavailable, fmt::format("{} requests failed (is {} set?)", driver.errors(), opts.key)});
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Options opts;
  CLI::App app{"dedicated-thread vs async-adapter Redis client, from one Asio I/O thread"};
  app.add_option("--mode", opts.mode, "thread or async")->check(CLI::IsMember({"thread", "async"}));
  app.add_option("--url", opts.url, "redis://host:port/db (async: db 0, no password)");
  app.add_option("--key", opts.key, "the key every GET reads (must hold a string)");
  app.add_option("--outstanding,-k", opts.outstanding, "requests in flight")->check(CLI::Range(1, 65536));
  app.add_option("--batch", opts.batch, "pipelined GETs per request")->check(CLI::Range(1, 4096));
  app.add_option("--requests,-n", opts.requests, "replies measured")->check(CLI::Range(1, 100000000));
  app.add_option("--warmup", opts.warmup, "replies before measuring")->check(CLI::PositiveNumber);
  app.add_option("--max-seconds", opts.max_seconds, "end of the measured window at the latest")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(opts);
  } catch (const Fatal& e) {
    fmt::print(stderr, "redis_client: error: {}\n", e.what());
    return static_cast<int>(e.error().exit_code());
  }
}
