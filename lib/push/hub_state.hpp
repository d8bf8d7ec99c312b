#pragma once
// The hub's internal state, shared by hub.cpp (local publishing, subscriptions,
// delivery) and hub_remote.cpp (events numbered elsewhere, resumes from the remote).
// Not part of the push interface.

#include "push/event.hpp"
#include "push/hub.hpp"

#include <algorithm>

namespace mp::push {

using Steady = util::Clock::SteadyTime;

/// What a topic hands the I/O threads: an event, or a notice about the ones around it.
struct Hub::Event {
  enum class Kind : std::uint8_t {
    event,         ///< `seq`: its sequence
    epoch_changed, ///< to subscribers of an older generation that had seen events; `seq`: where they then are
    hole,          ///< to subscribers short of `seq`: the events up to it are lost
  };
  Kind kind = Kind::event;
  std::uint64_t gen = 0; ///< the topic's generation (epoch) it belongs to
  std::uint64_t seq = 0;
  net::WsFramePtr frame;
};

struct Hub::Topic {
  std::string name;
  std::string epoch = random_id();
  mutable std::mutex mutex;
  std::uint64_t seq = 0;
  std::uint64_t gen = 0; ///< bumped by every change of epoch
  bool external = false; ///< the epoch is the remote's, not this process's
  bool stale = false;    ///< the remote may have events the history lacks
  struct Stored {
    std::uint64_t seq;
    Steady at;
    net::WsFramePtr frame;
  };
  std::deque<Stored> history; ///< contiguous: front().seq .. seq
  Steady last_publish{};
  std::atomic<std::size_t> subscribers{0};
  std::vector<std::size_t> per_thread; ///< subscribers on each I/O thread; under `mutex`

  void trim(std::size_t max_size, std::chrono::seconds max_age, Steady now) {
    while (history.size() > max_size || (!history.empty() && now - history.front().at > max_age)) {
      history.pop_front();
    }
  }
};

/// One I/O thread's subscribers (touched only on that thread) and its inbox of events
/// to deliver. The inbox, not one posted task per event, keeps events in publish order:
/// Asio runs a task a thread posts to itself after tasks other threads post meanwhile.
struct Hub::Shard {
  /// Live events held while a resume waits for the remote's answer.
  struct Hold {
    std::uint64_t token;
    std::vector<Event> events;
  };
  struct Sub {
    net::WsConnection* conn;
    std::uint64_t last_seq; ///< the newest event this subscriber has been given (or skipped past)
    std::uint64_t gen;      ///< the topic generation last_seq counts in
    std::unique_ptr<Hold> hold;
  };
  std::unordered_map<const Topic*, std::vector<Sub>> by_topic;
  std::unordered_map<const net::WsConnection*, std::vector<std::shared_ptr<Topic>>> by_conn;

  struct Pending {
    std::shared_ptr<Topic> topic;
    Event event;
  };
  std::mutex inbox_mutex;
  std::vector<Pending> inbox;
  bool drain_posted = false; ///< a round is under way or posted; under inbox_mutex

  /// The round being delivered: the inbox as it was, grouped by topic in order, handed
  /// out a pool of subscribers at a time.
  struct Batch {
    std::shared_ptr<Topic> topic;
    std::vector<Event> events; ///< in the topic's order
  };
  std::vector<Batch> round;
  std::size_t round_batch = 0;  ///< the batch being delivered
  std::size_t round_cursor = 0; ///< its next subscriber

  /// Hands `e` to `sub` (or to its hold), skipping what it already has.
  static void offer(Sub& sub, const Event& e) {
    if (sub.hold) {
      sub.hold->events.push_back(e);
    } else {
      give(sub, e);
    }
  }
  static void give(Sub& sub, const Event& e) {
    if (e.gen < sub.gen) {
      return; // of an epoch this subscriber has moved past
    }
    switch (e.kind) {
    case Event::Kind::epoch_changed:
      if (e.gen > sub.gen) {
        if (sub.last_seq > 0) {
          sub.conn->send(e.frame);
        }
        sub.gen = e.gen;
        sub.last_seq = e.seq;
      }
      return;
    case Event::Kind::hole:
      if (e.gen == sub.gen && sub.last_seq < e.seq) {
        sub.conn->send(e.frame);
        sub.last_seq = e.seq;
      }
      return;
    case Event::Kind::event:
      if (e.gen > sub.gen) { // subscribed before a change it has not been told of
        sub.gen = e.gen;
        sub.last_seq = 0;
      }
      if (e.seq > sub.last_seq) { // a resume may have replayed it already
        sub.last_seq = e.seq;
        sub.conn->send(e.frame);
      }
      return;
    }
  }

  Sub* find(const Topic* t, std::uint64_t token) {
    auto it = by_topic.find(t);
    if (it == by_topic.end()) {
      return nullptr;
    }
    for (auto& s : it->second) {
      if (s.hold && s.hold->token == token) {
        return &s;
      }
    }
    return nullptr;
  }

  /// Removes `c` from a topic's subscribers, keeping the order (and the round's place in it).
  void remove(const Topic* t, const net::WsConnection* c) {
    auto it = by_topic.find(t);
    if (it == by_topic.end()) {
      return;
    }
    auto& v = it->second;
    auto at = std::find_if(v.begin(), v.end(), [&](const Sub& s) { return s.conn == c; });
    if (at == v.end()) {
      return;
    }
    const auto index = static_cast<std::size_t>(at - v.begin());
    if (round_batch < round.size() && round[round_batch].topic.get() == t && index < round_cursor) {
      --round_cursor;
    }
    v.erase(at);
    if (v.empty()) {
      by_topic.erase(it);
    }
  }
};

} // namespace mp::push
