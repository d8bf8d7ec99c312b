#pragma once
// The load generator's WebSocket connections: one Worker per thread holds its share of them in its own epoll
// set.
//
// A worker opens its share at its part of the ramp rate, does the upgrade (random
// Sec-WebSocket-Key, checks the 101 and Sec-WebSocket-Accept), then reads each socket into
// one 64 KiB buffer per thread and walks the frame headers (7/16/64-bit lengths; server
// frames are unmasked). Text frames are judged by their first bytes' fields: the first one
// is the welcome; an event has `"seq":` before `"ts":` and is counted and timed; `dropped`
// and `gap` notices are counted; pings get masked pongs; a close is answered. Nothing is
// allocated per frame: a connection is a few counters and the tail of a frame cut by a read
// (carried to the front of the buffer before the next read).
//
// Reads are edge-triggered, one chunk per socket per turn; a socket that filled the chunk
// is read again next turn after the others, so a busy socket cannot starve the rest and
// epoll does not re-poll every ready socket as level-triggering would.
//
// Cost, measured on the 2-core VM (perf): the kernel's recv of a loopback segment, with the
// ACK it sends, is nearly all of it; the frame walk is a few percent. A read that carries
// ~20 frames gives ~2.3 million frames/s per client core; a read that carries one costs
// 3-5 us, so a server that writes one frame per socket write is met by ~250k reads/s per
// client thread (--threads 2 doubles that, on cores the server also wants).
//
// Intervals: the main thread asks for one by bumping Shared::rotation; each worker notices at
// the end of its loop turn (one relaxed load per turn, none per frame), folds the latencies
// recorded since into its totals and hands them, with its counters, to a mutex-guarded slot
// (Session::take_interval). Events read in the warm-up go to a histogram of their own, so
// the hot path still records each event once.

#include "bench/ws_wire.hpp"
#include "util/histogram.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench::ws {

/// What one read asks for.
inline constexpr std::size_t k_chunk = std::size_t{64} * 1024;

/// What the workers need to know of a run.
struct WorkerOptions {
  double ramp = 5000;          ///< connections opened per second, over all workers
  int threads = 1;             ///< workers sharing the ramp
  double connect_timeout = 10; ///< seconds a connection may take to be ready
  std::string subscribe;       ///< comma-separated topics to subscribe with an op after the welcome
  int coalesce_us = 0;         ///< sleep after a wait that returned fewer than 1024 sockets
};

/// connecting: the ramp opens connections; warming: events are read and timed but not
/// counted; measuring: events count; closing: close handshakes, then the workers return.
enum class Phase : int { connecting, warming, measuring, closing };
enum class State : std::uint8_t { unused, connecting, upgrading, open, closing, closed };

/// What the workers and the main thread share; everything else is one thread's own.
struct Shared {
  WorkerOptions opt;
  Url url;
  std::string upgrade_tail; // the request after the Sec-WebSocket-Key value
  std::atomic<Phase> phase{Phase::connecting};
  std::atomic<int> resolved{0};           // connections that are ready or have failed
  std::atomic<int> open{0};               // ready and not lost
  std::atomic<std::uint64_t> rotation{0}; // bumped by the main thread to ask for an interval
};

/// A worker's hand-off at an interval: the latencies since the last one (measured and
/// warm-up alike), and its running totals.
struct IntervalCounts {
  mp::util::Histogram latency;
  std::uint64_t events = 0, warm_events = 0, failures = 0;
  std::int64_t cpu_ns = 0; // the worker thread's CPU time so far

  /// Adds `other` (all fields).
  void merge(const IntervalCounts& other);
};

/// The kind of a connection failure reason of Stats::failures as mp-bench reports it
/// (`connect_ECONNREFUSED` -> `connect_refused`, `status_401` -> `handshake_status_401`,
/// `timeout_upgrade` -> `timeout`, ...).
std::string failure_kind(std::string_view reason);

/// One worker's counters, read by the main thread after join (the atomics while running).
struct Stats {
  mp::util::Histogram latency, handshake, welcome;
  std::map<std::string, std::uint64_t> failures;
  std::map<int, std::uint64_t> close_codes;
  std::uint64_t connected = 0, lost = 0, closed_by_server = 0;
  std::uint64_t dropped_notices = 0, dropped_events = 0, gaps = 0, seq_gaps = 0;
  std::uint64_t other_frames = 0, outside_window_events = 0, no_welcome = 0, bytes = 0, reads = 0;
  std::uint64_t waits = 0, wait_events = 0, pings = 0;
  std::uint64_t per_conn_min = UINT64_MAX, per_conn_max = 0, per_conn_counted = 0;
  std::vector<std::uint32_t> received; // per healthy connection, for the completeness check

