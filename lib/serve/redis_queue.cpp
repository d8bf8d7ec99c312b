// The shared queue in Redis (redis_queue.hpp).

#include "serve/redis_queue.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>
#include <unistd.h>

namespace mp::serve {

namespace {

constexpr std::string_view k_group = "mp:workers";

/// `mp:queue:<priority>` of every level, most urgent first, built once.
const std::array<std::string, ai::k_priority_count>& stream_keys() {
  static const auto keys = [] {
    std::array<std::string, ai::k_priority_count> k;
    for (std::size_t i = 0; i < k.size(); ++i) {
      k[i] = fmt::format("mp:queue:{}", ai::priority_name(static_cast<ai::Priority>(i)));
    }
    return k;
  }();
  return keys;
}
const std::string& stream_key(ai::Priority p) {
  return stream_keys()[static_cast<std::size_t>(p)];
}
/// The five stream keys as a script's KEYS.
std::vector<std::string_view> stream_key_views() {
  return {stream_keys().begin(), stream_keys().end()};
}
std::string record_key(std::string_view id) {
  return fmt::format("mp:req:{}", id);
}

// KEYS: record, stream. ARGV: id, owner, json, ttl, submission. Returns the entry id.
const redis::Script k_enqueue(R"lua(
local e = redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'sub', ARGV[5])
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'status', 'queued', 'json', ARGV[3],
           'stream', KEYS[2], 'entry', e, 'deliveries', 0)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return e
)lua");

// Claiming one entry: a request that is final (or gone) is acknowledged and dropped (-1);
// otherwise it is marked processing and the count of its deliveries (this one included)
// is returned. Shared by the two scripts below.
constexpr std::string_view k_start_fn = R"lua(
local function start(record, stream, group, entry, consumer, ttl)
  local st = redis.call('HGET', record, 'status')
  if (not st) or st == 'cancelled' or st == 'completed' or st == 'failed' then
    redis.call('XACK', stream, group, entry)
    redis.call('XDEL', stream, entry)
    return -1
  end
  if st == 'queued' then
    local json = redis.call('HGET', record, 'json')
    json = string.gsub(json, '"status":"queued"', '"status":"processing"', 1)
    redis.call('HSET', record, 'status', 'processing', 'json', json)
  end
  redis.call('HSET', record, 'consumer', consumer)
  redis.call('EXPIRE', record, ttl)
  return redis.call('HINCRBY', record, 'deliveries', 1)
end
)lua";

