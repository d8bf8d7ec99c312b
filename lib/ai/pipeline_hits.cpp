// The cache-hit path: a hit's record written in place into the hit ring (no record map,
// no allocation once a slot has been used), found again from the slot in its id.

#include "ai/pipeline_hit.hpp"
#include "ai/pipeline_metrics.hpp"

#include <algorithm>
#include <random>

namespace mp::ai {

namespace {

using Steady = util::Clock::SteadyTime;

constexpr char k_hex[] = "0123456789abcdef";
constexpr std::size_t k_id_length = 36; // "req_" + 32 hex digits

/// Writes a cache hit's id into `id`, reusing its storage: 24 random hex digits, then
/// its slot in the hit ring (8 digits).
void write_hit_id(std::string& id, std::size_t slot) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  id.resize(k_id_length);
  char* p = id.data();
  auto put = [&p](std::uint64_t v, int digits) {
    for (int j = digits - 1; j >= 0; --j) {
      *p++ = k_hex[(v >> (4 * j)) & 0xf];
    }
  };
  p = std::copy_n("req_", 4, p);
  put(rng(), 16);
  put(rng(), 8);
  put(slot, 8);
}

std::optional<std::size_t> hit_slot(const std::string& id) {
  if (id.size() != k_id_length) {
    return std::nullopt;
  }
  std::size_t slot = 0;
  for (std::size_t i = k_id_length - 8; i < k_id_length; ++i) {
    const char c = id[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) {
      return std::nullopt;
    }
    slot = slot * 16 + static_cast<std::size_t>(d);
  }
  return slot;
}

} // namespace

RecordView Pipeline::store_hit(const Submission& s, const std::string& model,
                               std::shared_ptr<const std::string> value, Steady at, double created_unix) {
  m_metrics->cache_hits.inc();
  m_metrics->outcome(s, 0).inc();
  m_metrics->completed.fetch_add(1, std::memory_order_relaxed);
  m_metrics->total_all.record_ns(0);
  // Hits go to a ring, not the record map: a slot is found from the id without hashing,
  // and the oldest hit is overwritten in place instead of erased (RESULTS.md).
  std::lock_guard lock(m_mutex);
  const std::size_t slot = m_hit_next++ % m_config.max_records;
  if (slot == m_hits.size()) {
    m_hits.emplace_back();
  }
  Hit& h = m_hits[slot];
  write_hit_id(h.id, slot);
  h.type = s.type;
  h.priority = s.priority;
  h.email_id_json = s.email_id_json;
  h.owner = s.owner;
  h.model = model;
  h.result = std::move(value);
  h.at = at;
  h.created_unix = created_unix;
  return view(h);
}

std::optional<RecordView> Pipeline::find_hit(const std::string& id) const {
  if (auto slot = hit_slot(id); slot && *slot < m_hits.size()) {
    const Hit& h = m_hits[*slot];
    if (h.id == id && h.at + m_config.record_ttl > m_clock.steady_now()) {
      return view(h);
    }
  }
  return std::nullopt;
}

RecordView Pipeline::view(const Hit& h) const {
  RecordView v;
  v.id = h.id;
  v.status = Status::completed;
  v.type = h.type;
  v.priority = h.priority;
  v.email_id_json = h.email_id_json;
  v.owner = h.owner;
  v.model = h.model;
  v.cached = true;
  v.result_json = h.result;
  v.created_unix = h.created_unix;
  return v;
}

std::optional<RecordView> Pipeline::submit_cached(const Submission& s, const CacheKey& key) {
  if (s.cache == CacheMode::refresh) {
    return std::nullopt;
  }
  auto hit = m_cache->get(key);
  if (!hit) {
    return std::nullopt;
  }
  m_metrics->submitted.fetch_add(1, std::memory_order_relaxed);
  return store_hit(s, s.model.empty() ? default_model(s.type) : s.model, std::move(hit), m_clock.steady_now(),
                   util::to_unix_seconds(m_clock.wall_now()));
}

} // namespace mp::ai
