// Topics across instances through Redis (redis_fanout.hpp).

#include "push/redis_fanout.hpp"
#include "push/event.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

namespace mp::push {

namespace {

constexpr std::size_t k_batch = 64; ///< publishes per pipeline

// KEYS: epoch seq hist channel. ARGV: a new epoch, instance, priority, the event's head
// and tail (push/event.hpp), maxlen, ts (ms), ttl (s). Returns {epoch, seq}.
const redis::Script k_publish(R"lua(
local e = redis.call('GET', KEYS[1])
if not e then
  e = ARGV[1]
  redis.call('SET', KEYS[1], e)
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3])
end
local s = redis.call('INCR', KEYS[2])
local json = '{"id":"' .. e .. ':' .. s .. ARGV[4] .. e .. '","seq":' .. s .. ARGV[5]
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], s .. '-0', 'f', json, 'p', ARGV[3], 't', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[8])
redis.call('PUBLISH', KEYS[4], ARGV[2] .. ' ' .. e .. ' ' .. s .. ' ' .. ARGV[3] .. '\n' .. json)
return {e, s}
)lua");

// KEYS: epoch seq hist. ARGV: the caller's epoch, the first id it wants (`<seq>-0`),
// count. Returns {} (never published) or {epoch, seq, newest entries first}: after the
// caller's position when its epoch is the topic's, else the newest of all.
const redis::Script k_read(R"lua(
local e = redis.call('GET', KEYS[1])
if not e then return {} end
local from = '-'
if e == ARGV[1] then from = ARGV[2] end
return {e, redis.call('GET', KEYS[2]) or '0', redis.call('XREVRANGE', KEYS[3], '+', from, 'COUNT', ARGV[3])}
)lua");

std::optional<std::uint64_t> to_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || s.empty()) {
    return std::nullopt;
  }
  return v; // "17-0": the part before '-'
}

