#include "push/hub.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <charconv>
#include <random>

namespace mp::push {

namespace {

using Steady = util::Clock::SteadyTime;

std::string new_epoch() {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  std::string out(8, '0');
  for (auto& c : out) {
    c = k_hex[v & 0xf];
    v >>= 4;
  }
  return out;
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

} // namespace

std::optional<int> priority_from_name(std::string_view name) {
  for (std::size_t i = 0; i < k_priorities.size(); ++i) {
    if (k_priorities[i] == name) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

bool valid_user_id(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '@' || c == '+' || c == '-';
  });
}

std::optional<std::string_view> topic_owner(std::string_view topic) {
  if (!topic.starts_with("user:")) {
    return std::nullopt;
  }
  auto id = topic.substr(5);
  return valid_user_id(id) ? std::optional(id) : std::nullopt;
}

bool valid_topic(std::string_view topic) {
  return std::find(k_public_topics.begin(), k_public_topics.end(), topic) != k_public_topics.end() ||
         topic_owner(topic).has_value();
}

std::optional<Position> parse_position(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == text.size()) {
    return std::nullopt;
  }
  Position p;
  p.epoch = std::string(text.substr(0, colon));
  const auto digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.seq);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return p;
}

struct Hub::Topic {
  std::string name;
  std::string epoch = new_epoch();
  mutable std::mutex mutex;
  std::uint64_t seq = 0;
  struct Stored {
    std::uint64_t seq;
    Steady at;
    net::WsFramePtr frame;
  };
  std::deque<Stored> history;
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
  struct Sub {
    net::WsConnection* conn;
    std::uint64_t last_seq; ///< the newest event this subscriber has been given (or skipped past)
  };
  std::unordered_map<const Topic*, std::vector<Sub>> by_topic;
  std::unordered_map<const net::WsConnection*, std::vector<std::shared_ptr<Topic>>> by_conn;

  struct Pending {
    std::shared_ptr<Topic> topic;
    std::uint64_t seq;
    net::WsFramePtr frame;
  };
  std::mutex inbox_mutex;
  std::vector<Pending> inbox;
  bool drain_posted = false; ///< a round is under way or posted; under inbox_mutex

  /// The round being delivered: the inbox as it was, grouped by topic in order, handed
  /// out a pool of subscribers at a time.
  struct Batch {
    std::shared_ptr<Topic> topic;
    std::vector<std::pair<std::uint64_t, net::WsFramePtr>> events; ///< ascending seq
  };
  std::vector<Batch> round;
  std::size_t round_batch = 0;  ///< the batch being delivered
  std::size_t round_cursor = 0; ///< its next subscriber

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

Hub::Hub(HubOptions options, unsigned threads, Post post, const util::Clock& clock)
    : m_options(options), m_post(std::move(post)), m_clock(clock) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    m_shards.push_back(std::make_unique<Shard>());
  }
  for (auto name : k_public_topics) {
    find_or_create(name);
  }
}

Hub::~Hub() = default;

std::shared_ptr<Hub::Topic> Hub::find_or_create(std::string_view name) {
  std::lock_guard lock(m_topics_mutex);
  auto it = m_topics.find(std::string(name));
  if (it != m_topics.end()) {
    return it->second;
  }
  if (m_topics.size() >= m_options.max_user_topics + k_public_topics.size()) {
    // Forget private topics nobody listens to whose history has aged out.
    const Steady now = m_clock.steady_now();
    std::erase_if(m_topics, [&](const auto& kv) {
      const Topic& t = *kv.second;
      std::lock_guard tl(t.mutex);
      return topic_owner(t.name) && t.subscribers.load() == 0 &&
             now - t.last_publish > m_options.history_max_age;
    });
  }
  auto t = std::make_shared<Topic>();
  t->name = std::string(name);
  t->per_thread.assign(m_shards.size(), 0);
  m_topics.emplace(t->name, t);
  return t;
}

std::size_t Hub::topic_count() const {
  std::lock_guard lock(m_topics_mutex);
  return m_topics.size();
}

