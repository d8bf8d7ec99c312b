#pragma once
// The pipeline's request record and unit of work: private to lib/ai/pipeline*.cpp.

#include "ai/pipeline.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mp::ai {

using Steady = util::Clock::SteadyTime;

inline double ms_between(Steady a, Steady b) {
  return b > a ? std::chrono::duration<double, std::milli>(b - a).count() : 0.0;
}

/// Uniform in [0, 1), per thread: the jitter of back-offs.
inline double uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

struct Pipeline::Record {
  std::string id;
  std::uint64_t job = 0;
  Submission sub;
  CacheKey key;
  std::string model;
  Status status = Status::queued;
  bool cached = false;
  bool coalesced = false;
  bool cancelled = false;
  int attempts = 0;
  std::chrono::milliseconds waited{0};
  double cost = 0;
  std::shared_ptr<const std::string> result_json;
  int error_status = 0;
  std::string error_message;
  Steady submitted{};
  Steady started{};
  Steady finished{};
  Steady enqueued{}; ///< its place in the queue, kept across retries
  double created_unix = 0;
  std::vector<std::shared_ptr<Record>> followers;
  std::vector<std::pair<std::uint64_t, std::function<void(std::optional<RecordView>)>>> waiters;
};

struct Pipeline::Work {
  std::shared_ptr<Record> rec;
  std::uint64_t reservation = 0;
};

} // namespace mp::ai