// KEYS: record, stream. ARGV: group, entry, consumer, ttl. For entries read otherwise
// (XAUTOCLAIM, a blocking XREADGROUP).
const redis::Script k_start(std::string(k_start_fn) + R"lua(
return start(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
)lua");

// KEYS: the five streams, most urgent first. ARGV: group, consumer, max, ttl, aging ms (0:
// none). Reads and claims up to max new entries in one round trip: {{level, entry, id,
// submission, deliveries}, ...}, level counting from 0.
//
// Aging as in each instance's local queue (ai/queue.hpp): a level's oldest unread entry
// (the first after the group's last-delivered-id; its id is its enqueue time on Redis's
// clock) counts one level more urgent per `aging` it has waited, and the levels are read
// by that effective level, the older head first on a tie. A batch is read from one level
// at a time, so entries behind an aged head ride along: claims are a few at a time.
const redis::Script k_claim(std::string(k_start_fn) + R"lua(
local out, left, aging = {}, tonumber(ARGV[3]), tonumber(ARGV[5])
local order = {}
for level = 1, #KEYS do order[level] = {level, level - 1, 0} end
-- Ages matter only when two levels hold entries (XLEN is O(1); it counts claimed ones too).
local filled = {}
if aging > 0 then
  for level, stream in ipairs(KEYS) do
    if redis.call('XLEN', stream) > 0 then filled[#filled + 1] = level end
  end
end
if #filled > 1 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for _, level in ipairs(filled) do
    local stream = KEYS[level]
    local last = '0-0'
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
      local f = {}
      for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
      if f['name'] == ARGV[1] then last = f['last-delivered-id'] end
    end
    local head = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', 1)
    if #head > 0 then
      local age = math.max(0, now - tonumber(string.match(head[1][1], '^(%d+)')))
      order[level] = {level, math.max(0, level - 1 - math.floor(age / aging)), age}
    end
  end
  table.sort(order, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    if a[3] ~= b[3] then return a[3] > b[3] end
    return a[1] < b[1]
  end)
end
for _, o in ipairs(order) do
  local level, stream = o[1], KEYS[o[1]]
  if left <= 0 then break end
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left, 'STREAMS', stream, '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      local id, sub = '', ''
      for f = 1, #e[2], 2 do
        if e[2][f] == 'id' then id = e[2][f + 1] elseif e[2][f] == 'sub' then sub = e[2][f + 1] end
      end
      local n = start('mp:req:' .. id, stream, ARGV[1], e[1], ARGV[2], ARGV[4])
      if n > 0 then
        out[#out + 1] = {level - 1, e[1], id, sub, n}
        left = left - 1
      end
    end
  end
end
return out
)lua");

// KEYS: the five streams. ARGV: group, this consumer, min idle ms. Deletes the consumers
// that hold nothing and have not read for min idle ms: those of instances that stopped (a
// new name each start). Safe for a live one too: nothing pending is lost, and its next
// read or claim creates it again. Returns how many went.
const redis::Script k_prune(R"lua(
local removed = 0
for _, stream in ipairs(KEYS) do
  local consumers = redis.pcall('XINFO', 'CONSUMERS', stream, ARGV[1])
  if type(consumers) == 'table' and not consumers.err then
    for _, c in ipairs(consumers) do
      local f = {}
      for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
      if f.name ~= ARGV[2] and f.pending == 0 and f.idle > tonumber(ARGV[3]) then
        redis.call('XGROUP', 'DELCONSUMER', stream, ARGV[1], f.name)
        removed = removed + 1
      end
    end
  end
end
return removed
)lua");

// KEYS: record, stream. ARGV: group, entry, status, json, ttl, id, channel.
const redis::Script k_finish(R"lua(
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'json', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[7], ARGV[6])
return 1
)lua");

// KEYS: record. ARGV: owner ('' for anyone), group, channel, id. Returns {outcome, status}.
const redis::Script k_cancel(R"lua(
local h = redis.call('HMGET', KEYS[1], 'owner', 'status', 'stream', 'entry', 'json')
if not h[2] then return {'not_found', ''} end
if ARGV[1] ~= '' and h[1] ~= ARGV[1] then return {'not_found', ''} end
if h[2] ~= 'queued' then
  if h[2] == 'cancelled' then return {'cancelled', h[2]} end
  return {'too_late', h[2]}
end
redis.call('XDEL', h[3], h[4])
redis.call('XACK', h[3], ARGV[2], h[4])
local json = string.gsub(h[5], '"status":"queued"', '"status":"cancelled"', 1)
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'json', json)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'cancelled', 'cancelled'}
)lua");

std::optional<ai::Status> parse_status(std::string_view s) {
  for (auto st : {ai::Status::queued, ai::Status::processing, ai::Status::completed, ai::Status::failed,
                  ai::Status::cancelled}) {
    if (ai::status_name(st) == s) {
      return st;
    }
  }
  return std::nullopt;
}

std::string instance_name() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) {
    host[0] = '\0';
  }
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}", host.data(), getpid(), rd());
}

Error redis_error(std::string_view what, std::string_view message) {
  return Error{Errc::invalid, fmt::format("redis: {}: {}", what, message)};
}