Published Hub::publish(std::string_view topic, std::string_view type, std::string_view data_json,
                       int priority) {
  auto t = find_or_create(topic);
  priority = std::clamp(priority, 0, static_cast<int>(k_priorities.size()) - 1);
  const Steady now = m_clock.steady_now();
  const double ts = util::to_unix_seconds(m_clock.wall_now());
  Published out;
  out.topic = t->name;
  std::lock_guard lock(t->mutex);
  const std::uint64_t seq = ++t->seq;
  // {"id","type","topic","epoch","seq","priority","ts","data"}, encoded once for everyone.
  std::string json;
  json.reserve(160 + data_json.size() + type.size());
  json += R"({"id":")";
  json += t->epoch;
  json += ':';
  append_uint(json, seq);
  json += R"(","type":)";
  json += util::json_quote(type);
  json += R"(,"topic":)";
  json += util::json_quote(t->name);
  json += R"(,"epoch":")";
  json += t->epoch;
  json += R"(","seq":)";
  append_uint(json, seq);
  json += R"(,"priority":")";
  json += k_priorities[static_cast<std::size_t>(priority)];
  json += R"(","ts":)";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ts, std::chars_format::fixed, 6);
  json.append(buf, end);
  json += R"(,"data":)";
  json += data_json;
  json += '}';
  auto frame = net::make_ws_text(json, priority, true, t->name, now);
  t->history.push_back({seq, now, frame});
  t->last_publish = now;
  t->trim(m_options.history_size, m_options.history_max_age, now);
  m_published.fetch_add(1, std::memory_order_relaxed);
  out.epoch = t->epoch;
  out.seq = seq;
  out.subscribers = t->subscribers.load(std::memory_order_relaxed);
  // Under the topic's lock: each thread's inbox gets this topic's events in order.
  for (unsigned i = 0; i < t->per_thread.size(); ++i) {
    if (t->per_thread[i] == 0) {
      continue;
    }
    Shard& shard = *m_shards[i];
    std::lock_guard inbox_lock(shard.inbox_mutex);
    shard.inbox.push_back({t, seq, frame});
    if (!shard.drain_posted) {
      shard.drain_posted = true;
      m_post(i, [this, i] { deliver(i); });
    }
  }
  return out;
}

// A round delivers what the inbox held, `pool_size` subscribers per task: between two
// pools the thread serves its other connections (and the publishers), and what they
// publish meanwhile waits for the next round. So the busier the thread, the more events
// each subscriber gets per write: one system call per subscriber per round, not per event.
void Hub::deliver(unsigned thread) {
  Shard& shard = *m_shards[thread];
  if (shard.round_batch >= shard.round.size()) {
    std::vector<Shard::Pending> events;
    {
      std::lock_guard lock(shard.inbox_mutex);
      if (shard.inbox.empty()) {
        shard.drain_posted = false;
        shard.round.clear();
        return;
      }
      events.swap(shard.inbox);
    }
    shard.round.clear();
    for (auto& e : events) {
      auto batch = std::find_if(shard.round.begin(), shard.round.end(),
                                [&](const Shard::Batch& b) { return b.topic == e.topic; });
      if (batch == shard.round.end()) {
        shard.round.push_back({e.topic, {}});
        batch = std::prev(shard.round.end());
      }
      batch->events.emplace_back(e.seq, std::move(e.frame));
    }
    shard.round_batch = 0;
    shard.round_cursor = 0;
  }
  std::size_t budget = std::max<std::size_t>(1, m_options.pool_size);
  {
    const net::WsCork cork; // each subscriber of this pool writes its events in one go
    while (budget > 0 && shard.round_batch < shard.round.size()) {
      const auto& batch = shard.round[shard.round_batch];
      auto it = shard.by_topic.find(batch.topic.get());
      const std::size_t n = it == shard.by_topic.end() ? 0 : it->second.size();
      while (budget > 0 && shard.round_cursor < n) {
        auto& sub = it->second[shard.round_cursor++];
        --budget;
        for (const auto& [seq, frame] : batch.events) {
          if (seq > sub.last_seq) { // a resume may have replayed it already
            sub.last_seq = seq;
            sub.conn->send(frame);
          }
        }
      }
      if (shard.round_cursor >= n) {
        ++shard.round_batch;
        shard.round_cursor = 0;
      }
    }
  }
  m_post(thread, [this, thread] { deliver(thread); }); // the rest, or the next round
}

