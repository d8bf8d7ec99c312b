#pragma once
// The OpenAI-compatible provider: one POST {base_url}/chat/completions per call, in JSON
// mode, over libcurl. Works against api.openai.com and local servers that speak the same
// API (Ollama, vLLM, llama.cpp's server, tests/fakes/fake_openai.py).
//
// Connections are reused: every worker thread owns one curl easy handle (thread_local)
// for the life of the thread, and curl keeps its connection cache in that handle, so a
// thread's calls to the same host ride one keep-alive connection. No retries happen
// here (the pipeline owns the single retry loop). One caveat from libcurl itself: when a
// *reused* connection turns out to have been closed by the server before any byte of
// the answer arrived, curl resends the request once on a fresh connection, because that
// request never reached a live server.

#include "ai/provider.hpp"
#include "ai/retry_after.hpp" // parse_retry_after, used on every failed attempt

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace mp::ai {

/// Dollars per million tokens.
struct Price {
  double input_per_million = 0;
  double output_per_million = 0;
};

/// The model used for each request type when the request names none.
struct TypeModels {
  std::string classification = "gpt-5-nano";
  std::string summary = "gpt-5-mini";
  std::string action_items = "gpt-5-mini";
  std::string analysis = "gpt-5-mini";

  [[nodiscard]] const std::string& for_type(analyser::RequestType type) const;
};

/// OpenAI's list prices (standard tier, August 2025) for the models mp defaults to.
std::map<std::string, Price> default_prices();

/// The user message a request sends: the email's subject, sender and content.
std::string user_message(const ProviderRequest& req);

/// The system prompt for a request type: names the exact JSON schema of analysis.hpp.
std::string_view system_prompt(analyser::RequestType type);

/// Thread-safe: call() runs concurrently from any number of threads.
class OpenAiProvider final : public Provider {
public:
  struct Options {
    std::string base_url = "https://api.openai.com/v1"; ///< without the trailing /chat/completions
    std::string api_key;                                ///< empty: no Authorization header (Ollama)
    long timeout_ms = 30'000;                           ///< the whole attempt
    long connect_timeout_ms = 5'000;
    TypeModels models;
    std::map<std::string, Price> prices = default_prices();
    /// For models the table does not know; deliberately dear (gpt-5's price), so an
    /// unknown model over-reserves the budget rather than under-reserving it.
    Price default_price{1.25, 10.0};
    std::int64_t max_output_tokens = 800; ///< the output side of estimate_cost
    std::string prompt_version = "v1";    ///< part of cache keys: a prompt change invalidates them
    /// Sent as `temperature`; nullopt leaves it out, for models that accept only their
    /// default (OpenAI's gpt-5 family rejects 0).
    std::optional<double> temperature = 0.0;
  };

  explicit OpenAiProvider(Options options);

  /// One POST. Errors: HTTP 429/500/502/503/504, timeouts and connection failures are
  /// retryable; other statuses are not. A 200 whose answer is not JSON or does not fit
  /// the schema is a retryable failure with status 200 and a message starting
  /// "invalid answer:" (the model may well answer correctly the next time).
  std::expected<ProviderResult, AttemptError> call(const ProviderRequest& req) override;
  [[nodiscard]] double estimate_cost(const ProviderRequest& req) const override;
  [[nodiscard]] bool is_remote() const override { return true; }
  [[nodiscard]] std::string_view name() const override { return "openai"; }

  [[nodiscard]] const Options& options() const { return m_options; }
  /// The model a request asks for: its own, else its type's default.
  [[nodiscard]] const std::string& model_for(const ProviderRequest& req) const;
  /// The price of `model`: an exact entry, else the longest entry that prefixes it at a
  /// '-' ("gpt-5-mini-2025-08-07" is "gpt-5-mini"), else default_price, with a warning
  /// logged once per unknown model.
  [[nodiscard]] Price price_of(std::string_view model) const;
  /// The JSON body of the request sent for `req`.
  [[nodiscard]] std::string request_body(const ProviderRequest& req) const;

private:
  std::expected<ProviderResult, AttemptError> parse_answer(const ProviderRequest& req,
                                                           std::string_view body) const;

  Options m_options;
  std::string m_url;
  mutable std::mutex m_warned_mutex;
  mutable std::set<std::string, std::less<>> m_warned_models;
};

} // namespace mp::ai
