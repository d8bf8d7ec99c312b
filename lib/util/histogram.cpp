#include "util/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mp::util {

namespace histogram_detail {

std::size_t index_of(std::uint64_t ns) noexcept {
  ns = std::min(ns, k_max_value);
  if (ns < k_linear) {
    return static_cast<std::size_t>(ns);
  }
  const int k = static_cast<int>(std::bit_width(ns)) - 1;
  const std::uint64_t sub = (ns >> (k - k_sub_bits)) - (std::uint64_t{1} << k_sub_bits);
  return static_cast<std::size_t>(
      k_linear + static_cast<std::uint64_t>(k - (k_sub_bits + 1)) * (std::uint64_t{1} << k_sub_bits) + sub);
}

std::uint64_t lower_bound(std::size_t index) noexcept {
  if (index < k_linear) {
    return index;
  }
  const std::size_t rel = index - k_linear;
  const int k = static_cast<int>(rel >> k_sub_bits) + k_sub_bits + 1;
  const std::uint64_t sub = rel & ((1u << k_sub_bits) - 1);
  return ((std::uint64_t{1} << k_sub_bits) + sub) << (k - k_sub_bits);
}

std::uint64_t width(std::size_t index) noexcept {
  if (index < k_linear) {
    return 1;
  }
  const int k = static_cast<int>((index - k_linear) >> k_sub_bits) + k_sub_bits + 1;
  return std::uint64_t{1} << (k - k_sub_bits);
}

} // namespace histogram_detail

namespace hd = histogram_detail;

void Histogram::record_ns(std::uint64_t ns, std::uint64_t times) noexcept {
  if (times == 0) {
    return;
  }
  m_buckets[hd::index_of(ns)] += times;
  m_count += times;
  m_sum += ns * times;
  m_min = std::min(m_min, ns);
  m_max = std::max(m_max, ns);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < k_bucket_count; ++i) {
    m_buckets[i] += other.m_buckets[i];
  }
  m_count += other.m_count;
  m_sum += other.m_sum;
  m_min = std::min(m_min, other.m_min);
  m_max = std::max(m_max, other.m_max);
}

std::uint64_t Histogram::quantile_ns(double q) const noexcept {
  if (m_count == 0) {
    return 0;
  }
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the sample at q, 1-based: p50 of {a, b} is a, p100 is the last.
  const auto rank =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(m_count))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < k_bucket_count; ++i) {
    seen += m_buckets[i];
    if (seen >= rank) {
      const std::uint64_t mid = hd::lower_bound(i) + hd::width(i) / 2;
      return std::clamp(mid, min_ns(), m_max);
    }
  }
  return m_max;
}

std::uint64_t Histogram::count_at_or_below(std::uint64_t ns) const noexcept {
  if (ns >= m_max) {
    return m_count;
  }
  const std::size_t last = hd::index_of(ns);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= last; ++i) {
    total += m_buckets[i];
  }
  return total;
}

void AtomicHistogram::record_ns(std::uint64_t ns) noexcept {
  m_buckets[hd::index_of(ns)].fetch_add(1, std::memory_order_relaxed);
  m_sum.fetch_add(ns, std::memory_order_relaxed);
  std::uint64_t cur = m_min.load(std::memory_order_relaxed);
  while (ns < cur && !m_min.compare_exchange_weak(cur, ns, std::memory_order_relaxed)) {
  }
  cur = m_max.load(std::memory_order_relaxed);
  while (ns > cur && !m_max.compare_exchange_weak(cur, ns, std::memory_order_relaxed)) {
  }
}

Histogram AtomicHistogram::snapshot() const noexcept {
  Histogram h;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < Histogram::k_bucket_count; ++i) {
    h.m_buckets[i] = m_buckets[i].load(std::memory_order_relaxed);
    total += h.m_buckets[i];
  }
  // The bucket total is the count that matches the buckets we read.
  h.m_count = total;
  h.m_sum = m_sum.load(std::memory_order_relaxed);
  h.m_min = m_min.load(std::memory_order_relaxed);
  h.m_max = m_max.load(std::memory_order_relaxed);
  return h;
}

} // namespace mp::util
