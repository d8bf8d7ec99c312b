// The L2 cache and the shared limiter in Redis (redis_state.hpp).

#include "serve/redis_state.hpp"
#include "ai/cache.hpp"
#include "ai/cache_index.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <random>

namespace mp::serve {

namespace {

constexpr std::uint64_t k_local_bit = std::uint64_t{1} << 63;

// KEYS: attempts, cost, cost_at. ARGV: per_minute, per_hour, budget, margin_ms, estimate,
// member. Returns {1, 0} granted, {0, wait_ms} denied, {-1, 0} impossible. Every window is
// judged on Redis's clock (TIME), so instances with skewed clocks still share one count.
const redis::Script k_acquire(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per_minute, per_hour = tonumber(ARGV[1]), tonumber(ARGV[2])
local budget, margin, estimate = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local minute, hour = 60000 + margin, 3600000 + margin
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - hour)
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - 3600000)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 3600000)
  redis.call('HDEL', KEYS[2], unpack(old))
end
local n_minute = redis.call('ZCOUNT', KEYS[1], now - minute, '+inf')
local n_hour = redis.call('ZCARD', KEYS[1])
local spent = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do spent = spent + tonumber(v) end
if budget > 0 and estimate > budget then return {-1, 0, n_minute, n_hour, tostring(spent)} end
local free_at = 0
if per_minute > 0 and n_minute >= per_minute then
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], now - minute, '+inf', 'WITHSCORES', 'LIMIT', n_minute - per_minute, 1)
  free_at = math.max(free_at, tonumber(e[2]) + minute)
end
if per_hour > 0 and n_hour >= per_hour then
  local e = redis.call('ZRANGE', KEYS[1], n_hour - per_hour, n_hour - per_hour, 'WITHSCORES')
  free_at = math.max(free_at, tonumber(e[2]) + hour)
end
if budget > 0 and spent + estimate > budget then
  local e = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  free_at = math.max(free_at, e[2] and (tonumber(e[2]) + 3600000) or (now + 1000))
end
if free_at > 0 then return {0, math.max(1, free_at - now), n_minute, n_hour, tostring(spent)} end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('ZADD', KEYS[3], now, ARGV[6])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[5])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], hour + 60000) end
return {1, 0, n_minute + 1, n_hour + 1, tostring(spent + estimate)}
)lua");

// KEYS: cost. ARGV: member, real cost. Only a reservation still in the hour is replaced.
const redis::Script k_reconcile(R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
)lua");

const std::vector<std::string_view> k_limit_keys = {"mp:limit:attempts", "mp:limit:cost", "mp:limit:cost_at"};

std::string number(double v) {
  return fmt::format("{:.9g}", v);
}

} // namespace

Expected<std::vector<std::optional<std::string>>> RedisCache::get_many(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(keys.size());
  for (const auto& k : keys) {
    cmds.push_back({"GET", k});
  }
  auto replies = m_pool->with([&](redis::Connection& c) { return c.pipeline(cmds); });
  if (!replies) {
    return std::unexpected(replies.error());
  }
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (const auto& r : *replies) {
    if (r.type() != redis::Reply::Type::string) {
      out.emplace_back();
      continue;
    }
    // zstd frames, but a value written raw (by hand, or an import) is used as it is.
    auto json = ai::zstd_decompress(r.str());
    out.emplace_back(json ? std::move(*json) : std::string(r.str()));
  }
  return out;
}

Expected<void> RedisCache::put_many(const std::vector<std::pair<std::string, std::string>>& entries,
                                    std::chrono::seconds ttl) {
  std::vector<std::string> frames;
  frames.reserve(entries.size());
  for (const auto& [key, json] : entries) {
    frames.push_back(ai::zstd_compress(json, m_level));
  }
  const std::string ex = std::to_string(ttl.count());
  ai::IndexCommands cmds;
  std::vector<ai::IndexedStore> stored;
  stored.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    cmds.cmds.push_back({"SET", entries[i].first, frames[i], "EX", ex});
    stored.push_back({entries[i].first, ttl.count()});
  }
  // The index is written in the same pipeline (ai/cache_index.hpp): mp-cache flush reads it.
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  ai::append_index_commands(stored, now.count(), cmds);
  auto replies = m_pool->with([&](redis::Connection& c) { return c.pipeline(cmds.cmds); });
  if (!replies) {
    return std::unexpected(replies.error());
  }
  return {};
}

