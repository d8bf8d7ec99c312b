#pragma once
// How long an upstream asks to be left alone: `Retry-After` and OpenAI's `retry-after-ms`.

#include <chrono>
#include <optional>
#include <string_view>

namespace mp::ai {

/// The wait an upstream asks for, from its `Retry-After` (delta seconds, or an HTTP-date
/// in any of RFC 9110's three formats, taken relative to `now`; a date in the past is 0)
/// and `retry-after-ms` (milliseconds, possibly fractional, rounded up) header values.
/// A valid `retry-after-ms` wins. Empty or unparsable values count as absent.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms,
                                                           std::chrono::system_clock::time_point now);

} // namespace mp::ai
