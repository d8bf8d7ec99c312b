#include "auth/keys.hpp"
#include "util/strings.hpp"

#include <cctype>
#include <fmt/format.h>
#include <fstream>

namespace mp::auth {

namespace {

using util::trim;

constexpr std::size_t k_min_key_length = 8;

} // namespace

Expected<void> KeyStore::add(std::string_view entry, std::string_view origin) {
  entry = trim(entry);
  const auto c1 = entry.find(':');
  const std::string_view key = entry.substr(0, c1);
  std::string_view scope = "user";
  std::string_view user;
  if (c1 != std::string_view::npos) {
    const std::string_view rest = entry.substr(c1 + 1);
    const auto c2 = rest.find(':');
    scope = rest.substr(0, c2);
    if (c2 != std::string_view::npos) {
      user = rest.substr(c2 + 1);
    }
  }
  if (key.size() < k_min_key_length) {
    return fail(Errc::config, fmt::format("{}: API key shorter than {} characters", origin, k_min_key_length),
                "auth.api_keys");
  }
  for (char c : key) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      return fail(Errc::config, fmt::format("{}: API key contains whitespace or ','", origin),
                  "auth.api_keys");
    }
  }
  Principal p;
  if (scope == "admin") {
    p.scope = Scope::admin;
  } else if (scope != "user") {
    return fail(Errc::config, fmt::format("{}: unknown scope '{}' (user, admin)", origin, scope),
                "auth.api_keys");
  }
  const util::Digest digest = util::sha256(key);
  p.user_id = user.empty() ? "key-" + util::to_hex(digest).substr(0, 8) : std::string(user);
  m_keys[digest] = std::move(p);
  return {};
}

Expected<void> KeyStore::add_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::config, fmt::format("cannot read keys file '{}'", path), "auth.keys_file");
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') {
      continue;
    }
    if (auto ok = add(t, fmt::format("{}:{}", path, n)); !ok) {
      return ok;
    }
  }
  return {};
}

Expected<void> KeyStore::add_list(std::string_view list, std::string_view origin) {
  std::size_t i = 0;
  for (int n = 1; i <= list.size(); ++n) {
    const auto comma = list.find(',', i);
    const std::string_view item = trim(list.substr(i, comma - i));
    if (!item.empty()) {
      if (auto ok = add(item, fmt::format("{} entry {}", origin, n)); !ok) {
        return ok;
      }
    }
    if (comma == std::string_view::npos) {
      break;
    }
    i = comma + 1;
  }
  return {};
}

AuthResult KeyStore::check(std::string_view token, Principal& out) const {
  if (m_keys.empty()) {
    out = Principal{"anonymous", Scope::admin, true};
    return AuthResult::ok;
  }
  if (token.empty()) {
    return AuthResult::missing;
  }
  auto it = m_keys.find(util::sha256(token));
  if (it == m_keys.end()) {
    return AuthResult::invalid;
  }
  out = it->second;
  return AuthResult::ok;
}

std::string_view KeyStore::bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) {
    return {};
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) {
      return {};
    }
  }
  return trim(authorization.substr(scheme.size()));
}

} // namespace mp::auth
