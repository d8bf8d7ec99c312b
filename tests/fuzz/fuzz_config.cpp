// libFuzzer target: a TOML config file through the schema. Errors must name a source.
#include "config/config.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mp::config::Config cfg;
  auto r =
      mp::config::apply_toml(cfg, std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  if (!r && r.error().message.empty()) {
    std::abort();
  }
  (void)mp::config::to_json(cfg);
  return 0;
}
