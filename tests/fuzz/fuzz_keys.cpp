// libFuzzer target: API key lists (MP_API_KEYS) and bearer headers.
#include "auth/keys.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mp::auth::KeyStore keys;
  (void)keys.add_list(text, "fuzz");
  mp::auth::Principal p;
  (void)keys.check(mp::auth::KeyStore::bearer_token(text), p);
  return 0;
}
