#include "push/event.hpp"
#include "push/hub_state.hpp"
#include "util/json.hpp"

#include <charconv>

namespace mp::push {

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
  t->stale = m_remote != nullptr && !m_live.load();
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
  const auto parts =
      event_parts(t->name, type, priority, util::to_unix_seconds(m_clock.wall_now()), data_json);
  Published out;
  out.topic = t->name;
  std::lock_guard lock(t->mutex);
  if (t->external) {
    // The remote cannot number it (unreachable): this process's own epoch takes over,
    // so nobody mistakes these sequence numbers for the remote's.
    switch_epoch(t, random_id(), false, 0);
  }
  const std::uint64_t seq = ++t->seq;
  auto frame = net::make_ws_text(join_event(parts, t->epoch, seq), priority, true, t->name, now);
  t->history.push_back({seq, now, frame});
  t->last_publish = now;
  t->trim(m_options.history_size, m_options.history_max_age, now);
  m_published.fetch_add(1, std::memory_order_relaxed);
  out.epoch = t->epoch;
  out.seq = seq;
  out.subscribers = t->subscribers.load(std::memory_order_relaxed);
  enqueue(t, Event{Event::Kind::event, t->gen, seq, std::move(frame)});
  return out;
}

// Under the topic's lock: each thread's inbox gets this topic's events in order.
void Hub::enqueue(const std::shared_ptr<Topic>& t, const Event& e) {
  for (unsigned i = 0; i < t->per_thread.size(); ++i) {
    if (t->per_thread[i] == 0) {
      continue;
    }
    Shard& shard = *m_shards[i];
    std::lock_guard inbox_lock(shard.inbox_mutex);
    shard.inbox.push_back({t, e});
    if (!shard.drain_posted) {
      shard.drain_posted = true;
      m_post(i, [this, i] { deliver(i); });
    }
  }
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
      batch->events.push_back(std::move(e.event));
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
        for (const auto& e : batch.events) {
          Shard::offer(sub, e);
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

std::uint64_t Hub::replay_locked(Topic& t, const Position& since, std::vector<net::WsFramePtr>& out) {
  // Same epoch: events after since.seq are owed; those older than the history are lost.
  // Another epoch (the server restarted): all of this one is owed.
  const bool same_epoch = since.epoch == t.epoch;
  const std::uint64_t after = same_epoch ? std::min(since.seq, t.seq) : 0;
  const std::uint64_t first = t.history.empty() ? t.seq + 1 : t.history.front().seq;
  if (!same_epoch || after + 1 < first) {
    out.push_back(net::make_ws_text(
        gap_notice(t.name, t.epoch, after + 1, first - 1, same_epoch ? "history_expired" : "epoch_changed"),
        -1, false));
  }
  for (const auto& s : t.history) {
    if (s.seq > after) {
      // A copy without its publish time: a replay is not a delivery-latency sample.
      auto copy = std::make_shared<net::WsFrame>(*s.frame);
      copy->published = {};
      out.push_back(std::move(copy));
    }
  }
  // A client may be ahead of this instance (it saw an event on another one that is
  // still on its way here): it is not given that event twice.
  return same_epoch ? std::max(since.seq, t.seq) : t.seq;
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
  std::uint64_t gen = 0;
  bool remote = false;
  {
    std::lock_guard lock(t->mutex);
    const Steady now = m_clock.steady_now();
    t->trim(m_options.history_size, m_options.history_max_age, now);
    last = t->seq;
    gen = t->gen;
    if (since) {
      const bool same_epoch = since->epoch == t->epoch;
      const std::uint64_t first = t->history.empty() ? t->seq + 1 : t->history.front().seq;
      const bool covered = same_epoch && !t->stale && since->seq >= first - 1;
      // The remote knows more unless the epoch is this process's own or the local
      // history is current and reaches back far enough.
      remote = m_remote != nullptr && !(same_epoch && !t->external) && !covered;
      if (!remote) {
        last = replay_locked(*t, *since, replay);
      }
    }
    if (existing == subs.end()) {
      t->per_thread[c.thread()] += 1;
      t->subscribers.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::unique_ptr<Shard::Hold> hold;
  const std::uint64_t token = remote ? m_next_token.fetch_add(1) : 0;
  if (remote) {
    hold = std::make_unique<Shard::Hold>(Shard::Hold{token, {}});
  }
  if (existing == subs.end()) {
    subs.push_back({&c, last, gen, std::move(hold)});
    shard.by_conn[&c].push_back(t);
  } else {
    existing->last_seq = last;
    existing->gen = gen;
    if (remote) {
      existing->hold = std::move(hold);
    }
  }
  if (remote) {
    // The answer comes back to this connection's thread; the connection may be gone by
    // then (the token finds nothing).
    m_remote->fetch(t->name, *since, [this, thread = c.thread(), t, token, pos = *since](auto range) {
      m_post(thread, [this, thread, t, token, pos, range = std::move(range)]() mutable {
        finish_resume(thread, t, token, pos, std::move(range));
      });
    });
  }
  return replay;
}

std::size_t Hub::subscribers(std::string_view topic) const {
  std::lock_guard lock(m_topics_mutex);
  auto it = m_topics.find(std::string(topic));
  return it == m_topics.end() ? 0 : it->second->subscribers.load(std::memory_order_relaxed);
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
