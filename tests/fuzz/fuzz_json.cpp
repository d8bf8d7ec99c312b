// libFuzzer target: the bounded JSON parser (depth limit, UTF-8 check, RapidJSON). Both
// entry points must agree on what is valid.
#include "util/json.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto owned = mp::util::parse_json(text);
  auto scratch = mp::util::parse_json_scratch(text);
  if (owned.has_value() != scratch.has_value()) {
    std::abort();
  }
  if (owned) {
    (void)mp::util::to_json(*owned);
  }
  return 0;
}
