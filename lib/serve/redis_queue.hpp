#pragma once
// The shared queue in Redis (ai/shared_queue.hpp has the design).
//
// Keys:
//   mp:queue:<priority>  stream per level: entries {id, sub}; consumer group "mp:workers",
//                        one consumer per instance start (removed by the others once it
//                        holds nothing and has been idle 10 visibility timeouts); an entry
//                        is deleted when finished
//   mp:req:<id>          hash: owner status json stream entry deliveries consumer; EX the
//                        record TTL (a day at least while queued), refreshed at each step
//   mp:<db>:req:done     channel: the id of every request that became final
//
// Every step that changes a record is one Lua script, so a cancel and a claim of the same
// request cannot both win: the claim's script drops a request already cancelled, and a
// cancel refuses a request already claimed.

#include "ai/shared_queue.hpp"
#include "redis/client.hpp"
#include "redis/subscriber.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace mp::serve {

struct RedisQueueOptions {
  std::chrono::milliseconds visibility{15'000};
  std::chrono::milliseconds aging{10'000}; ///< ai_processing.queue.aging_ms; 0: strict priority
  std::chrono::seconds record_ttl{3600};
  redis::ConnectOptions connect;
};

class RedisQueue final : public ai::SharedQueue {
public:
  RedisQueue(std::shared_ptr<redis::Pool> pool, RedisQueueOptions options);
  ~RedisQueue() override;

  Expected<void> enqueue(const std::vector<ai::QueuedRequest>& items) override;
  Expected<std::vector<ai::ClaimedRequest>> claim(std::size_t max, std::chrono::milliseconds wait) override;
  Expected<std::vector<ai::ClaimedRequest>> reclaim(std::size_t max) override;
  Expected<void> renew(const std::vector<ai::ClaimRef>& claims) override;
  Expected<void> release(const std::vector<ai::ClaimRef>& claims) override;
  Expected<void> finish(const std::vector<ai::FinishedRequest>& items) override;
  Expected<std::vector<std::optional<ai::SharedRecord>>> fetch(const std::vector<std::string>& ids) override;
  Expected<std::pair<CancelOutcome, ai::Status>> cancel(const std::string& id,
                                                        const std::string& owner) override;
  Expected<std::array<std::size_t, ai::k_priority_count>> depths() override;
  void listen(std::function<void(std::string_view id)> done, std::function<void()> resync) override;

  /// This instance's consumer name in the group.
  [[nodiscard]] const std::string& consumer() const { return m_consumer; }

private:
  /// The feeder's own connection (claims block on it), opened on demand. Under m_conn_mu.
  Expected<redis::Connection*> connection();
  /// Runs the claim script on freshly read entries; keeps those still to be run. Under m_conn_mu.
  Expected<std::vector<ai::ClaimedRequest>> start(redis::Connection& c, std::vector<ai::ClaimedRequest> read);
  /// The TTL of a record still queued or running, in seconds (text for Redis).
  [[nodiscard]] std::string queued_ttl() const;
  Expected<void> claim_many(const std::vector<ai::ClaimRef>& claims, bool give_back);
  /// At most every two visibility timeouts: drops the group's consumers that hold nothing
  /// and have been idle for ten (stopped instances). Under m_conn_mu.
  void prune(redis::Connection& c);

  std::shared_ptr<redis::Pool> m_pool;
  RedisQueueOptions m_options;
  std::string m_consumer;
  std::string m_done_channel; ///< `mp:<db>:req:done`
  std::mutex m_conn_mu;
  std::optional<redis::Connection> m_conn;
  bool m_groups_ready = false;
  std::chrono::steady_clock::time_point m_next_prune{};
  std::unique_ptr<redis::Subscriber> m_subscriber;
};

} // namespace mp::serve