/// Entries of one stream ([[id, [field, value, ...]], ...]) into `out`.
void parse_entries(const redis::Reply& entries, ai::Priority p, std::vector<ai::ClaimedRequest>& out) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto e = entries.at(i);
    if (e.size() < 2 || e.at(1).size() == 0) {
      continue; // deleted since it was queued
    }
    ai::ClaimedRequest c;
    c.priority = p;
    c.entry = std::string(e.at(0).str());
    const auto fields = e.at(1);
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields.at(f).str() == "id") {
        c.id = std::string(fields.at(f + 1).str());
      } else if (fields.at(f).str() == "sub") {
        c.submission_json = std::string(fields.at(f + 1).str());
      }
    }
    out.push_back(std::move(c));
  }
}

/// Every reply of a batch of scripts, or the first error among them.
Expected<void> all_ok(const Expected<std::vector<redis::Reply>>& replies, std::string_view what) {
  if (!replies) {
    return std::unexpected(replies.error());
  }
  for (const auto& r : *replies) {
    if (r.is_error()) {
      return std::unexpected(redis_error(what, r.str()));
    }
  }
  return {};
}

} // namespace

RedisQueue::RedisQueue(std::shared_ptr<redis::Pool> pool, RedisQueueOptions options)
    : m_pool(std::move(pool)), m_options(options), m_consumer(instance_name()),
      m_done_channel(m_pool->url().channel("mp:req:done")) {
  // Claims block for up to a few hundred milliseconds: the feeder's connection allows that.
  m_options.connect.command_timeout =
      std::max(m_options.connect.command_timeout, std::chrono::milliseconds{2000});
}

RedisQueue::~RedisQueue() = default;

