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
// Threads: publish() from anywhere; everything taking a WsConnection on that
// connection's own thread.

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

  /// Publishes an event (`data_json` must be valid JSON) to `topic` (valid_topic()).
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

  [[nodiscard]] std::uint64_t published_total() const { return m_published.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t topic_count() const;

private:
  struct Topic;
  struct Shard;

  std::shared_ptr<Topic> find_or_create(std::string_view name);
  void deliver(unsigned thread);

  HubOptions m_options;
  Post m_post;
  const util::Clock& m_clock;
  mutable std::mutex m_topics_mutex;
  std::unordered_map<std::string, std::shared_ptr<Topic>> m_topics; ///< shared with tasks in flight
  std::vector<std::unique_ptr<Shard>> m_shards;                     ///< one per I/O thread
  std::atomic<std::uint64_t> m_published{0};
};

} // namespace mp::push