std::optional<RemoteHistory::Range> parse_range(const redis::Reply& r) {
  RemoteHistory::Range out;
  if (r.type() != redis::Reply::Type::array) {
    return std::nullopt;
  }
  if (r.size() == 0) {
    return out;
  }
  const auto seq = r.size() == 3 ? to_uint(r.at(1).str()) : std::nullopt;
  if (!seq || r.at(2).type() != redis::Reply::Type::array) {
    return std::nullopt;
  }
  out.epoch = std::string(r.at(0).str());
  out.seq = *seq;
  const redis::Reply entries = r.at(2);
  for (std::size_t i = entries.size(); i-- > 0;) { // newest first: reversed
    const redis::Reply entry = entries.at(i);
    if (entry.size() != 2) {
      return std::nullopt;
    }
    RemoteHistory::Entry e;
    const auto id = to_uint(entry.at(0).str());
    const redis::Reply fields = entry.at(1);
    if (!id) {
      return std::nullopt;
    }
    e.seq = *id;
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      const auto name = fields.at(f).str();
      const auto value = fields.at(f + 1).str();
      if (name == "f") {
        e.json = std::string(value);
      } else if (name == "p") {
        e.priority = static_cast<int>(to_uint(value).value_or(2));
      } else if (name == "t") {
        e.ts = static_cast<double>(to_uint(value).value_or(0)) / 1000.0;
      }
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

/// One read of a topic's stream after `after` (all of it when `after.epoch` is not the topic's).
Expected<RemoteHistory::Range> read_range(redis::Connection& c, const std::string& topic,
                                          const Position& after, std::size_t count) {
  const std::string epoch_key = "mp:ws:epoch:" + topic;
  const std::string seq_key = "mp:ws:seq:" + topic;
  const std::string hist_key = "mp:ws:hist:" + topic;
  // A position past any real one (a client's claim) still makes a valid stream id.
  const std::string from =
      std::to_string(std::min<std::uint64_t>(after.seq, 1'000'000'000'000'000) + 1) + "-0";
  const std::string n = std::to_string(std::max<std::size_t>(count, 1));
  auto r = redis::checked(c.eval(k_read, {epoch_key, seq_key, hist_key}, {after.epoch, from, n}));
  if (!r) {
    return std::unexpected(r.error());
  }
  auto range = parse_range(*r);
  if (!range) {
    return fail(Errc::invalid, "redis: unexpected reply to the WebSocket history read");
  }
  return std::move(*range);
}

} // namespace

RedisFanout::RedisFanout(Hub& hub, redis::RedisUrl url, FanoutOptions options)
    : m_hub(hub), m_url(std::move(url)), m_options(options), m_instance(random_id()),
      m_pool(m_url, 1, options.connect) {
  m_hub.set_remote(this);
  spdlog::info("websocket: topics shared through {} (instance {})", m_url.redacted(), m_instance);
  m_thread = std::thread([this] { run(); });
  m_subscriber = std::make_unique<redis::Subscriber>(
      m_url, std::vector<std::string>{m_channel_prefix + "*"},
      [this](std::string_view channel, std::string_view message) { on_message(channel, message); },
      [this](bool subscribed) { on_state(subscribed); });
}

RedisFanout::~RedisFanout() {
  stop();
  m_hub.set_remote(nullptr);
}

void RedisFanout::stop() {
  m_subscriber.reset(); // joins; no more hub.accept() from it
  {
    std::lock_guard lock(m_mu);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  m_counters.connected = false;
}

RedisFanout::Queued RedisFanout::enqueue(Job& job) {
  std::lock_guard lock(m_mu);
  if (m_stopping) {
    return Queued::stopped;
  }
  if (m_jobs.size() >= m_options.max_queue) {
    return Queued::full;
  }
  m_jobs.push_back(std::move(job));
  m_counters.queued.fetch_add(1, std::memory_order_relaxed);
  m_cv.notify_one();
  return Queued::ok;
}

void RedisFanout::publish(std::string topic, std::string_view type, std::string_view data_json, int priority,
                          Done done) {
  const double ts = util::to_unix_seconds(std::chrono::system_clock::now());
  auto parts = event_parts(topic, type, priority, ts, data_json); // encoded here, off the publisher thread
  Job job = PublishJob{std::move(topic), std::string(type), std::string(data_json),
                       priority,         std::move(parts),  static_cast<std::int64_t>(ts * 1000),
                       std::move(done)};
  const auto queued = enqueue(job);
  if (queued == Queued::ok) {
    return;
  }
  auto& p = std::get<PublishJob>(job);
  std::optional<Published> out;
  if (queued == Queued::stopped) { // shutting down: this instance's clients still get it
    out = m_hub.publish(p.topic, p.type, p.data, p.priority);
  } else {
    error(FanoutCounters::op_queue_full);
  }
  if (p.done) {
    p.done(std::move(out));
  }
}

void RedisFanout::fetch(std::string topic, Position after, RemoteHistory::Done done) {
  Job job = FetchJob{std::move(topic), std::move(after), std::move(done)};
  if (enqueue(job) != Queued::ok) {
    std::get<FetchJob>(job).done(std::nullopt);
  }
}

void RedisFanout::run() {
  for (;;) {
    std::vector<PublishJob> publishes;
    std::optional<FetchJob> fetch;
    {
      std::unique_lock lock(m_mu);
      m_cv.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
      if (m_jobs.empty()) {
        return; // stopping, and every job is done
      }
      // The publishes at the front go in one pipeline: one round trip for all of them.
      while (!m_jobs.empty() && publishes.size() < k_batch &&
             std::holds_alternative<PublishJob>(m_jobs.front())) {
        publishes.push_back(std::get<PublishJob>(std::move(m_jobs.front())));
        m_jobs.pop_front();
      }
      if (publishes.empty()) {
        fetch = std::get<FetchJob>(std::move(m_jobs.front()));
        m_jobs.pop_front();
      }
      m_counters.queued.fetch_sub(fetch ? 1 : static_cast<std::int64_t>(publishes.size()),
                                  std::memory_order_relaxed);
    }
    if (fetch) {
      run_fetch(*fetch);
    } else {
      run_publishes(publishes);
    }
  }
}

void RedisFanout::run_fetch(FetchJob& f) {
  auto r = m_pool.with(
      [&](redis::Connection& c) { return read_range(c, f.topic, f.after, m_options.history_size); });
  if (!r) {
    error(FanoutCounters::op_fetch);
    f.done(std::nullopt);
    return;
  }
  m_counters.resumes.fetch_add(1, std::memory_order_relaxed);
  f.done(std::move(*r));
}

void RedisFanout::run_publishes(std::vector<PublishJob>& jobs) {
  const std::string maxlen = std::to_string(std::max<std::size_t>(m_options.history_size, 1));
  const std::string ttl = std::to_string(m_options.history_max_age.count() + 86'400);
  // EVALSHA sha 4 epoch seq hist channel new-epoch instance priority head tail maxlen ts ttl
  std::vector<std::array<std::string, 8>> owned(jobs.size());
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& t = jobs[i].topic;
    owned[i] = {"mp:ws:epoch:" + t,
                "mp:ws:seq:" + t,
                "mp:ws:hist:" + t,
                m_channel_prefix + t,
                random_id(),
                std::to_string(jobs[i].priority),
                std::to_string(jobs[i].ts_ms),
                ""};
    const auto& o = owned[i];
    commands.push_back({"EVALSHA", k_publish.sha1, "4", o[0], o[1], o[2], o[3], o[4], m_instance, o[5],
                        jobs[i].parts.head, jobs[i].parts.tail, maxlen, o[6], ttl});
  }
  auto replies = m_pool.with([&](redis::Connection& c) { return c.eval_pipeline(k_publish, commands); });
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto& job = jobs[i];
    std::optional<Published> out;
    if (replies && i < replies->size() && (*replies)[i].size() == 2 && !(*replies)[i].is_error()) {
      const auto& r = (*replies)[i];
      out = Published{job.topic, std::string(r.at(0).str()), static_cast<std::uint64_t>(r.at(1).integer()),
                      m_hub.subscribers(job.topic)};
      m_counters.published.fetch_add(1, std::memory_order_relaxed);
    } else {
      if (replies && i < replies->size()) {
        spdlog::warn("redis: WebSocket publish to {}: {}", job.topic, (*replies)[i].str());
      }
      error(FanoutCounters::op_publish);
      m_counters.local.fetch_add(1, std::memory_order_relaxed);
      out = m_hub.publish(job.topic, job.type, job.data, job.priority);
    }
    if (job.done) {
      job.done(std::move(out));
    }
  }
}

void RedisFanout::on_message(std::string_view channel, std::string_view message) {
  if (!channel.starts_with(m_channel_prefix)) {
    return;
  }
  const auto topic = channel.substr(m_channel_prefix.size());
  const auto m = parse_channel_message(message);
  if (!valid_topic(topic) || !m) {
    error(FanoutCounters::op_message);
    return;
  }
  m_hub.accept(topic, m->epoch, m->seq, m->json, m->priority);
  m_counters.received.fetch_add(1, std::memory_order_relaxed);
}

// On the subscriber's thread, before it reads the messages that came since it
// subscribed: the resync and the live feed overlap, and the hub keeps one of each.
void RedisFanout::on_state(bool subscribed) {
  m_counters.connected = subscribed;
  m_hub.set_live(subscribed);
  if (!subscribed) {
    return;
  }
  auto c = redis::Connection::open(m_url, m_options.connect);
  if (!c) {
    error(FanoutCounters::op_resync);
    spdlog::warn("redis: WebSocket resync: {}", c.error().message);
    return;
  }
  for (const auto& [topic, position] : m_hub.resync_targets()) {
    auto r = read_range(*c, topic, position, m_options.history_size);
    if (!r) {
      error(FanoutCounters::op_resync);
      spdlog::warn("redis: WebSocket resync of {}: {}", topic, r.error().message);
      return;
    }
    m_hub.adopt(topic, *r);
  }
}

} // namespace mp::push
