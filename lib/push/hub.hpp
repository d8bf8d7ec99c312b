#pragma once
// Topics, history and fan-out for the WebSocket push channel (ARCHITECTURE.md).
//
// Every topic has an epoch (random, per process) and a sequence number, and keeps a
// bounded history (count and age) of its encoded events. A publish encodes its event
// once, appends it to the history, and puts the shared frame in the inbox of each I/O
// thread that has subscribers of the topic; there the shard hands it to each
// subscriber's queue. Inboxes are filled under the topic's lock, so every thread sees a
// topic's events in sequence. A subscriber remembers the last sequence it was given: a resume replays the
// history after its position (or sends a `gap` first), and a live event that the replay
// already covered is skipped.
//
// Across instances (push/redis_fanout.hpp) the epoch and sequence are given by Redis:
// accept() takes such an event, adopt() a topic's recent history on a resync, and a
// resume the local history cannot serve asks the RemoteHistory, holding the live events
// that arrive meanwhile until its answer is sent. A topic's epoch can change while it has
// subscribers (Redis went away and a local epoch took over, or Redis's came back): each
// change bumps the topic's generation, and a subscriber that had seen events of the old
// one gets an `epoch_changed` gap notice before the new ones.
//
// Threads: publish(), accept(), adopt() from anywhere; everything taking a WsConnection
// on that connection's own thread.

