#pragma once
// The shared queue: one queue of requests for every instance (Redis Streams in
// lib/serve/redis_queue.cpp), so a request any instance accepted is processed by whichever
// has a free worker, survives the instance that accepted it, and can be read on any.
//
//   submit (any instance) -> L1, L2 -> enqueue: the request and its record go to the shared
//     store before the client hears 202 -> the record leaves this instance
//   feeder (every instance) -> claims as many as its workers can start, most urgent level
//     first -> the local pipeline runs them (L1, coalescing, limits, retries) -> finish:
//     the final record is written and the completion announced
//   claims are renewed while held; a claim not renewed for the visibility timeout (its
//     instance died) is reclaimed by another instance and run again: at least once
//   GET and long-poll of a record this instance does not hold read the shared store and
//     wake on the completion announcement
//
// The pipeline calls this from its own threads only (the L2 stage and the feeder), never
// from an I/O thread. Errc::unavailable when the store cannot be reached: the pipeline then
// queues and answers locally until it is back.

#include "ai/pipeline.hpp"
#include "util/error.hpp"

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mp::ai {

/// A request on its way into the shared queue.
struct QueuedRequest {
  std::string id;
  Priority priority = Priority::normal;
  std::string owner;
  std::string submission_json; ///< submission_to_json()
  std::string record_json;     ///< the record while it is queued (RecordView::to_json)
};

/// A request this instance has claimed and must finish (or leave to be reclaimed).
struct ClaimedRequest {
  std::string id;
  Priority priority = Priority::normal;
  std::string entry; ///< its place in the shared queue
  std::string submission_json;
  int deliveries = 1; ///< times it has been handed out, this one included
};

/// A claim: the level and the entry.
using ClaimRef = std::pair<Priority, std::string>;

/// A claimed request that became final.
struct FinishedRequest {
  std::string id;
  Priority priority = Priority::normal;
  std::string entry;
  Status status = Status::completed;
  std::string record_json;
};

/// A record as the shared store holds it.
struct SharedRecord {
  std::string owner;
  Status status = Status::queued;
  std::string json; ///< RecordView::to_json of its latest state
};

class SharedQueue {
public:
  virtual ~SharedQueue() = default;

  /// Writes records and queues the requests; all or nothing from the caller's view (an
  /// error means none may be assumed queued: a request queued twice runs twice, at worst).
  virtual Expected<void> enqueue(const std::vector<QueuedRequest>& items) = 0;
  /// Claims up to `max` requests, the most urgent level first (with aging, as the local
  /// queue), waiting up to `wait` when none is queued. Requests cancelled meanwhile are
  /// dropped here.
  virtual Expected<std::vector<ClaimedRequest>> claim(std::size_t max, std::chrono::milliseconds wait) = 0;
  /// Claims up to `max` requests whose claim was not renewed for the visibility timeout.
  virtual Expected<std::vector<ClaimedRequest>> reclaim(std::size_t max) = 0;
  /// Renews this instance's claims.
  virtual Expected<void> renew(const std::vector<ClaimRef>& claims) = 0;
  /// Gives claims not yet started back at once (shutdown): the next reclaim anywhere takes them.
  virtual Expected<void> release(const std::vector<ClaimRef>& claims) = 0;
  /// Writes final records, removes their entries and announces the completions.
  virtual Expected<void> finish(const std::vector<FinishedRequest>& items) = 0;
  /// The records of `ids`, nullopt for unknown (or expired) ones, in order.
  virtual Expected<std::vector<std::optional<SharedRecord>>> fetch(const std::vector<std::string>& ids) = 0;
  enum class CancelOutcome { cancelled, not_found, too_late };
  /// Cancels a request still queued. `owner` empty: anyone's (an admin); otherwise only
  /// that owner's (another's is not_found). Also answers the record's status.
  virtual Expected<std::pair<CancelOutcome, Status>> cancel(const std::string& id,
                                                            const std::string& owner) = 0;
  /// Requests waiting at each level, all instances together.
  virtual Expected<std::array<std::size_t, k_priority_count>> depths() = 0;
  /// Starts listening for completions: `done(id)` for each, `resync()` after the listener
  /// reconnected (announcements were lost meanwhile). Called once, on the listener's thread.
  virtual void listen(std::function<void(std::string_view id)> done, std::function<void()> resync) = 0;
};

/// A submission as the shared queue carries it (JSON, with its creation time).
std::string submission_to_json(const Submission& s, double created_unix);
Expected<std::pair<Submission, double>> submission_from_json(std::string_view text);

} // namespace mp::ai
