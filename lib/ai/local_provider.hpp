#pragma once
// The embedded default provider: the local analyser, on the worker thread; no network,
// no cost, no limits.

#include "ai/provider.hpp"
#include "util/clock.hpp"

namespace mp::ai {

class LocalProvider final : public Provider {
public:
  explicit LocalProvider(const util::Clock& clock) : m_clock(clock) {}
  std::expected<ProviderResult, AttemptError> call(const ProviderRequest& req) override;
  [[nodiscard]] double estimate_cost(const ProviderRequest&) const override { return 0; }
  [[nodiscard]] bool is_remote() const override { return false; }
  [[nodiscard]] std::string_view name() const override { return "local"; }

private:
  const util::Clock& m_clock;
};

} // namespace mp::ai
