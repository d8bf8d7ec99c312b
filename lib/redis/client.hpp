#pragma once
// A Redis connection on hiredis: commands by argv (binary-safe), pipelines, Lua scripts by
// EVALSHA with a NOSCRIPT fallback, AUTH and SELECT on connect, timeouts, and reconnection
// with back-off.
//
// Blocking by design: a Connection belongs to one thread at a time. mp-serve's I/O
// threads never call it; they hand work to a thread that owns one (the pipeline's workers,
// redis::Subscriber, mp-cache's main thread). bench/RESULTS.md has the measurement behind
// choosing a dedicated thread over an async adapter on the I/O threads' reactor.

#include "redis/url.hpp"
#include "util/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct redisContext;
struct redisReply;

namespace mp::redis {

/// A reply, owned (top level) or borrowed (an element of one).
class Reply {
public:
  enum class Type { string, array, integer, nil, status, error };

  Reply() = default;
  [[nodiscard]] Type type() const;
  [[nodiscard]] bool is_nil() const { return type() == Type::nil; }
  [[nodiscard]] bool is_error() const { return type() == Type::error; }
  /// The bytes of a string, status or error reply; empty otherwise.
  [[nodiscard]] std::string_view str() const;
  [[nodiscard]] std::int64_t integer() const;
  [[nodiscard]] std::size_t size() const; ///< array elements
  [[nodiscard]] Reply at(std::size_t i) const;

private:
  friend class Connection;
  explicit Reply(redisReply* owned);
  Reply(std::shared_ptr<redisReply> root, const redisReply* node) : m_root(std::move(root)), m_node(node) {}
  std::shared_ptr<redisReply> m_root;
  const redisReply* m_node = nullptr;
};

/// A Lua script with its SHA-1, sent by EVALSHA and loaded on NOSCRIPT.
struct Script {
  explicit Script(std::string source);
  std::string source;
  std::string sha1;
};

struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
};

class Connection {
public:
  /// Connects, authenticates and selects the database. Errc::unavailable when Redis cannot
  /// be reached, Errc::config when it refuses the credentials.
  static Expected<Connection> open(const RedisUrl& url, ConnectOptions opts = {});
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  /// One command. A Redis error reply is a value (Reply::is_error), not an Error; an
  /// Error means the connection failed (Errc::unavailable) and is now broken.
  Expected<Reply> command(const std::vector<std::string_view>& argv);
  /// Sends every command, then reads every reply: one round trip.
  Expected<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string_view>>& commands);
  /// EVALSHA, and EVAL once when the server does not have the script yet.
  Expected<Reply> eval(const Script& script, const std::vector<std::string_view>& keys,
                       const std::vector<std::string_view>& args);
  /// EVALSHA commands of `script` (each argv: "EVALSHA", script.sha1, ...) in one
  /// pipeline; when the server lost the script (NOSCRIPT), loads it and sends them again.
  Expected<std::vector<Reply>> eval_pipeline(const Script& script,
                                             const std::vector<std::vector<std::string_view>>& commands);
  /// Sends a command without reading its reply (pub/sub: SUBSCRIBE's replies are messages).
  Expected<void> send(const std::vector<std::string_view>& argv);
  /// The next reply pushed by the server, waiting at most `wait`: nullopt when none came.
  Expected<std::optional<Reply>> next_reply(std::chrono::milliseconds wait);
  [[nodiscard]] bool broken() const { return m_broken; }
  [[nodiscard]] const RedisUrl& url() const { return m_url; }

private:
  Connection(redisContext* ctx, RedisUrl url) : m_ctx(ctx), m_url(std::move(url)) {}
  Error io_error(std::string_view what);
  redisContext* m_ctx = nullptr;
  RedisUrl m_url;
  bool m_broken = false;
};

/// Shorthand: a reply that must not be a Redis error (its message becomes Errc::invalid).
Expected<Reply> checked(Expected<Reply> r);

/// A small pool of connections for threads that take turns, with reconnection: a broken
/// connection is dropped, and after a failure new connects wait an exponential back-off
/// (100 ms doubling to 5 s) so a Redis that is down costs a caller one fast error, not a
/// connect timeout each time. Thread-safe.
class Pool {
public:
  Pool(RedisUrl url, std::size_t max_idle = 8, ConnectOptions opts = {});

  /// A connection to use and give back; Errc::unavailable when Redis is down or backing off.
  class Lease {
  public:
    Lease(Pool& pool, Connection c) : m_pool(&pool), m_conn(std::move(c)) {}
    // A moved-from lease gives nothing back (an engaged moved-from optional would).
    Lease(Lease&& o) noexcept : m_pool(std::exchange(o.m_pool, nullptr)), m_conn(std::move(o.m_conn)) {
      o.m_conn.reset();
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Connection* operator->() { return &*m_conn; }
    Connection& operator*() { return *m_conn; }

  private:
    Pool* m_pool;
    std::optional<Connection> m_conn;
  };
  Expected<Lease> acquire();
  /// Runs `fn(Connection&)`, retrying once on a fresh connection when the first one was
  /// broken (a Redis restart drops every pooled connection at once).
  template <class Fn> auto with(Fn&& fn) -> decltype(fn(std::declval<Connection&>()));

  /// True when the last connect or command failed and no later one succeeded.
  [[nodiscard]] bool degraded() const;
  [[nodiscard]] const RedisUrl& url() const { return m_url; }
  /// Connects made and failures seen since start (for metrics).
  [[nodiscard]] std::uint64_t reconnects() const;

private:
  void give_back(Connection c);
  void note(bool ok);

  RedisUrl m_url;
  ConnectOptions m_opts;
  std::size_t m_max_idle;
  mutable std::mutex m_mu;
  std::vector<Connection> m_idle;
  std::chrono::steady_clock::time_point m_retry_at{};
  std::chrono::milliseconds m_backoff{0};
  std::uint64_t m_reconnects = 0;
  bool m_degraded = false;
};

template <class Fn> auto Pool::with(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
  for (int attempt = 0;; ++attempt) {
    auto lease = acquire();
    if (!lease) {
      return std::unexpected(lease.error());
    }
    auto r = fn(**lease);
    const bool broken = (*lease)->broken();
    note(!broken);
    if (!broken || attempt == 1) {
      return r;
    }
  }
}

} // namespace mp::redis
