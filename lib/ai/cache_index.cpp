#include "ai/cache_index.hpp"
#include "ai/cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

namespace mp::ai {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1; // upper case is not what make_cache_key writes: not ours
}

} // namespace

std::string cache_index_key(analyser::RequestType type, std::int64_t hour) {
  return fmt::format("mp:cache:index:v1:{}:{}", analyser::request_type_name(type), hour);
}

std::optional<std::string> index_member(std::string_view digest_hex) {
  if (digest_hex.size() != 64) {
    return std::nullopt;
  }
  std::string out(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(digest_hex[2 * i]), lo = hex_value(digest_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string key_of_member(analyser::RequestType type, std::string_view member) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string key = "mp:cache:v1:";
  key += analyser::request_type_name(type);
  key += ':';
  for (const char c : member) {
    const auto b = static_cast<unsigned char>(c);
    key += k_digits[b >> 4];
    key += k_digits[b & 0xf];
  }
  return key;
}

void append_index_commands(const std::vector<IndexedStore>& stores, std::int64_t now_s, IndexCommands& out) {
  struct Bucket {
    std::vector<std::string> members;
    std::int64_t expire_at = 0;
  };
  const std::int64_t hour = now_s / k_index_bucket_s;
  std::map<analyser::RequestType, Bucket> buckets; // one hour: every store is made now
  for (const auto& s : stores) {
    const auto key = parse_cache_key(s.key);
    auto member = key ? index_member(key->digest_hex) : std::nullopt;
    if (!member) {
      continue;
    }
    auto& b = buckets[key->type];
    b.members.push_back(std::move(*member));
    // The bucket's last store is at most at the end of its hour.
    b.expire_at = std::max(b.expire_at, (hour + 1) * k_index_bucket_s + s.ttl_s + k_index_bucket_s);
  }
  for (auto& [type, b] : buckets) {
    const std::string& list = out.owned.emplace_back(cache_index_key(type, hour));
    std::vector<std::string_view> rpush{"RPUSH", list};
    for (auto& m : b.members) {
      rpush.emplace_back(out.owned.emplace_back(std::move(m)));
    }
    out.cmds.push_back(std::move(rpush));
    // With one configured TTL every store in an hour sets the same time. A batch with a
    // shorter TTL (an import) can shorten it; the keys it then outlives are swept.
    out.cmds.push_back({"EXPIREAT", list, out.owned.emplace_back(std::to_string(b.expire_at))});
  }
}

} // namespace mp::ai
