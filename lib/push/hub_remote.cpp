// The hub's side of fan-out across instances (hub.hpp): events numbered elsewhere, a
// topic's history adopted from the remote, and resumes answered by the remote.
//
// Invariant: a topic's history is contiguous (front().seq .. seq, one epoch). An event
// after a hole empties it first, so a resume from the local history never skips silently;
// staleness (the live feed was down) sends resumes to the remote, whose stream has it all.

#include "push/event.hpp"
#include "push/hub_state.hpp"

namespace mp::push {

namespace {

/// The entries younger than `max_age` (the stream keeps count, not age).
std::vector<RemoteHistory::Entry> young(std::vector<RemoteHistory::Entry> entries, double now_unix,
                                        std::chrono::seconds max_age) {
  const double oldest = now_unix - static_cast<double>(max_age.count());
  std::erase_if(entries, [&](const RemoteHistory::Entry& e) { return e.ts < oldest; });
  return entries;
}

} // namespace

void Hub::set_remote(RemoteHistory* remote) {
  m_remote = remote;
  set_live(false);
}

void Hub::set_live(bool live) {
  m_live = live;
  if (live) {
    return;
  }
  std::lock_guard lock(m_topics_mutex);
  for (auto& [name, t] : m_topics) {
    std::lock_guard tl(t->mutex);
    t->stale = true;
  }
}

std::vector<std::pair<std::string, Position>> Hub::resync_targets() const {
  std::vector<std::pair<std::string, Position>> out;
  std::lock_guard lock(m_topics_mutex);
  for (const auto& [name, t] : m_topics) {
    if (topic_owner(name) && t->subscribers.load() == 0) {
      continue; // the remote answers its resumes while it is stale
    }
    std::lock_guard tl(t->mutex);
    out.emplace_back(name, t->external ? Position{t->epoch, t->seq} : Position{});
  }
  return out;
}

void Hub::switch_epoch(const std::shared_ptr<Topic>& t, std::string epoch, bool external, std::uint64_t seq) {
  t->epoch = std::move(epoch);
  t->external = external;
  t->history.clear();
  t->seq = seq;
  ++t->gen;
  auto notice = gap_notice(t->name, t->epoch, 1, seq, "epoch_changed");
  enqueue(t, Event{Event::Kind::epoch_changed, t->gen, seq, net::make_ws_text(notice, -1, false)});
}

void Hub::append_remote(const std::shared_ptr<Topic>& t, std::string_view epoch, std::uint64_t seq,
                        net::WsFramePtr frame) {
  if (epoch != t->epoch || !t->external) {
    switch_epoch(t, std::string(epoch), true, seq - 1);
  } else if (seq <= t->seq) {
    return; // held already (a resync and the live feed overlap)
  } else if (seq > t->seq + 1) {
    t->history.clear();
    auto notice = gap_notice(t->name, t->epoch, t->seq + 1, seq - 1, "history_expired");
    enqueue(t, Event{Event::Kind::hole, t->gen, seq - 1, net::make_ws_text(notice, -1, false)});
  }
  const Steady now = m_clock.steady_now();
  t->seq = seq;
  t->last_publish = now;
  t->history.push_back({seq, now, frame});
  t->trim(m_options.history_size, m_options.history_max_age, now);
  enqueue(t, Event{Event::Kind::event, t->gen, seq, std::move(frame)});
}

void Hub::accept(std::string_view topic, std::string_view epoch, std::uint64_t seq, std::string_view json,
                 int priority) {
  if (seq == 0 || epoch.empty()) {
    return;
  }
  auto t = find_or_create(topic);
  priority = std::clamp(priority, 0, static_cast<int>(k_priorities.size()) - 1);
  // Encoded once for this instance's subscribers and history, outside the lock.
  auto frame = net::make_ws_text(json, priority, true, t->name, m_clock.steady_now());
  std::lock_guard lock(t->mutex);
  append_remote(t, epoch, seq, std::move(frame));
}

bool Hub::adopt_locked(const std::shared_ptr<Topic>& t, const RemoteHistory::Range& range, bool force) {
  if (range.epoch.empty()) {
    return false;
  }
  const Steady now = m_clock.steady_now();
  const double now_unix = util::to_unix_seconds(m_clock.wall_now());
  auto stored = [&](const RemoteHistory::Entry& e) {
    auto frame = net::make_ws_text(e.json, e.priority, true, t->name);
    const auto age = std::chrono::duration<double>(std::max(0.0, now_unix - e.ts));
    return Topic::Stored{e.seq, now - std::chrono::duration_cast<Steady::duration>(age), std::move(frame)};
  };
  if (range.epoch != t->epoch || !t->external) {
    if (t->external && !force) {
      return false; // the live feed is on another of the remote's epochs: it is the newer
    }
    // Live subscribers are told of the new epoch and placed at its head: what came before
    // is history for a resume, not live events they might have seen under another epoch.
    switch_epoch(t, range.epoch, true, range.seq);
    for (const auto& e : range.entries) {
      if (e.seq <= range.seq) {
        t->history.push_back(stored(e));
      }
    }
    t->trim(m_options.history_size, m_options.history_max_age, now);
    return true;
  }
  for (const auto& e : range.entries) {
    if (e.seq <= t->seq) {
      continue;
    }
    if (e.seq > t->seq + 1 && !force) {
      return false; // the live feed may still bring the events in between
    }
    auto s = stored(e);
    append_remote(t, range.epoch, e.seq, std::move(s.frame));
  }
  if (force && range.seq > t->seq) { // the newest ones aged out of the stream
    t->history.clear();
    auto notice = gap_notice(t->name, t->epoch, t->seq + 1, range.seq, "history_expired");
    enqueue(t, Event{Event::Kind::hole, t->gen, range.seq, net::make_ws_text(notice, -1, false)});
    t->seq = range.seq;
  }
  return t->seq >= range.seq;
}

void Hub::adopt(std::string_view topic, const RemoteHistory::Range& range) {
  auto t = find_or_create(topic);
  RemoteHistory::Range fresh{
      range.epoch, range.seq,
      young(range.entries, util::to_unix_seconds(m_clock.wall_now()), m_options.history_max_age)};
  std::lock_guard lock(t->mutex);
  adopt_locked(t, fresh, true);
  t->stale = false;
}

void Hub::finish_resume(unsigned thread, const std::shared_ptr<Topic>& t, std::uint64_t token,
                        const Position& since, std::optional<RemoteHistory::Range> range) {
  Shard& shard = *m_shards[thread];
  Shard::Sub* sub = shard.find(t.get(), token);
  if (sub == nullptr) {
    return; // unsubscribed, or resumed again meanwhile
  }
  auto hold = std::move(sub->hold);
  std::vector<net::WsFramePtr> out;
  {
    std::lock_guard lock(t->mutex);
    t->trim(m_options.history_size, m_options.history_max_age, m_clock.steady_now());
    if (!range || range->epoch.empty()) {
      // The remote is unavailable or never saw the topic: what this instance has.
      sub->last_seq = replay_locked(*t, since, out);
      sub->gen = t->gen;
    } else {
      range->entries = young(std::move(range->entries), util::to_unix_seconds(m_clock.wall_now()),
                             m_options.history_max_age);
      // Continuous with the live feed and up to the remote's head: current again.
      if (adopt_locked(t, *range, false) && m_live.load()) {
        t->stale = false;
      }
      const bool same_epoch = range->epoch == since.epoch;
      const std::uint64_t after = same_epoch ? std::min(since.seq, range->seq) : 0;
      const std::uint64_t first = range->entries.empty() ? range->seq + 1 : range->entries.front().seq;
      if (!same_epoch || after + 1 < first) {
        out.push_back(net::make_ws_text(gap_notice(t->name, range->epoch, after + 1, first - 1,
                                                   same_epoch ? "history_expired" : "epoch_changed"),
                                        -1, false));
      }
      for (const auto& e : range->entries) {
        if (e.seq > after) {
          out.push_back(net::make_ws_text(e.json, e.priority, true, t->name));
        }
      }
      sub->gen = t->gen;
      if (range->epoch == t->epoch) {
        sub->last_seq = same_epoch ? std::max(since.seq, range->seq) : range->seq;
      } else {
        // The live feed is on another epoch than the remote's answer (a race with an
        // epoch change): say so rather than mix the two.
        out.push_back(
            net::make_ws_text(gap_notice(t->name, t->epoch, 1, t->seq, "epoch_changed"), -1, false));
        sub->last_seq = t->seq;
      }
    }
  }
  const net::WsCork cork;
  for (const auto& f : out) {
    sub->conn->send(f);
  }
  for (const auto& e : hold->events) {
    Shard::give(*sub, e);
  }
}

} // namespace mp::push
