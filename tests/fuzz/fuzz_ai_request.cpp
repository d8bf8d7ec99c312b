// libFuzzer target: an AI request body through JSON parsing and field validation, as
// POST /api/ai/process does. Invariant: never crashes; every refusal is a 4xx with a message.
#include "serve/ai_request.hpp"
#include "util/json.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = mp::util::parse_json_scratch(text);
  if (!doc) {
    return 0;
  }
  const mp::auth::Principal who{"alice", mp::auth::Scope::user, false};
  auto r = mp::serve::parse_ai_request(**doc, who, mp::serve::RequestLimits{30'000});
  if (!r && (r.error().status < 400 || r.error().status >= 500 || r.error().message.empty())) {
    std::abort();
  }
  return 0;
}
