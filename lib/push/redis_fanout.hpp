#pragma once
// WebSocket topics shared by every mp-serve instance through Redis (ARCHITECTURE.md,
// "Across instances").
//
// Keys, per topic T:
//   mp:ws:epoch:T   string: the topic's epoch, created (random) by the first publish
//   mp:ws:seq:T     string: the last sequence number (INCR)
//   mp:ws:hist:T    stream: entry `<seq>-0` = {f: event JSON, p: priority, t: ms}, MAXLEN ~ history_size
//   mp:ws:ev:T      channel: `<instance> <epoch> <seq> <priority>\n<event JSON>` (push/event.hpp)
// All three keys expire together a day (plus the history's age) after the last publish;
// the next publish then starts a new epoch.
//
// Publish: one Lua script numbers the event, appends it to the stream, trims it and
// PUBLISHes it, atomically, so the channel carries every topic's events in sequence. It
// runs on this object's publisher thread (a bounded queue in front), never on an I/O
// thread; the publishes waiting there go in one pipeline (up to 64: one round trip). The event reaches this
// instance's subscribers like everyone else's, through the subscription: one ordered source per topic, so the
// hub never sees seq 5 (its own, sent directly) before seq 4 (another instance's, still on the wire) and
// never has to choose between a hole and a reorder. The cost is one hop through Redis on
// the local path: POST /api/ws/broadcast to a client's receipt, median 0.63 ms (p99 1.1)
// against 0.33 ms (p99 1.1) embedded; same machine, loopback, 300 sequential broadcasts.
//
// Live: one redis::Subscriber on `mp:ws:ev:*` hands each message to Hub::accept, with
// Redis's epoch and sequence. Each time it (re)subscribes, it resyncs the hub's topics
// from the streams (Hub::adopt): a short outage becomes a replay; a longer one, or Redis
// restarted empty, an `epoch_changed` or `history_expired` gap.
//
// Resume: the hub asks fetch() when its local history cannot answer; the read script
// returns the epoch and the newest `history_size` entries after the client's position
// (entries older than the history's age are dropped by the hub: the stream is trimmed by
// count only, because its ids are sequence numbers, not times).
//
// Degraded: a publish Redis cannot take is published by the hub alone, under a local
// epoch (its clients get it; others resuming later get `epoch_changed`).
//
// Thread-safety: every public member may be called from any thread.

#include "push/event.hpp"
#include "push/hub.hpp"
#include "redis/client.hpp"
#include "redis/subscriber.hpp"

#include <array>
#include <condition_variable>
#include <deque>
#include <thread>
#include <variant>

namespace mp::push {

/// What the metrics layer reads (serve/ws_routes.cpp: mp_ws_redis_*).
struct FanoutCounters {
  /// Labels of `errors`: a publish or resume Redis could not serve, a failed resync, a
  /// channel message that did not parse, a publish refused because the queue was full.
  static constexpr std::array<std::string_view, 5> k_error_ops = {"publish", "fetch", "resync", "message",
                                                                  "queue_full"};
  enum Op : std::size_t { op_publish, op_fetch, op_resync, op_message, op_queue_full }; ///< index of errors
  std::atomic<std::uint64_t> published{0}; ///< events numbered by Redis
  std::atomic<std::uint64_t> received{0};  ///< events from the channel handed to the hub
  std::atomic<std::uint64_t> local{0};     ///< events published locally because Redis failed
  std::atomic<std::uint64_t> resumes{0};   ///< resumes answered from the stream
  std::array<std::atomic<std::uint64_t>, k_error_ops.size()> errors{};
  std::atomic<bool> connected{false};  ///< the subscription is live
  std::atomic<std::int64_t> queued{0}; ///< jobs waiting for the publisher thread
};

struct FanoutOptions {
  std::size_t history_size = 1000;
  std::chrono::seconds history_max_age{300};
  std::size_t max_queue = 10'000; ///< publishes and fetches waiting for the publisher thread
  redis::ConnectOptions connect;
};

class RedisFanout final : public RemoteHistory {
public:
  /// Called on the publisher thread with where the event went; nullopt when it was not
  /// published (the queue was full).
  using Done = std::function<void(std::optional<Published>)>;

  /// Starts the publisher and subscriber threads and makes itself `hub`'s remote. The
  /// hub must outlive it.
  RedisFanout(Hub& hub, redis::RedisUrl url, FanoutOptions options);
  ~RedisFanout() override;
  RedisFanout(const RedisFanout&) = delete;
  RedisFanout& operator=(const RedisFanout&) = delete;

  /// Publishes to every instance (see above); `done` may be empty.
  void publish(std::string topic, std::string_view type, std::string_view data_json, int priority, Done done);
  void fetch(std::string topic, Position after, RemoteHistory::Done done) override;
  /// Finishes the queued jobs and stops both threads; later publishes are local. Idempotent.
  void stop();

  [[nodiscard]] const FanoutCounters& counters() const { return m_counters; }
  [[nodiscard]] const std::string& instance() const { return m_instance; }

private:
  struct PublishJob {
    std::string topic;
    std::string type;
    std::string data;
    int priority;
    EventParts parts;
    std::int64_t ts_ms;
    Done done;
  };
  struct FetchJob {
    std::string topic;
    Position after;
    RemoteHistory::Done done;
  };
  using Job = std::variant<PublishJob, FetchJob>;

  enum class Queued { ok, full, stopped };
  /// Moves `job` into the queue unless it is full or stopped.
  Queued enqueue(Job& job);
  void run();
  void run_publishes(std::vector<PublishJob>& jobs);
  void run_fetch(FetchJob& job);
  void on_message(std::string_view channel, std::string_view message);
  void on_state(bool subscribed);
  void error(FanoutCounters::Op op) { m_counters.errors[op].fetch_add(1, std::memory_order_relaxed); }

  Hub& m_hub;
  redis::RedisUrl m_url;
  std::string m_channel_prefix = m_url.channel("mp:ws:ev:"); ///< `mp:<db>:ws:ev:`, then the topic
  FanoutOptions m_options;
  std::string m_instance;
  FanoutCounters m_counters;
  redis::Pool m_pool; ///< the publisher thread's connection
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::deque<Job> m_jobs;  ///< under m_mu
  bool m_stopping = false; ///< under m_mu
  std::thread m_thread;
  std::unique_ptr<redis::Subscriber> m_subscriber;
};

} // namespace mp::push
