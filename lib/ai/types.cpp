#include "ai/types.hpp"

namespace mp::ai {

std::optional<Priority> parse_priority(std::string_view name) {
  for (std::size_t i = 0; i < k_priority_count; ++i) {
    if (k_priority_names[i] == name) {
      return static_cast<Priority>(i);
    }
  }
  return std::nullopt;
}

std::optional<CacheMode> parse_cache_mode(std::string_view name) {
  if (name == "default") {
    return CacheMode::normal;
  }
  if (name == "no-store") {
    return CacheMode::no_store;
  }
  if (name == "refresh") {
    return CacheMode::refresh;
  }
  return std::nullopt;
}

std::string_view status_name(Status s) {
  switch (s) {
  case Status::queued: return "queued";
  case Status::processing: return "processing";
  case Status::completed: return "completed";
  case Status::failed: return "failed";
  case Status::cancelled: return "cancelled";
  }
  return "failed";
}

} // namespace mp::ai
