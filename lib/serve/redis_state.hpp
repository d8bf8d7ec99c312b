#pragma once
// mp-serve's state in Redis (DESIGN.md section 4): the L2 result cache and the limits and
// budget shared by every instance. Both degrade instead of failing: a Redis that is down
// makes the L2 miss at once and the limiter fall back to this instance's own windows
// (each instance then enforces the full limits by itself until Redis is back; documented
// in mp-serve(1), REDIS MODE).
//
// Keys:
//   mp:cache:v1:<type>:<sha256>  a result: zstd frame of its JSON, EX ttl
//   mp:cache:stats               hash: hits misses l2_hits l2_misses stores (HINCRBY per instance)
//   mp:limit:attempts            zset: reservation id -> grant time (ms, Redis TIME), the last hour
//   mp:limit:cost                hash: reservation id -> dollars (estimate, then the real cost)
//   mp:limit:cost_at             zset: reservation id -> grant time, to expire the cost hash

#include "ai/limiter.hpp"
#include "ai/shared_cache.hpp"
#include "metrics/registry.hpp"
#include "redis/client.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mp::serve {

class RedisCache final : public ai::SharedCache {
public:
  RedisCache(std::shared_ptr<redis::Pool> pool, int zstd_level)
      : m_pool(std::move(pool)), m_level(zstd_level) {}

  Expected<std::vector<std::optional<std::string>>> get_many(const std::vector<std::string>& keys) override;
  Expected<void> put_many(const std::vector<std::pair<std::string, std::string>>& entries,
                          std::chrono::seconds ttl) override;
  Expected<void> add_counters(const ai::SharedCacheCounters& delta) override;

private:
  std::shared_ptr<redis::Pool> m_pool;
  int m_level;
};

/// The limits of ai::LimitConfig for all instances at once: one Lua script checks every
/// window and reserves, atomically, on Redis's clock. Reservations made while Redis was
/// down go to the local fallback (their ids have the top bit set).
class RedisLimiter final : public ai::Limiter {
public:
  RedisLimiter(std::shared_ptr<redis::Pool> pool, ai::LimitConfig config, const util::Clock& clock);

  ai::Grant try_acquire(double estimated_cost) override;
  void reconcile(std::uint64_t reservation, double actual_cost) override;
  [[nodiscard]] ai::LimiterSnapshot snapshot() const override;
  [[nodiscard]] bool remote() const override { return true; }
  /// Grants given by the fallback because Redis was down.
  [[nodiscard]] std::uint64_t fallback_grants() const { return m_fallback_grants.load(); }

private:
  [[nodiscard]] std::string member(std::uint64_t reservation) const;

  std::shared_ptr<redis::Pool> m_pool;
  ai::LimitConfig m_config;
  const util::Clock& m_clock;
  ai::SlidingWindowLimiter m_local;
  std::string m_instance; ///< random, so reservation ids of instances never collide
  std::atomic<std::uint64_t> m_next{1};
  std::atomic<std::uint64_t> m_fallback_grants{0};
  mutable std::mutex m_snapshot_mu;
  ai::LimiterSnapshot m_snapshot; ///< as of the last grant or denial
  bool m_have_snapshot = false;
};

/// Pings Redis every second on its own thread, so the pool knows it is down (or back)
/// without traffic: /readyz reads `up()`, and mp_redis_up / mp_redis_connects_total say it.
class RedisHealth {
public:
  RedisHealth(std::shared_ptr<redis::Pool> pool, metrics::Registry& registry);
  ~RedisHealth();
  RedisHealth(const RedisHealth&) = delete;
  RedisHealth& operator=(const RedisHealth&) = delete;
  [[nodiscard]] bool up() const { return m_up.load(); }

private:
  std::shared_ptr<redis::Pool> m_pool;
  metrics::Gauge& m_up_gauge;
  std::atomic<bool> m_up{false};
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace mp::serve