#include "net/websocket.hpp"
#include "util/clock.hpp"

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mp::push {

/// The fixed topics; a user's private topic is `user:<id>`.
inline constexpr std::array<std::string_view, 4> k_public_topics = {"email_updates", "task_updates",
                                                                    "system_alerts", "performance_metrics"};
/// urgent, high, normal, low, background: index = the frame's priority.
inline constexpr std::array<std::string_view, 5> k_priorities = {"urgent", "high", "normal", "low",
                                                                 "background"};

std::optional<int> priority_from_name(std::string_view name);

/// A valid user id for a private topic: 1-128 of [A-Za-z0-9_.@+-].
bool valid_user_id(std::string_view id);

/// The user a `user:<id>` topic belongs to; nullopt for a public or invalid name.
std::optional<std::string_view> topic_owner(std::string_view topic);

/// A public topic or a well-formed `user:<id>`.
bool valid_topic(std::string_view topic);

struct Position {
  std::string epoch;
  std::uint64_t seq = 0;
};

/// Parses `EPOCH:SEQ`.
std::optional<Position> parse_position(std::string_view text);

/// Where a resume finds the events the local history does not hold (Redis's stream).
class RemoteHistory {
public:
  struct Entry {
    std::uint64_t seq = 0;
    int priority = 2;
    double ts = 0; ///< publish time, Unix seconds
    std::string json;
  };
  struct Range {
    std::string epoch;          ///< empty: nothing was ever published to the topic
    std::uint64_t seq = 0;      ///< the epoch's newest sequence
    std::vector<Entry> entries; ///< ascending: the newest ones after the position asked, up to the head
  };
  /// Called on any thread; nullopt when the remote is unavailable.
  using Done = std::function<void(std::optional<Range>)>;
  virtual ~RemoteHistory() = default;
  /// Fetches, off the calling thread, the events of `topic` after `after` (all of the
  /// current epoch when `after` is of another one), and calls `done`.
  virtual void fetch(std::string topic, Position after, Done done) = 0;
};

struct HubOptions {
  std::size_t history_size = 1000;
  std::chrono::seconds history_max_age{300};
  std::size_t max_user_topics = 100'000; ///< idle private topics are forgotten past this
  std::size_t pool_size = 100;           ///< subscribers served per task (websocket.max_connections_per_pool)
};

struct Published {
  std::string topic;
  std::string epoch;
  std::uint64_t seq = 0;
  std::size_t subscribers = 0;
};

class Hub {
public:
  using Post = std::function<void(unsigned thread, std::function<void()>)>;

  Hub(HubOptions options, unsigned threads, Post post, const util::Clock& clock);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  /// Publishes an event (`data_json` must be valid JSON) to `topic` (valid_topic()),
  /// numbered here. A topic on the remote's epoch first takes a local one (the remote
  /// could not take it: see push/redis_fanout.hpp).
  Published publish(std::string_view topic, std::string_view type, std::string_view data_json, int priority);

  /// Subscribes `c` (on its thread). Returns what it missed since `since`, preceded by
  /// a gap notice when history no longer reaches back, for the caller to send before
  /// anything else happens on this thread. Subscribing again only resumes.
  [[nodiscard]] std::vector<net::WsFramePtr> subscribe(net::WsConnection& c, std::string_view topic,
                                                       const std::optional<Position>& since);
  /// Returns whether `c` was subscribed.
  bool unsubscribe(net::WsConnection& c, std::string_view topic);
  /// Every subscription of `c` ends (call from on_close).
  void detach(net::WsConnection& c);
  [[nodiscard]] std::size_t subscriptions(const net::WsConnection& c) const;

  /// Resumes that the local history could not serve ask `remote` (which must outlive
  /// the hub's connections). Set before any connection subscribes. Topics start stale.
  void set_remote(RemoteHistory* remote);
  /// An event numbered elsewhere: `json` is its encoding with `epoch` and `seq`. One
  /// already held (same epoch, seq not newer) is ignored; a later one after a hole
  /// tells live subscribers with a `history_expired` gap. Call in each topic's order.
  void accept(std::string_view topic, std::string_view epoch, std::uint64_t seq, std::string_view json,
              int priority);
  /// A topic's recent history from the remote (a resync). Same epoch: the entries newer
  /// than the topic's are delivered as live events. Another epoch: the topic takes it,
  /// its history becomes the entries, live subscribers get an `epoch_changed` gap.
  /// Clears the topic's staleness.
  void adopt(std::string_view topic, const RemoteHistory::Range& range);
  /// Whether the remote's live feed is connected; false marks every topic stale (its
  /// history may lag the remote's: resumes ask the remote).
  void set_live(bool live);
  /// The public topics and those with subscribers, each with its position when its
  /// epoch is the remote's (else an empty epoch): what a resync fetches.
  [[nodiscard]] std::vector<std::pair<std::string, Position>> resync_targets() const;
  /// Subscribers of `topic` on this instance.
  [[nodiscard]] std::size_t subscribers(std::string_view topic) const;

  [[nodiscard]] std::uint64_t published_total() const { return m_published.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t topic_count() const;

private:
  struct Topic;
  struct Shard;

  struct Event;

  std::shared_ptr<Topic> find_or_create(std::string_view name);
  void deliver(unsigned thread);
  /// Puts `e` in the inbox of every thread with subscribers of `t` (under t's lock).
  void enqueue(const std::shared_ptr<Topic>& t, const Event& e);
  /// The replay (and gap) owed to a subscriber at `since` from the local history;
  /// returns the position it is then at. Under t's lock.
  std::uint64_t replay_locked(Topic& t, const Position& since, std::vector<net::WsFramePtr>& out);
  /// Appends an event numbered elsewhere (under t's lock).
  void append_remote(const std::shared_ptr<Topic>& t, std::string_view epoch, std::uint64_t seq,
                     net::WsFramePtr frame);
  /// Switches `t` to `epoch` (under t's lock); live subscribers are then at `seq`.
  void switch_epoch(const std::shared_ptr<Topic>& t, std::string epoch, bool external, std::uint64_t seq);
  /// Adopts `range` when it continues the topic, or the topic is not on a remote epoch
  /// (`force`: in any case). Returns whether the topic is then at the range's head.
  /// Under t's lock.
  bool adopt_locked(const std::shared_ptr<Topic>& t, const RemoteHistory::Range& range, bool force);
  void finish_resume(unsigned thread, const std::shared_ptr<Topic>& t, std::uint64_t token,
                     const Position& since, std::optional<RemoteHistory::Range> range);

  HubOptions m_options;
  Post m_post;
  const util::Clock& m_clock;
  mutable std::mutex m_topics_mutex;
  std::unordered_map<std::string, std::shared_ptr<Topic>> m_topics; ///< shared with tasks in flight
  std::vector<std::unique_ptr<Shard>> m_shards;                     ///< one per I/O thread
  std::atomic<std::uint64_t> m_published{0};
  RemoteHistory* m_remote = nullptr;
  std::atomic<bool> m_live{false};
  std::atomic<std::uint64_t> m_next_token{1};
};

} // namespace mp::push
