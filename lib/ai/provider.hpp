#pragma once
// The upstream behind the pipeline: one attempt per call. Retries, limits, the circuit
// breaker and the cache all live in the pipeline (the single retry loop), never here.

#include "analyser/analysis.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>

namespace mp::ai {

struct ProviderRequest {
  analyser::RequestType type = analyser::RequestType::classification;
  std::string model; ///< resolved by the pipeline (request's, else the type's default)
  std::string subject;
  std::string sender;
  std::string content;
};

struct ProviderResult {
  analyser::Analysis analysis;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0; ///< from real usage and the price table; 0 for local
  std::string model;   ///< the model that answered
};

/// Why one attempt failed.
struct AttemptError {
  int status = 0;         ///< upstream HTTP status; 0 for transport errors and timeouts
  std::string message;    ///< upstream's message, or what went wrong
  bool retryable = false; ///< 429, 500, 502, 503, 504, timeouts, connection errors
  std::optional<std::chrono::milliseconds> retry_after; ///< from Retry-After / retry-after-ms
};

class Provider {
public:
  virtual ~Provider() = default;
  /// One upstream attempt. Blocking; called from worker threads, concurrently.
  virtual std::expected<ProviderResult, AttemptError> call(const ProviderRequest& req) = 0;
  /// The cost to reserve against the budget before calling (an upper estimate).
  [[nodiscard]] virtual double estimate_cost(const ProviderRequest& req) const = 0;
  /// True when a call leaves the machine and counts against the limits.
  [[nodiscard]] virtual bool is_remote() const = 0;
  [[nodiscard]] virtual std::string_view name() const = 0;
};

} // namespace mp::ai
