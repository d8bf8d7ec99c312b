#pragma once
// API keys and what each may do.
//
// An entry is `KEY[:SCOPE[:USER]]`: SCOPE is `user` (the default) or `admin`, USER the
// id whose private WebSocket topic the key may read (default: `key-` and the first 8
// hex digits of the key's SHA-256). Keys come from a file (one entry a line, `#`
// comments) and from MP_API_KEYS (comma-separated). Only SHA-256 digests of keys are
// kept, so a lookup compares digests and never the secret itself.

#include "util/error.hpp"
#include "util/sha256.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mp::auth {

enum class Scope { user, admin };

/// Who a request is.
struct Principal {
  std::string user_id;
  Scope scope = Scope::user;
  bool anonymous = false; ///< no keys are configured: open mode, loopback only

  [[nodiscard]] bool is_admin() const { return scope == Scope::admin; }
};

/// The outcome of checking a request's credentials.
enum class AuthResult { ok, missing, invalid };

class KeyStore {
public:
  /// Adds one entry; `origin` ("keys.txt:3", "MP_API_KEYS") names it in errors.
  Expected<void> add(std::string_view entry, std::string_view origin);
  /// Adds every entry of a keys file.
  Expected<void> add_file(const std::string& path);
  /// Adds a comma-separated list.
  Expected<void> add_list(std::string_view list, std::string_view origin);

  [[nodiscard]] bool empty() const { return m_keys.empty(); }
  [[nodiscard]] std::size_t size() const { return m_keys.size(); }

  /// Checks a bearer token. With no keys configured every request is an anonymous admin.
  [[nodiscard]] AuthResult check(std::string_view token, Principal& out) const;

  /// The token of an `Authorization: Bearer <token>` value; empty when it is not one.
  static std::string_view bearer_token(std::string_view authorization);

private:
  std::map<util::Digest, Principal> m_keys;
};

} // namespace mp::auth
