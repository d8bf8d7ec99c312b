// hiredis connections, pipelines, scripts and the pool (client.hpp).

#include "redis/client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>

#include <algorithm>
#include <fmt/format.h>

namespace mp::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

struct Argv {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  explicit Argv(const std::vector<std::string_view>& args) {
    ptrs.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  [[nodiscard]] int argc() const { return static_cast<int>(ptrs.size()); }
};

std::shared_ptr<redisReply> own(redisReply* r) {
  return {r, [](redisReply* p) { freeReplyObject(p); }};
}

} // namespace

Reply::Reply(redisReply* owned) : m_root(own(owned)), m_node(owned) {
}

Reply::Type Reply::type() const {
  if (m_node == nullptr) {
    return Type::nil;
  }
  switch (m_node->type) {
  case REDIS_REPLY_STRING: return Type::string;
  case REDIS_REPLY_ARRAY: return Type::array;
  case REDIS_REPLY_INTEGER: return Type::integer;
  case REDIS_REPLY_STATUS: return Type::status;
  case REDIS_REPLY_ERROR: return Type::error;
  default: return Type::nil;
  }
}

std::string_view Reply::str() const {
  if (m_node == nullptr || m_node->str == nullptr) {
    return {};
  }
  return {m_node->str, m_node->len};
}

std::int64_t Reply::integer() const {
  return m_node != nullptr && m_node->type == REDIS_REPLY_INTEGER ? m_node->integer : 0;
}

std::size_t Reply::size() const {
  return m_node != nullptr && m_node->type == REDIS_REPLY_ARRAY ? m_node->elements : 0;
}

Reply Reply::at(std::size_t i) const {
  return i < size() ? Reply(m_root, m_node->element[i]) : Reply();
}

Script::Script(std::string src) : source(std::move(src)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  sha1.reserve(std::size_t{2} * SHA_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    sha1 += fmt::format("{:02x}", b);
  }
}

Expected<Connection> Connection::open(const RedisUrl& url, ConnectOptions opts) {
  redisContext* ctx = redisConnectWithTimeout(url.host.c_str(), url.port, to_timeval(opts.connect_timeout));
  if (ctx == nullptr || ctx->err != 0) {
    std::string why = ctx ? ctx->errstr : "out of memory";
    if (ctx) {
      redisFree(ctx);
    }
    return fail(Errc::unavailable, fmt::format("Redis {}: {}", url.redacted(), why), "redis.url");
  }
  redisSetTimeout(ctx, to_timeval(opts.command_timeout));
  redisEnableKeepAlive(ctx);
  Connection c(ctx, url);
  if (!url.password.empty()) {
    auto r =
        url.user.empty() ? c.command({"AUTH", url.password}) : c.command({"AUTH", url.user, url.password});
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->is_error()) {
      return fail(Errc::config, fmt::format("Redis {}: AUTH refused: {}", url.redacted(), r->str()),
                  "redis.url");
    }
  }
  if (url.db != 0) {
    const std::string db = std::to_string(url.db);
    auto r = c.command({"SELECT", db});
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->is_error()) {
      return fail(Errc::config, fmt::format("Redis {}: SELECT {}: {}", url.redacted(), db, r->str()),
                  "redis.url");
    }
  }
  return c;
}

Connection::Connection(Connection&& o) noexcept
    : m_ctx(std::exchange(o.m_ctx, nullptr)), m_url(std::move(o.m_url)), m_broken(o.m_broken) {
}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (m_ctx) {
      redisFree(m_ctx);
    }
    m_ctx = std::exchange(o.m_ctx, nullptr);
    m_url = std::move(o.m_url);
    m_broken = o.m_broken;
  }
  return *this;
}

Connection::~Connection() {
  if (m_ctx) {
    redisFree(m_ctx);
  }
}

Error Connection::io_error(std::string_view what) {
  m_broken = true;
  return Error{Errc::unavailable,
               fmt::format("Redis {}: {}: {}", m_url.redacted(), what,
                           m_ctx && m_ctx->errstr[0] ? m_ctx->errstr : "lost"),
               "redis.url"};
}

Expected<Reply> Connection::command(const std::vector<std::string_view>& argv) {
  if (m_broken || m_ctx == nullptr) {
    return std::unexpected(io_error("connection broken"));
  }
  Argv a(argv);
  auto* r = static_cast<redisReply*>(redisCommandArgv(m_ctx, a.argc(), a.ptrs.data(), a.lens.data()));
  if (r == nullptr) {
    return std::unexpected(io_error(argv.empty() ? "command" : argv.front()));
  }
  return Reply(r);
}

Expected<std::vector<Reply>>
Connection::pipeline(const std::vector<std::vector<std::string_view>>& commands) {
  if (m_broken || m_ctx == nullptr) {
    return std::unexpected(io_error("connection broken"));
  }
  for (const auto& cmd : commands) {
    Argv a(cmd);
    if (redisAppendCommandArgv(m_ctx, a.argc(), a.ptrs.data(), a.lens.data()) != REDIS_OK) {
      return std::unexpected(io_error("pipeline"));
    }
  }
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(m_ctx, &r) != REDIS_OK || r == nullptr) {
      return std::unexpected(io_error("pipeline reply"));
    }
    out.push_back(Reply(static_cast<redisReply*>(r)));
  }
  return out;
}

