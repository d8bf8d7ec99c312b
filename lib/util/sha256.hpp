#pragma once
// SHA-256 (OpenSSL), for cache keys and for keeping API keys out of memory in clear.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mp::util {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data) noexcept;
/// Lower-case hex of a digest.
std::string to_hex(const Digest& d);

} // namespace mp::util
