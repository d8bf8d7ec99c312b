// The epoll load generator (engine.hpp): the plan's cuts, the engine's life cycle and the
// merging of the workers' windows; the workers are in engine_worker.cpp.

#include "bench/engine_impl.hpp"

#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>

namespace mp::bench {

std::vector<double> plan_cuts(const Plan& plan, double interval_s) {
  std::vector<double> cuts;
  const double end = plan.duration_s();
  double stage_end = 0;
  std::vector<double> stage_ends;
  for (const auto& s : plan.stages) {
    stage_end += s.duration_s;
    stage_ends.push_back(stage_end);
  }
  // Ticks as multiples of the interval, not a running sum that would drift.
  for (std::int64_t k = 1; static_cast<double>(k) * interval_s < end - 1e-9; ++k) {
    cuts.push_back(static_cast<double>(k) * interval_s);
  }
  cuts.insert(cuts.end(), stage_ends.begin(), stage_ends.end());
  std::sort(cuts.begin(), cuts.end());
  std::vector<double> out;
  for (double c : cuts) {
    if (c > 1e-9 && (out.empty() || c - out.back() > 1e-6)) {
      out.push_back(c);
    }
  }
  if (out.empty()) {
    out.push_back(std::max(end, 1e-3));
  }
  return out;
}

Expected<std::unique_ptr<Engine>> Engine::create(EngineOptions opts) {
  auto impl = std::make_unique<Impl>();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(opts.url.port);
  if (const int rc = ::getaddrinfo(opts.url.host.c_str(), port.c_str(), &hints, &res);
      rc != 0 || res == nullptr) {
    return fail(Errc::unavailable, fmt::format("cannot resolve {}: {}", opts.url.host, gai_strerror(rc)),
                "--url");
  }
  std::memcpy(&impl->addr, res->ai_addr, res->ai_addrlen);
  impl->addr_len = res->ai_addrlen;
  ::freeaddrinfo(res);
  opts.threads = std::max(1, opts.threads);
  opts.connections = std::max(opts.connections, opts.threads);
  auto cuts = plan_cuts(opts.plan, opts.interval_s);
  impl->cuts = cuts;
  impl->opt = std::move(opts);
  return std::unique_ptr<Engine>(new Engine(std::move(impl), std::move(cuts)));
}

Engine::Engine(std::unique_ptr<Impl> impl, std::vector<double> cuts)
    : m_impl(std::move(impl)), m_cuts(std::move(cuts)) {
}

Engine::~Engine() {
  stop();
  join();
}

void Engine::start() {
  m_impl->t0 = engine_now_ns();
  for (int i = 0; i < m_impl->opt.threads; ++i) {
    m_impl->threads.emplace_back([this, i] {
      run_worker(*m_impl, i);
      m_impl->worker_done();
    });
  }
}

std::optional<Window> Engine::next() {
  if (m_next >= m_cuts.size()) {
    return std::nullopt;
  }
  const std::size_t cut = m_next;
  std::unique_lock lock(m_impl->mu);
  const auto n = static_cast<std::size_t>(m_impl->opt.threads);
  m_impl->cv.wait(lock, [&] {
    auto it = m_impl->ready.find(cut);
    return (it != m_impl->ready.end() && it->second.size() == n) || m_impl->stopping.load() ||
           m_impl->finished == m_impl->opt.threads;
  });
  auto it = m_impl->ready.find(cut);
  if (it == m_impl->ready.end() || it->second.size() != n) {
    m_next = m_cuts.size();
    return std::nullopt;
  }
  Window merged;
  for (const auto& w : it->second) {
    merged.merge(*w);
  }
  m_impl->ready.erase(it);
  ++m_next;
  return merged;
}

void Engine::stop() {
  {
    std::lock_guard lock(m_impl->mu);
    m_impl->stopping = true;
  }
  m_impl->cv.notify_all();
}

void Engine::join() {
  for (auto& t : m_impl->threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

} // namespace mp::bench
