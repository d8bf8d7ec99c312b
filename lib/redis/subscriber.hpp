#pragma once
// A pub/sub listener on its own thread and connection: PSUBSCRIBE to patterns, hand every
// message to a callback, reconnect with back-off when Redis goes away (and say so, because
// messages published while it was away are lost: callers resync from a stream).

#include "redis/client.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mp::redis {

class Subscriber {
public:
  /// (channel, message), called on the subscriber's thread.
  using Handler = std::function<void(std::string_view channel, std::string_view message)>;
  /// Called with true once subscribed (again), false when the connection was lost.
  using StateHandler = std::function<void(bool subscribed)>;

  Subscriber(RedisUrl url, std::vector<std::string> patterns, Handler on_message, StateHandler on_state = {});
  /// Stops and joins the thread (within about 200 ms).
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  [[nodiscard]] bool subscribed() const { return m_subscribed.load(); }

private:
  void run();
  bool listen(Connection& c); ///< false when the connection failed

  RedisUrl m_url;
  std::vector<std::string> m_patterns;
  Handler m_on_message;
  StateHandler m_on_state;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_subscribed{false};
  std::thread m_thread;
};

} // namespace mp::redis
