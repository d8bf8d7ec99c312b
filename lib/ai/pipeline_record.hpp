#pragma once
// The pipeline's request record and unit of work: private to lib/ai/pipeline*.cpp.

#include "ai/pipeline.hpp"
#include "ai/shared_queue.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
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

/// A caller waiting for a record to become final (Pipeline::wait).
struct Pipeline::Waiter {
  std::uint64_t token = 0;
  Steady deadline{};
  std::function<void(std::optional<RecordView>)> fn;
};

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
  std::vector<Waiter> waiters;
  // The shared queue (pipeline_shared.cpp):
  bool pending = false;          ///< admitted, not yet in the shared queue (nor queued here)
  bool moved = false;            ///< handed to the shared queue: this instance no longer holds it
  std::optional<ClaimRef> claim; ///< claimed from the shared queue: finish it there
};

/// The shared queue's state in the pipeline (pipeline_shared.cpp), under m_mutex.
struct Pipeline::SharedState {
  SharedQueueOptions options;
  std::condition_variable feed_cv;
  std::vector<std::shared_ptr<Record>> enqueues; ///< admitted, missed the L2: to the shared queue
  std::vector<FinishedRequest> finishes;         ///< claimed here and final: to write back
  Steady finish_retry_at{};                      ///< after a failed write-back
  /// Waiters on records another instance holds, to answer from a fetch.
  std::vector<std::pair<std::string, Waiter>> resolve;
  /// ... and those waiting for the record's completion (or their deadline).
  std::unordered_map<std::string, std::vector<Waiter>> waiting;
  struct Cancel {
    std::string id, owner;
    std::function<void(std::optional<std::pair<CancelResult, Status>>)> fn;
  };
  std::vector<Cancel> cancels;
  std::unordered_map<std::string, std::shared_ptr<Record>> claimed; ///< by id: claims held here
  std::deque<std::string> recent_done; ///< completions announced lately (a bounded window)
  std::unordered_set<std::string> recent_done_set;
  std::array<std::size_t, k_priority_count> depths{}; ///< waiting in the shared queue, as of the last look
  SharedStats stats;
};

struct Pipeline::Work {
  std::shared_ptr<Record> rec;
  std::uint64_t reservation = 0;
};

} // namespace mp::ai
