#pragma once
// Validation of AI requests: JSON in, a pipeline Submission out, or a 4xx naming the field.

#include "ai/pipeline.hpp"
#include "auth/keys.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <string>

namespace mp::serve {

struct ApiError {
  int status = 400;
  std::string code = "invalid_request";
  std::string message;
  std::string field;
};

struct ParsedRequest {
  ai::Submission submission;
  std::chrono::milliseconds wait{0};
};

struct RequestLimits {
  std::int64_t max_wait_ms = 30'000;
};

/// Turns one request object into a Submission for `who`. Errors name the field:
/// missing, wrong type, unknown request_type/priority/cache, unknown fields, a
/// metadata.user_id that is not the caller's own.
std::expected<ParsedRequest, ApiError> parse_ai_request(const rapidjson::Value& v, const auth::Principal& who,
                                                        const RequestLimits& limits);

/// Checks Content-Type: `application/json` (and for batches `application/x-ndjson`).
std::optional<ApiError> check_content_type(std::string_view content_type, bool allow_ndjson);

} // namespace mp::serve