std::string RedisQueue::queued_ttl() const {
  // Queued records live at least a day: a long queue must not expire what it holds.
  return std::to_string(std::max<std::int64_t>(m_options.record_ttl.count(), 86'400));
}

Expected<redis::Connection*> RedisQueue::connection() {
  if (m_conn && m_conn->broken()) {
    m_conn.reset();
  }
  if (!m_conn) {
    auto c = redis::Connection::open(m_pool->url(), m_options.connect);
    if (!c) {
      return std::unexpected(c.error());
    }
    m_conn.emplace(std::move(*c));
    m_groups_ready = false;
  }
  if (!m_groups_ready) {
    for (std::size_t i = 0; i < ai::k_priority_count; ++i) {
      const std::string& key = stream_keys()[i];
      auto r = m_conn->command({"XGROUP", "CREATE", key, k_group, "0", "MKSTREAM"});
      if (!r) {
        return std::unexpected(r.error());
      }
      if (r->is_error() && !r->str().starts_with("BUSYGROUP")) {
        return std::unexpected(redis_error("XGROUP CREATE", r->str()));
      }
    }
    m_groups_ready = true;
  }
  return &*m_conn;
}

Expected<void> RedisQueue::enqueue(const std::vector<ai::QueuedRequest>& items) {
  const std::string ttl = queued_ttl();
  std::vector<std::array<std::string, 2>> keys(items.size());
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    keys[i] = {record_key(it.id), stream_key(it.priority)};
    commands.push_back({"EVALSHA", k_enqueue.sha1, "2", keys[i][0], keys[i][1], it.id, it.owner,
                        it.record_json, ttl, it.submission_json});
  }
  return all_ok(m_pool->with([&](redis::Connection& c) { return c.eval_pipeline(k_enqueue, commands); }),
                "enqueue");
}

Expected<std::vector<ai::ClaimedRequest>> RedisQueue::start(redis::Connection& c,
                                                            std::vector<ai::ClaimedRequest> read) {
  if (read.empty()) {
    return read;
  }
  const std::string ttl = queued_ttl();
  std::vector<std::array<std::string, 2>> keys(read.size());
  std::vector<std::vector<std::string_view>> commands;
  for (std::size_t i = 0; i < read.size(); ++i) {
    keys[i] = {record_key(read[i].id), stream_key(read[i].priority)};
    commands.push_back(
        {"EVALSHA", k_start.sha1, "2", keys[i][0], keys[i][1], k_group, read[i].entry, m_consumer, ttl});
  }
  auto replies = c.eval_pipeline(k_start, commands);
  if (!replies) {
    // Claimed but not marked: they stay claimed by us and come back by reclaim.
    return std::unexpected(replies.error());
  }
  std::vector<ai::ClaimedRequest> out;
  for (std::size_t i = 0; i < read.size() && i < replies->size(); ++i) {
    const auto& r = (*replies)[i];
    if (r.is_error()) {
      spdlog::warn("redis: shared queue: claiming {}: {}", read[i].id, r.str());
      continue;
    }
    if (r.integer() < 0) {
      continue; // cancelled (or expired) while queued
    }
    read[i].deliveries = static_cast<int>(r.integer());
    out.push_back(std::move(read[i]));
  }
  return out;
}

Expected<std::vector<ai::ClaimedRequest>> RedisQueue::claim(std::size_t max, std::chrono::milliseconds wait) {
  std::lock_guard lock(m_conn_mu);
  auto conn = connection();
  if (!conn) {
    return std::unexpected(conn.error());
  }
  redis::Connection& c = **conn;
  std::vector<ai::ClaimedRequest> read;
  auto take = [&](const Expected<redis::Reply>& r) -> Expected<void> {
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->is_error()) {
      if (r->str().starts_with("NOGROUP")) {
        m_groups_ready = false; // Redis lost the streams (a restart without persistence)
      }
      return std::unexpected(redis_error("XREADGROUP", r->str()));
    }
    for (std::size_t s = 0; s < r->size(); ++s) { // [[stream, entries], ...] or nil
      const auto stream = r->at(s);
      const std::string_view name = stream.at(0).str();
      for (std::size_t i = 0; i < ai::k_priority_count; ++i) {
        if (name == stream_key(static_cast<ai::Priority>(i))) {
          parse_entries(stream.at(1), static_cast<ai::Priority>(i), read);
        }
      }
    }
    return {};
  };
  // The most urgent level first (after aging), claimed in the same script: one round trip.
  const auto& keys = stream_keys();
  const auto key_views = stream_key_views();
  const std::string count = std::to_string(max);
  const std::string ttl = queued_ttl();
  const std::string aging = std::to_string(m_options.aging.count());
  auto claimed = c.eval(k_claim, key_views, {k_group, m_consumer, count, ttl, aging});
  if (!claimed) {
    return std::unexpected(claimed.error());
  }
  if (claimed->is_error()) {
    if (claimed->str().find("NOGROUP") != std::string_view::npos) {
      m_groups_ready = false; // Redis lost the streams (a restart without persistence)
    }
    return std::unexpected(redis_error("claim", claimed->str()));
  }
  std::vector<ai::ClaimedRequest> out;
  for (std::size_t i = 0; i < claimed->size(); ++i) {
    const auto e = claimed->at(i);
    if (e.size() < 5 || e.at(0).integer() < 0 || e.at(0).integer() >= std::int64_t{ai::k_priority_count}) {
      continue;
    }
    out.push_back(ai::ClaimedRequest{std::string(e.at(2).str()), static_cast<ai::Priority>(e.at(0).integer()),
                                     std::string(e.at(1).str()), std::string(e.at(3).str()),
                                     static_cast<int>(e.at(4).integer())});
  }
  if (!out.empty() || wait.count() <= 0) {
    return out;
  }
  {
    // Nothing queued: wait for the next request on any level (one, so a burst is then read
    // in priority order by the next call).
    const std::string block = std::to_string(wait.count());
    std::vector<std::string_view> argv{"XREADGROUP", "GROUP", k_group, m_consumer, "COUNT",
                                       "1",          "BLOCK", block,   "STREAMS"};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), ai::k_priority_count, ">");
    if (auto ok = take(c.command(argv)); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return start(c, std::move(read));
}

