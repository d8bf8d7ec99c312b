#include "util/sha256.hpp"

#include <openssl/sha.h>

namespace mp::util {

Digest sha256(std::string_view data) noexcept {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
}

std::string to_hex(const Digest& d) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (auto b : d) {
    out += k_hex[b >> 4];
    out += k_hex[b & 0xf];
  }
  return out;
}

} // namespace mp::util