Expected<Reply> Connection::eval(const Script& script, const std::vector<std::string_view>& keys,
                                 const std::vector<std::string_view>& args) {
  const std::string nkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv = {"EVALSHA", script.sha1, nkeys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = command(argv);
  if (r && r->is_error() && r->str().starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = script.source;
    r = command(argv);
  }
  return r;
}

Expected<std::vector<Reply>>
Connection::eval_pipeline(const Script& script, const std::vector<std::vector<std::string_view>>& commands) {
  auto r = pipeline(commands);
  // A server that lost its scripts (a restart, SCRIPT FLUSH) refuses the first one, and so
  // all of them: load it and send them again.
  if (r && !r->empty() && (*r)[0].is_error() && (*r)[0].str().starts_with("NOSCRIPT")) {
    if (auto load = checked(command({"SCRIPT", "LOAD", script.source})); !load) {
      return std::unexpected(load.error());
    }
    r = pipeline(commands);
  }
  return r;
}

Expected<void> Connection::send(const std::vector<std::string_view>& argv) {
  if (m_broken || m_ctx == nullptr) {
    return std::unexpected(io_error("connection broken"));
  }
  Argv a(argv);
  if (redisAppendCommandArgv(m_ctx, a.argc(), a.ptrs.data(), a.lens.data()) != REDIS_OK) {
    return std::unexpected(io_error("send"));
  }
  int done = 0;
  while (!done) {
    if (redisBufferWrite(m_ctx, &done) != REDIS_OK) {
      return std::unexpected(io_error("send"));
    }
  }
  return {};
}

Expected<std::optional<Reply>> Connection::next_reply(std::chrono::milliseconds wait) {
  if (m_broken || m_ctx == nullptr) {
    return std::unexpected(io_error("connection broken"));
  }
  void* r = nullptr;
  if (redisGetReplyFromReader(m_ctx, &r) != REDIS_OK) {
    return std::unexpected(io_error("reply"));
  }
  if (r == nullptr) {
    pollfd p{m_ctx->fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (n == 0) {
      return std::optional<Reply>{};
    }
    if (n < 0 || redisBufferRead(m_ctx) != REDIS_OK || redisGetReplyFromReader(m_ctx, &r) != REDIS_OK) {
      return std::unexpected(io_error("reply"));
    }
    if (r == nullptr) {
      return std::optional<Reply>{};
    }
  }
  return std::optional<Reply>(Reply(static_cast<redisReply*>(r)));
}

Expected<Reply> checked(Expected<Reply> r) {
  if (r && r->is_error()) {
    return fail(Errc::invalid, fmt::format("Redis: {}", r->str()));
  }
  return r;
}

Pool::Pool(RedisUrl url, std::size_t max_idle, ConnectOptions opts)
    : m_url(std::move(url)), m_opts(opts), m_max_idle(max_idle) {
}

Pool::Lease::~Lease() {
  if (m_pool && m_conn && !m_conn->broken()) {
    m_pool->give_back(std::move(*m_conn));
  }
}

Expected<Pool::Lease> Pool::acquire() {
  {
    std::lock_guard lock(m_mu);
    if (!m_idle.empty()) {
      Connection c = std::move(m_idle.back());
      m_idle.pop_back();
      return Lease(*this, std::move(c));
    }
    if (m_backoff.count() > 0 && std::chrono::steady_clock::now() < m_retry_at) {
      return fail(Errc::unavailable,
                  fmt::format("Redis {}: down, next reconnect in {} ms", m_url.redacted(),
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  m_retry_at - std::chrono::steady_clock::now())
                                  .count()),
                  "redis.url");
    }
  }
  auto c = Connection::open(m_url, m_opts);
  {
    std::lock_guard lock(m_mu);
    ++m_reconnects;
  }
  if (!c) {
    note(false);
    return std::unexpected(c.error());
  }
  note(true);
  return Lease(*this, std::move(*c));
}

void Pool::give_back(Connection c) {
  std::lock_guard lock(m_mu);
  if (m_idle.size() < m_max_idle) {
    m_idle.push_back(std::move(c));
  }
}

void Pool::note(bool ok) {
  std::lock_guard lock(m_mu);
  if (ok) {
    m_degraded = false;
    m_backoff = std::chrono::milliseconds{0};
    return;
  }
  m_degraded = true;
  m_idle.clear(); // a failure usually means all of them are dead (a restart)
  m_backoff = std::clamp(m_backoff * 2, std::chrono::milliseconds{100}, std::chrono::milliseconds{5000});
  m_retry_at = std::chrono::steady_clock::now() + m_backoff;
}

bool Pool::degraded() const {
  std::lock_guard lock(m_mu);
  return m_degraded;
}

std::uint64_t Pool::reconnects() const {
  std::lock_guard lock(m_mu);
  return m_reconnects;
}

} // namespace mp::redis