Expected<void> RedisCache::add_counters(const ai::SharedCacheCounters& d) {
  const std::string h = std::to_string(d.hits), m = std::to_string(d.misses), l2h = std::to_string(d.l2_hits),
                    l2m = std::to_string(d.l2_misses), st = std::to_string(d.stores);
  auto r = m_pool->with([&](redis::Connection& c) {
    return c.pipeline({{"HINCRBY", "mp:cache:stats", "hits", h},
                       {"HINCRBY", "mp:cache:stats", "misses", m},
                       {"HINCRBY", "mp:cache:stats", "l2_hits", l2h},
                       {"HINCRBY", "mp:cache:stats", "l2_misses", l2m},
                       {"HINCRBY", "mp:cache:stats", "stores", st}});
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  return {};
}

RedisLimiter::RedisLimiter(std::shared_ptr<redis::Pool> pool, ai::LimitConfig config,
                           const util::Clock& clock)
    : m_pool(std::move(pool)), m_config(config), m_clock(clock), m_local(config, clock) {
  std::random_device rd;
  m_instance = fmt::format("{:08x}{:08x}", rd(), rd());
}

std::string RedisLimiter::member(std::uint64_t reservation) const {
  return fmt::format("{}:{}", m_instance, reservation);
}

ai::Grant RedisLimiter::try_acquire(double estimated_cost) {
  const std::uint64_t id = m_next.fetch_add(1);
  const std::string who = member(id), per_minute = std::to_string(m_config.requests_per_minute),
                    per_hour = std::to_string(m_config.requests_per_hour),
                    budget = number(m_config.cost_limit_per_hour),
                    margin = std::to_string(m_config.window_margin.count()),
                    estimate = number(estimated_cost);
  auto r = m_pool->with([&](redis::Connection& c) {
    return redis::checked(
        c.eval(k_acquire, k_limit_keys, {per_minute, per_hour, budget, margin, estimate, who}));
  });
  if (!r || r->size() != 5) {
    // Redis is down (or refused the script): this instance's own windows decide.
    ai::Grant g = m_local.try_acquire(estimated_cost);
    if (g.granted) {
      m_fallback_grants.fetch_add(1);
      g.reservation |= k_local_bit;
    }
    return g;
  }
  {
    // What snapshot() reports: the windows as of this call (it never waits on Redis).
    ai::LimiterSnapshot snap;
    snap.used_minute = r->at(2).integer();
    snap.used_hour = r->at(3).integer();
    const auto spent = r->at(4).str();
    std::from_chars(spent.data(), spent.data() + spent.size(), snap.spent_hour);
    snap.budget_left = m_config.cost_limit_per_hour > 0 ? m_config.cost_limit_per_hour - snap.spent_hour
                                                        : std::numeric_limits<double>::infinity();
    std::lock_guard lock(m_snapshot_mu);
    m_snapshot = snap;
    m_have_snapshot = true;
  }
  ai::Grant g;
  const std::int64_t verdict = r->at(0).integer();
  if (verdict == 1) {
    g.granted = true;
    g.reservation = id;
  } else if (verdict < 0) {
    g.impossible = true;
  } else {
    g.retry_at = m_clock.steady_now() + std::chrono::milliseconds(r->at(1).integer());
  }
  return g;
}

void RedisLimiter::reconcile(std::uint64_t reservation, double actual_cost) {
  if (reservation & k_local_bit) {
    m_local.reconcile(reservation & ~k_local_bit, actual_cost);
    return;
  }
  const std::string who = member(reservation), cost = number(actual_cost);
  auto r = m_pool->with([&](redis::Connection& c) {
    return c.eval(k_reconcile, {k_limit_keys[1]}, {who, cost});
  });
  if (!r) {
    // The estimate stays charged: the budget errs on the safe side.
    spdlog::warn("limiter: could not reconcile {} in Redis: {}", who, r.error().message);
  }
}

ai::LimiterSnapshot RedisLimiter::snapshot() const {
  std::lock_guard lock(m_snapshot_mu);
  if (!m_have_snapshot || m_pool->degraded()) {
    return m_local.snapshot();
  }
  return m_snapshot;
}

RedisHealth::RedisHealth(std::shared_ptr<redis::Pool> pool, metrics::Registry& registry)
    : m_pool(std::move(pool)),
      m_up_gauge(
          registry.gauge("mp_redis_up", "1 when Redis answers (Redis mode), 0 when degraded").with({})) {
  auto& connects = registry.gauge("mp_redis_connects", "Connections opened to Redis since start").with({});
  registry.on_collect([this, &connects] { connects.set(static_cast<double>(m_pool->reconnects())); });
  auto ping = [this] {
    auto r = m_pool->with([](redis::Connection& c) { return redis::checked(c.command({"PING"})); });
    const bool up = r.has_value();
    if (up != m_up.exchange(up)) {
      if (up) {
        spdlog::info("redis: {} is up: shared cache, limits and fan-out in use", m_pool->url().redacted());
      } else {
        spdlog::warn("redis: {} is down ({}): degraded to this instance's own state until it is back",
                     m_pool->url().redacted(), r.error().message);
      }
    }
    m_up_gauge.set(up ? 1 : 0);
  };
  ping(); // the first answer before the server takes traffic
  m_thread = std::thread([this, ping] {
    while (!m_stop) {
      for (int i = 0; i < 10 && !m_stop; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!m_stop) {
        ping();
      }
    }
  });
}

RedisHealth::~RedisHealth() {
  m_stop = true;
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

} // namespace mp::serve
