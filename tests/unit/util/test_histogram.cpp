#include "util/histogram.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using mp::util::AtomicHistogram;
using mp::util::Histogram;

namespace {

std::uint64_t exact_quantile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * v.size())));
  return v[rank - 1];
}

double rel_error(std::uint64_t got, std::uint64_t want) {
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
}

} // namespace

TEST_CASE("histogram: every value from 1 us to 60 s is kept within 1%", "[histogram]") {
  namespace hd = mp::util::histogram_detail;
  // Walk the range geometrically; each value's bucket midpoint must be within 1%.
  for (double v = 1000; v <= 60e9; v *= 1.003) {
    const auto ns = static_cast<std::uint64_t>(v);
    const auto i = hd::index_of(ns);
    REQUIRE(hd::lower_bound(i) <= ns);
    REQUIRE(ns < hd::lower_bound(i) + hd::width(i));
    const auto mid = hd::lower_bound(i) + hd::width(i) / 2;
    REQUIRE(rel_error(mid, ns) <= 0.01);
  }
}

TEST_CASE("histogram: bucket indexes are contiguous and in range", "[histogram]") {
  namespace hd = mp::util::histogram_detail;
  REQUIRE(hd::index_of(0) == 0);
  REQUIRE(hd::index_of(hd::k_max_value) == Histogram::k_bucket_count - 1);
  REQUIRE(hd::index_of(UINT64_MAX) == Histogram::k_bucket_count - 1); // clamped
  for (std::size_t i = 1; i < Histogram::k_bucket_count; ++i) {
    REQUIRE(hd::lower_bound(i) == hd::lower_bound(i - 1) + hd::width(i - 1));
  }
}

TEST_CASE("histogram: percentiles of a log-normal sample match the exact ones within 1%", "[histogram]") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(2e6), 1.0); // median 2 ms
  std::vector<std::uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::uint64_t>(std::clamp(dist(rng), 1000.0, 60e9));
    values.push_back(v);
    h.record_ns(v);
  }
  REQUIRE(h.count() == values.size());
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    INFO("q = " << q);
    REQUIRE(rel_error(h.quantile_ns(q), exact_quantile(values, q)) <= 0.01);
  }
  REQUIRE(h.quantile_ns(0.0) == *std::min_element(values.begin(), values.end()));
  REQUIRE(h.quantile_ns(1.0) == *std::max_element(values.begin(), values.end()));
}

TEST_CASE("histogram: merging equals recording everything in one", "[histogram]") {
  Histogram a, b, all;
  for (std::uint64_t v = 1000; v < 5'000'000; v += 777) {
    ((v / 777) % 2 ? a : b).record_ns(v);
    all.record_ns(v);
  }
  a.merge(b);
  REQUIRE(a.count() == all.count());
  REQUIRE(a.sum_ns() == all.sum_ns());
  REQUIRE(a.min_ns() == all.min_ns());
  REQUIRE(a.max_ns() == all.max_ns());
  for (std::size_t i = 0; i < Histogram::k_bucket_count; ++i) {
    REQUIRE(a.bucket(i) == all.bucket(i));
  }
}

TEST_CASE("histogram: memory is constant", "[histogram]") {
  // 3840 buckets of 8 bytes plus four counters, whatever is recorded.
  STATIC_REQUIRE(sizeof(Histogram) <= 31 * 1024);
  STATIC_REQUIRE(sizeof(AtomicHistogram) <= 31 * 1024);
}

TEST_CASE("histogram: empty histogram answers zeros", "[histogram]") {
  Histogram h;
  REQUIRE(h.count() == 0);
  REQUIRE(h.quantile_ns(0.99) == 0);
  REQUIRE(h.min_ns() == 0);
  REQUIRE(h.mean_ns() == 0.0);
  REQUIRE(h.count_at_or_below(1'000'000) == 0);
}

TEST_CASE("histogram: count_at_or_below is cumulative", "[histogram]") {
  Histogram h;
  h.record_ns(50'000);        // 50 us
  h.record_ns(2'000'000);     // 2 ms
  h.record_ns(3'000'000'000); // 3 s
  REQUIRE(h.count_at_or_below(100'000) == 1);
  REQUIRE(h.count_at_or_below(5'000'000) == 2);
  REQUIRE(h.count_at_or_below(60'000'000'000) == 3);
}

TEST_CASE("atomic histogram: concurrent recording loses nothing", "[histogram]") {
  AtomicHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 50'000; ++i) {
        h.record_ns(static_cast<std::uint64_t>(1000 + t * 1000 + i));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const Histogram s = h.snapshot();
  REQUIRE(s.count() == 200'000);
  REQUIRE(s.min_ns() == 1000);
  REQUIRE(s.max_ns() == 1000 + 3000 + 49'999);
}
