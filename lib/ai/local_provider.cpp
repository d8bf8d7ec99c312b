#include "ai/local_provider.hpp"
#include "analyser/local.hpp"

namespace mp::ai {

std::expected<ProviderResult, AttemptError> LocalProvider::call(const ProviderRequest& req) {
  ProviderResult r;
  r.analysis = analyser::analyse(analyser::Email{req.subject, req.sender, req.content}, m_clock.wall_now());
  r.model = "local";
  return r;
}

} // namespace mp::ai
