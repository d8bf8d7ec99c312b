// Redis URLs (url.hpp).

#include "redis/url.hpp"
#include "util/strings.hpp"

#include <charconv>
#include <fmt/format.h>

namespace mp::redis {

std::string RedisUrl::redacted() const {
  std::string auth;
  if (!user.empty() || !password.empty()) {
    auth = fmt::format("{}{}@", user, password.empty() ? "" : ":***");
  }
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("redis://{}{}{}{}:{}/{}", auth, v6 ? "[" : "", host, v6 ? "]" : "", port, db);
}

Expected<RedisUrl> parse_url(std::string_view text, std::string_view field) {
  auto bad = [&](std::string_view why) {
    // Never echo credentials: show what follows the '@' only.
    const auto at = text.rfind('@');
    const std::string shown =
        at == std::string_view::npos ? std::string(text) : "redis://***@" + std::string(text.substr(at + 1));
    return fail(Errc::config,
                fmt::format("{}: '{}' {} (redis://[user:password@]host:port/db)", field, shown, why),
                std::string(field));
  };
  constexpr std::string_view k_scheme = "redis://";
  if (!text.starts_with(k_scheme)) {
    return bad("is not a redis:// URL");
  }
  std::string_view rest = text.substr(k_scheme.size());
  RedisUrl u;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = auth.find(':');
    auto user = util::percent_decode(auth.substr(0, colon));
    auto pass = colon == std::string_view::npos ? std::optional<std::string>(std::string{})
                                                : util::percent_decode(auth.substr(colon + 1));
    if (!user || !pass) {
      return bad("has a malformed %-escape in its user or password");
    }
    if (colon == std::string_view::npos) {
      // redis://password@host is how some clients spell a password alone.
      u.password = *user;
    } else {
      u.user = *user;
      u.password = *pass;
    }
  }
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    const std::string_view db = rest.substr(slash + 1);
    auto [e, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
    if (ec != std::errc{} || e != db.data() + db.size() || u.db < 0 || u.db > 15) {
      return bad("has a bad database number (0-15)");
    }
  }
  std::string_view portpart;
  if (hostport.starts_with('[')) {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      return bad("has an unclosed [");
    }
    u.host = std::string(hostport.substr(1, close - 1));
    portpart = hostport.substr(close + 1);
    if (!portpart.empty() && portpart.front() != ':') {
      return bad("has junk after its host");
    }
    portpart = portpart.empty() ? portpart : portpart.substr(1);
  } else {
    const auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    portpart = colon == std::string_view::npos ? std::string_view{} : hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    return bad("has no host");
  }
  if (!portpart.empty()) {
    auto [e, ec] = std::from_chars(portpart.data(), portpart.data() + portpart.size(), u.port);
    if (ec != std::errc{} || e != portpart.data() + portpart.size() || u.port < 1 || u.port > 65535) {
      return bad("has a bad port");
    }
  }
  return u;
}

Expected<std::optional<RedisUrl>> from_config(const config::Config& cfg) {
  if (!cfg.redis.url.empty()) {
    auto u = parse_url(cfg.redis.url, "redis.url");
    if (!u) {
      return std::unexpected(u.error());
    }
    return std::optional<RedisUrl>(std::move(*u));
  }
  const auto& c = cfg.ai_processing.cache;
  if (!c.redis_enabled && !cfg.websocket.redis_enabled) {
    return std::optional<RedisUrl>{};
  }
  RedisUrl u;
  u.host = c.redis_host;
  u.port = static_cast<int>(c.redis_port);
  u.db = static_cast<int>(c.redis_db);
  return std::optional<RedisUrl>(std::move(u));
}

std::string RedisUrl::channel(std::string_view name) const {
  constexpr std::string_view prefix = "mp:";
  const std::string_view rest = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  return fmt::format("mp:{}:{}", db, rest);
}

} // namespace mp::redis