std::vector<net::WsFramePtr> Hub::subscribe(net::WsConnection& c, std::string_view topic,
                                            const std::optional<Position>& since) {
  auto t = find_or_create(topic);
  Shard& shard = *m_shards[c.thread()];
  auto& subs = shard.by_topic[t.get()];
  auto existing = std::find_if(subs.begin(), subs.end(), [&](const Shard::Sub& s) { return s.conn == &c; });
  if (existing != subs.end() && !since) {
    return {};
  }
  std::vector<net::WsFramePtr> replay;
  std::uint64_t last = 0;
  {
    std::lock_guard lock(t->mutex);
    const Steady now = m_clock.steady_now();
    t->trim(m_options.history_size, m_options.history_max_age, now);
    last = t->seq;
    if (since) {
      // Same epoch: events after since->seq are owed; those older than the history are
      // lost. Another epoch (the server restarted): all of this one is owed.
      const bool same_epoch = since->epoch == t->epoch;
      const std::uint64_t after = same_epoch ? std::min(since->seq, t->seq) : 0;
      const std::uint64_t first = t->history.empty() ? t->seq + 1 : t->history.front().seq;
      if (!same_epoch || after + 1 < first) {
        std::string gap = R"({"type":"gap","topic":)";
        gap += util::json_quote(t->name);
        gap += R"(,"epoch":")";
        gap += t->epoch;
        gap += R"(","from_seq":)";
        append_uint(gap, after + 1);
        gap += R"(,"to_seq":)";
        append_uint(gap, first - 1);
        gap += same_epoch ? R"(,"reason":"history_expired"})" : R"(,"reason":"epoch_changed"})";
        replay.push_back(net::make_ws_text(gap, -1, false));
      }
      for (const auto& s : t->history) {
        if (s.seq > after) {
          // A copy without its publish time: a replay is not a delivery-latency sample.
          auto copy = std::make_shared<net::WsFrame>(*s.frame);
          copy->published = {};
          replay.push_back(std::move(copy));
        }
      }
    }
    if (existing == subs.end()) {
      t->per_thread[c.thread()] += 1;
      t->subscribers.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (existing == subs.end()) {
    subs.push_back({&c, last});
    shard.by_conn[&c].push_back(t);
  } else {
    existing->last_seq = last;
  }
  return replay;
}

bool Hub::unsubscribe(net::WsConnection& c, std::string_view topic) {
  Shard& shard = *m_shards[c.thread()];
  auto conn_it = shard.by_conn.find(&c);
  if (conn_it == shard.by_conn.end()) {
    return false;
  }
  auto& topics = conn_it->second;
  auto t = std::find_if(topics.begin(), topics.end(), [&](const auto& p) { return p->name == topic; });
  if (t == topics.end()) {
    return false;
  }
  auto topic_ptr = *t;
  topics.erase(t);
  if (topics.empty()) {
    shard.by_conn.erase(conn_it);
  }
  shard.remove(topic_ptr.get(), &c);
  std::lock_guard lock(topic_ptr->mutex);
  topic_ptr->per_thread[c.thread()] -= 1;
  topic_ptr->subscribers.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void Hub::detach(net::WsConnection& c) {
  Shard& shard = *m_shards[c.thread()];
  auto conn_it = shard.by_conn.find(&c);
  if (conn_it == shard.by_conn.end()) {
    return;
  }
  auto topics = std::move(conn_it->second);
  shard.by_conn.erase(conn_it);
  for (const auto& t : topics) {
    shard.remove(t.get(), &c);
    std::lock_guard lock(t->mutex);
    t->per_thread[c.thread()] -= 1;
    t->subscribers.fetch_sub(1, std::memory_order_relaxed);
  }
}

std::size_t Hub::subscriptions(const net::WsConnection& c) const {
  const Shard& shard = *m_shards[c.thread()];
  auto it = shard.by_conn.find(&c);
  return it == shard.by_conn.end() ? 0 : it->second.size();
}

} // namespace mp::push
