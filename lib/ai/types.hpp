#pragma once
// Words of the pipeline's contract: priorities, cache control, request status.

#include <array>
#include <optional>
#include <string_view>

namespace mp::ai {

/// The seed's five levels; lower is more urgent.
enum class Priority { urgent = 0, high = 1, normal = 2, low = 3, background = 4 };
inline constexpr std::size_t k_priority_count = 5;
inline constexpr std::array<std::string_view, k_priority_count> k_priority_names = {
    "urgent", "high", "normal", "low", "background"};

std::optional<Priority> parse_priority(std::string_view name);
inline std::string_view priority_name(Priority p) {
  return k_priority_names[static_cast<std::size_t>(p)];
}

/// The request's `cache` field.
enum class CacheMode {
  normal,   ///< "default": read, and store a success
  no_store, ///< read, but do not store this result
  refresh,  ///< do not read; store the fresh result
};
std::optional<CacheMode> parse_cache_mode(std::string_view name);

enum class Status { queued, processing, completed, failed, cancelled };
std::string_view status_name(Status s);
inline bool is_final(Status s) {
  return s == Status::completed || s == Status::failed || s == Status::cancelled;
}

} // namespace mp::ai