Expected<std::vector<ai::ClaimedRequest>> RedisQueue::reclaim(std::size_t max) {
  std::lock_guard lock(m_conn_mu);
  auto conn = connection();
  if (!conn) {
    return std::unexpected(conn.error());
  }
  redis::Connection& c = **conn;
  const std::string idle = std::to_string(m_options.visibility.count());
  std::vector<ai::ClaimedRequest> read;
  for (std::size_t i = 0; i < ai::k_priority_count && read.size() < max; ++i) {
    const auto p = static_cast<ai::Priority>(i);
    const std::string& key = stream_key(p);
    const std::string count = std::to_string(max - read.size());
    // [next cursor, [entries], [deleted ids]]: claims idle past the visibility timeout.
    auto r = c.command({"XAUTOCLAIM", key, k_group, m_consumer, idle, "0-0", "COUNT", count});
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->is_error()) {
      if (r->str().starts_with("NOGROUP")) {
        m_groups_ready = false;
      }
      return std::unexpected(redis_error("XAUTOCLAIM", r->str()));
    }
    if (r->size() >= 2) {
      parse_entries(r->at(1), p, read);
    }
  }
  prune(c);
  return start(c, std::move(read));
}

void RedisQueue::prune(redis::Connection& c) {
  const auto now = std::chrono::steady_clock::now();
  if (now < m_next_prune) {
    return;
  }
  m_next_prune = now + m_options.visibility * 2;
  const std::string min_idle = std::to_string(m_options.visibility.count() * 10);
  auto r = c.eval(k_prune, stream_key_views(), {k_group, m_consumer, min_idle});
  if (r && !r->is_error() && r->integer() > 0) {
    spdlog::info("redis: shared queue: removed {} idle consumer(s) of stopped instances from {}",
                 r->integer(), k_group);
  }
}

Expected<void> RedisQueue::claim_many(const std::vector<ai::ClaimRef>& claims, bool give_back) {
  if (claims.empty()) {
    return {};
  }
  std::lock_guard lock(m_conn_mu);
  auto conn = connection();
  if (!conn) {
    return std::unexpected(conn.error());
  }
  // XCLAIM ... 0 ids JUSTID resets each claim's idle time to 0 (renew); with IDLE past the
  // visibility timeout it makes them reclaimable at once (give back).
  std::array<std::vector<std::string_view>, ai::k_priority_count> ids;
  for (const auto& [p, entry] : claims) {
    ids[static_cast<std::size_t>(p)].push_back(entry);
  }
  const std::string idle = std::to_string(m_options.visibility.count() * 2);
  std::vector<std::vector<std::string_view>> commands;
  for (std::size_t i = 0; i < ai::k_priority_count; ++i) {
    if (ids[i].empty()) {
      continue;
    }
    std::vector<std::string_view> argv{"XCLAIM", stream_keys()[i], k_group, m_consumer, "0"};
    argv.insert(argv.end(), ids[i].begin(), ids[i].end());
    if (give_back) {
      argv.insert(argv.end(), {"IDLE", idle});
    }
    argv.emplace_back("JUSTID");
    commands.push_back(std::move(argv));
  }
  auto r = (*conn)->pipeline(commands);
  if (!r) {
    return std::unexpected(r.error());
  }
  return {};
}

Expected<void> RedisQueue::renew(const std::vector<ai::ClaimRef>& claims) {
  return claim_many(claims, false);
}
Expected<void> RedisQueue::release(const std::vector<ai::ClaimRef>& claims) {
  return claim_many(claims, true);
}

Expected<void> RedisQueue::finish(const std::vector<ai::FinishedRequest>& items) {
  const std::string ttl = std::to_string(m_options.record_ttl.count());
  std::vector<std::array<std::string, 2>> keys(items.size());
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    keys[i] = {record_key(it.id), stream_key(it.priority)};
    commands.push_back({"EVALSHA", k_finish.sha1, "2", keys[i][0], keys[i][1], k_group, it.entry,
                        ai::status_name(it.status), it.record_json, ttl, it.id, m_done_channel});
  }
  return all_ok(m_pool->with([&](redis::Connection& c) { return c.eval_pipeline(k_finish, commands); }),
                "finish");
}