  /// Adds `other`'s counts and histograms (not its `received`).
  void merge(const Stats& other);
};

struct Conn {
  std::string carry; // the bytes of an unfinished HTTP response or frame
  std::string out;   // the bytes the socket did not take yet
  std::string accept;
  std::int64_t started_ns = 0;
  std::uint64_t last_seq = 0;
  std::uint32_t received = 0;
  int fd = -1;
  State state = State::unused;
  bool ready = false; // welcomed (and subscribed, with --subscribe)
  bool welcomed = false;
};

/// One thread's share of the connections. `run()` is the thread body; `events()`,
/// `warm_events()`, `last_event_real_ns()`, `rotation_done()` and `take_interval()` may be
/// called by other threads while it runs, `stats()`, `first_event_real_ns()` and `cpu_ns()`
/// only after it returned.
class Worker {
public:
  Worker(Shared& shared, std::size_t count, std::uint64_t seed)
      : m_shared(shared), m_conns(count), m_rng(seed | 1) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (m_epoll >= 0) {
      ::close(m_epoll);
    }
  }

  void run();
  [[nodiscard]] std::uint64_t events() const { return m_events_pub.load(std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t last_event_real_ns() const {
    return m_last_event_pub.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t warm_events() const {
    return m_warm_events_pub.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t first_event_real_ns() const { return m_first_event; } // after join
  [[nodiscard]] std::int64_t cpu_ns() const { return m_slot.cpu_ns; }              // after join
  Stats& stats() { return m_stats; }
  /// The last Shared::rotation this worker has answered.
  [[nodiscard]] std::uint64_t rotation_done() const {
    return m_rotation_done.load(std::memory_order_acquire);
  }
  /// The hand-off so far; its latencies are then cleared.
  IntervalCounts take_interval();

private:
  std::uint64_t next_random() {
    m_rng ^= m_rng << 13;
    m_rng ^= m_rng >> 7;
    m_rng ^= m_rng << 17;
    return m_rng;
  }
  void open_one(std::size_t index);
  void on_writable(Conn& c);
  void on_readable(Conn& c);
  std::size_t on_handshake(Conn& c, const char* p, std::size_t n);
  std::size_t scan_frames(Conn& c, const char* p, std::size_t n);
  void on_frame(Conn& c, unsigned op, const char* payload, std::size_t len);
  void on_text(Conn& c, const char* p, std::size_t len);
  void on_ready(Conn& c);
  void on_close_frame(Conn& c, const char* p, std::size_t len);
  void send_frame(Conn& c, unsigned op, std::string_view payload);
  void send_bytes(Conn& c, const char* data, std::size_t len);
  void want_write(Conn& c, bool on);
  void fail(Conn& c, const std::string& reason);
  void drop(Conn& c);
  void sweep_timeouts(std::int64_t now);
  void start_closing();
  void rotate();
  void finish();

  Shared& m_shared;
  std::vector<Conn> m_conns;
  std::vector<char> m_buf = std::vector<char>(k_chunk * 2);
  // Edge-triggered reads take one chunk per turn; a socket that filled it goes here to be
  // read again next turn (after the other ready sockets), as level-triggering would, without
  // epoll polling every ready socket twice.
  std::vector<std::size_t> m_pending, m_again;
  Stats m_stats;
  mp::util::Histogram m_interval, m_warm; // latencies since the last rotation
  std::mutex m_slot_mutex;
  IntervalCounts m_slot; // guarded by m_slot_mutex
  std::uint64_t m_rotation_seen = 0, m_warm_events = 0, m_failed = 0;
  std::atomic<std::uint64_t> m_rotation_done{0};
  std::atomic<std::uint64_t> m_warm_events_pub{0};
  std::uint64_t m_rng;
  std::uint64_t m_events = 0;
  std::atomic<std::uint64_t> m_events_pub{0};
  std::atomic<std::int64_t> m_last_event_pub{0};
  std::int64_t m_now_real = 0, m_now_mono = 0, m_first_event = 0, m_last_event = 0;
  std::size_t m_opened = 0, m_live = 0, m_unresolved = 0;
  bool m_closing = false;
  int m_epoll = -1;
};

} // namespace mp::bench::ws
