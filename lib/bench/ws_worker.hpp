#pragma once
// ws_load's connections: one Worker per thread holds its share of them in its own epoll set.
//
// A worker opens its share at its part of --ramp-per-second, does the upgrade (random
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

#include "util/histogram.hpp"
#include "ws_load_wire.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ws_load {

/// What one read asks for.
inline constexpr std::size_t k_chunk = 64 * 1024;

/// The command line (bench/ws_load.cpp defines the flags).
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
};

enum class Phase : int { connecting, measuring, closing };
enum class State : std::uint8_t { unused, connecting, upgrading, open, closing, closed };

/// What the workers and the main thread share; everything else is one thread's own.
struct Shared {
  const Options& opt;
  Url url;
  std::string upgrade_tail; // the request after the Sec-WebSocket-Key value
  std::atomic<Phase> phase{Phase::connecting};
  std::atomic<int> resolved{0}; // connections that are ready or have failed
  std::atomic<int> open{0};     // ready and not lost
};

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

/// One thread's share of the connections. `run()` is the thread body; `events()` and
/// `last_event_real_ns()` may be read by other threads while it runs, `stats()` and
/// `first_event_real_ns()` only after it returned.
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
  [[nodiscard]] std::int64_t first_event_real_ns() const { return m_first_event; } // after join
  Stats& stats() { return m_stats; }

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
  void finish();

  Shared& m_shared;
  std::vector<Conn> m_conns;
  std::vector<char> m_buf = std::vector<char>(k_chunk * 2);
  // Edge-triggered reads take one chunk per turn; a socket that filled it goes here to be
  // read again next turn (after the other ready sockets), as level-triggering would, without
  // epoll polling every ready socket twice.
  std::vector<std::size_t> m_pending, m_again;
  Stats m_stats;
  std::uint64_t m_rng;
  std::uint64_t m_events = 0;
  std::atomic<std::uint64_t> m_events_pub{0};
  std::atomic<std::int64_t> m_last_event_pub{0};
  std::int64_t m_now_real = 0, m_now_mono = 0, m_first_event = 0, m_last_event = 0;
  std::size_t m_opened = 0, m_live = 0, m_unresolved = 0;
  bool m_closing = false;
  int m_epoll = -1;
};

} // namespace ws_load