Expected<std::vector<std::optional<ai::SharedRecord>>>
RedisQueue::fetch(const std::vector<std::string>& ids) {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string_view>> commands;
  keys.reserve(ids.size());
  for (const auto& id : ids) {
    keys.push_back(record_key(id));
    commands.push_back({"HMGET", keys.back(), "owner", "status", "json"});
  }
  auto replies = m_pool->with([&](redis::Connection& c) { return c.pipeline(commands); });
  if (!replies) {
    return std::unexpected(replies.error());
  }
  std::vector<std::optional<ai::SharedRecord>> out(ids.size());
  for (std::size_t i = 0; i < ids.size() && i < replies->size(); ++i) {
    const auto& r = (*replies)[i];
    if (r.is_error()) {
      return std::unexpected(redis_error("HMGET", r.str()));
    }
    if (r.size() < 3 || r.at(1).is_nil() || r.at(2).is_nil()) {
      continue;
    }
    auto st = parse_status(r.at(1).str());
    if (!st) {
      continue;
    }
    out[i] = ai::SharedRecord{std::string(r.at(0).str()), *st, std::string(r.at(2).str())};
  }
  return out;
}

Expected<std::pair<RedisQueue::CancelOutcome, ai::Status>> RedisQueue::cancel(const std::string& id,
                                                                              const std::string& owner) {
  const std::string key = record_key(id);
  auto r = m_pool->with([&](redis::Connection& c) {
    return redis::checked(c.eval(k_cancel, {key}, {owner, k_group, m_done_channel, id}));
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->size() < 2) {
    return std::unexpected(redis_error("cancel", "unexpected reply"));
  }
  const std::string_view outcome = r->at(0).str();
  const ai::Status status = parse_status(r->at(1).str()).value_or(ai::Status::queued);
  if (outcome == "cancelled") {
    return std::pair{CancelOutcome::cancelled, ai::Status::cancelled};
  }
  return std::pair{outcome == "too_late" ? CancelOutcome::too_late : CancelOutcome::not_found, status};
}

Expected<std::array<std::size_t, ai::k_priority_count>> RedisQueue::depths() {
  // Waiting = entries not yet handed out: the stream's length less the group's pending.
  std::vector<std::vector<std::string_view>> commands;
  for (const auto& key : stream_keys()) {
    commands.push_back({"XLEN", key});
    commands.push_back({"XPENDING", key, k_group});
  }
  auto r = m_pool->with([&](redis::Connection& c) { return c.pipeline(commands); });
  if (!r) {
    return std::unexpected(r.error());
  }
  std::array<std::size_t, ai::k_priority_count> out{};
  for (std::size_t i = 0; i < ai::k_priority_count && 2 * i + 1 < r->size(); ++i) {
    const auto& len = (*r)[2 * i];
    const auto& pending = (*r)[2 * i + 1];
    const std::int64_t n = len.is_error() ? 0 : len.integer();
    const std::int64_t held = pending.is_error() || pending.size() == 0 ? 0 : pending.at(0).integer();
    out[i] = static_cast<std::size_t>(std::max<std::int64_t>(0, n - held));
  }
  return out;
}

void RedisQueue::listen(std::function<void(std::string_view id)> done, std::function<void()> resync) {
  m_subscriber = std::make_unique<redis::Subscriber>(
      m_pool->url(), std::vector<std::string>{m_done_channel},
      [done = std::move(done)](std::string_view, std::string_view id) { done(id); },
      [resync = std::move(resync)](bool subscribed) {
        if (subscribed) {
          resync(); // completions announced while we were not listening are lost
        }
      });
}

} // namespace mp::serve
