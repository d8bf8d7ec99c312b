// The pub/sub thread (subscriber.hpp).

#include "redis/subscriber.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace mp::redis {

Subscriber::Subscriber(RedisUrl url, std::vector<std::string> patterns, Handler on_message,
                       StateHandler on_state)
    : m_url(std::move(url)), m_patterns(std::move(patterns)), m_on_message(std::move(on_message)),
      m_on_state(std::move(on_state)) {
  m_thread = std::thread([this] { run(); });
}

Subscriber::~Subscriber() {
  m_stop = true;
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

bool Subscriber::listen(Connection& c) {
  std::vector<std::string_view> argv{"PSUBSCRIBE"};
  argv.insert(argv.end(), m_patterns.begin(), m_patterns.end());
  if (!c.send(argv)) {
    return false;
  }
  while (!m_stop) {
    auto r = c.next_reply(std::chrono::milliseconds{200});
    if (!r) {
      return false;
    }
    if (!*r) {
      continue;
    }
    const Reply& msg = **r;
    // ["psubscribe", pattern, count] | ["pmessage", pattern, channel, payload]
    if (msg.size() >= 3 && msg.at(0).str() == "psubscribe") {
      if (static_cast<std::size_t>(msg.at(2).integer()) == m_patterns.size()) {
        m_subscribed = true;
        if (m_on_state) {
          m_on_state(true);
        }
      }
    } else if (msg.size() == 4 && msg.at(0).str() == "pmessage") {
      m_on_message(msg.at(2).str(), msg.at(3).str());
    }
  }
  return true;
}

void Subscriber::run() {
  auto backoff = std::chrono::milliseconds{100};
  while (!m_stop) {
    auto c = Connection::open(
        m_url, ConnectOptions{std::chrono::milliseconds{1000}, std::chrono::milliseconds{2000}});
    if (c) {
      backoff = std::chrono::milliseconds{100};
      if (listen(*c) || m_stop) {
        break;
      }
    }
    if (m_subscribed.exchange(false)) {
      spdlog::warn("redis: subscriber lost {}; reconnecting", m_url.redacted());
      if (m_on_state) {
        m_on_state(false);
      }
    }
    // Sleep the back-off in short steps so a stop is quick.
    for (auto slept = std::chrono::milliseconds{0}; slept < backoff && !m_stop;
         slept += std::chrono::milliseconds{50}) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds{5000});
  }
  m_subscribed = false;
}

} // namespace mp::redis
