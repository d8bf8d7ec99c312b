// mp-cache flush against Redis (the rest of the backend is cache_redis.cpp).
//
// flush first pops the index buckets (ai/cache_index.hpp) and UNLINKs the keys they name,
// then sweeps with SCAN for what the index missed. Without the index, SCAN was most of the
// cost; with it a million keys flush in ~1.6 s against ~3.5 s (bench/RESULTS.md). The rest
// of this comment is about the sweep, which is the whole flush for keys written without
// the index.
//
// The sweep SCANs on one connection and sends each batch's UNLINK (one command carrying the
// batch's keys) on a second one without waiting for its answer (at most 4 in flight), so
// Redis deletes one batch while mp-cache reads and filters the next SCAN reply; a flush of
// N keys costs about N / k_flush_batch SCAN round trips and no UNLINK round trip.
// Measured on 200,000 keys: Redis's own CPU time was ~60% of the wall time with one
// connection (UNLINK sent with the next SCAN), so overlapping the client's share was what
// was left.
//
// Redis's CPU is then the whole cost, and most of it is memory: SCAN visits keys in hash
// order, so each key, its expiry entry and its value are cold in the CPU's caches, and
// UNLINK touches them again. Smaller batches made the deletes cheaper. On 1,000,000 keys
// (2-core VM, medians of 6 interleaved runs, Redis's CPU from INFO): 4.2 s in batches of
// 1000, 3.5 s in batches of 300; SCAN alone (--dry-run) costs ~1.8 s either way, so the
// deletes went from ~2.4 to ~1.6 s, about what deleting the same keys in the order they
// were written costs (1.4-1.6 s, no SCAN). The likely reason is that a batch of 300 is
// still cached when its UNLINK runs (this VM has no hardware counters to show it). Below
// ~200 keys a batch the round trips show in the wall time.
//
// A Lua script doing SCAN, filter and UNLINK inside Redis was no faster on a quiet machine,
// even without the per-key type check it would need (no glob names just the known types;
// the check alone costs Redis 0.3-0.5 us a key): turning replies into Lua strings and back
// costs about what the script saves in replies and parsing. It was faster only under load,
// needing no client turnaround. bench/cache_flush.sh measures flush against `redis-cli
// --scan | xargs redis-cli unlink` (bench/RESULTS.md, "mp-cache flush").

#include "ai/cache_index.hpp"
#include "tools/cache_redis.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

namespace mp::tools::redis_backend {

/// UNLINKs batches on a connection of its own without waiting for each answer, so Redis
/// deletes one batch while this process reads and filters the next SCAN reply.
class Unlinker {
public:
  Unlinker(redis::Connection conn, std::chrono::milliseconds timeout)
      : m_conn(std::move(conn)), m_timeout(timeout) {}
  /// Sends one UNLINK; returns the keys deleted by earlier batches answered meanwhile.
  Expected<std::uint64_t> send(const Batch& keys);
  /// Reads the answers already there, and waits for at least `at_least` of them.
  Expected<std::uint64_t> collect(std::size_t at_least);
  [[nodiscard]] std::size_t in_flight() const { return m_in_flight; }

private:
  static constexpr std::size_t k_max_in_flight = 4;
  redis::Connection m_conn;
  std::chrono::milliseconds m_timeout;
  std::size_t m_in_flight = 0;
};

Expected<std::uint64_t> Unlinker::send(const Batch& keys) {
  std::vector<std::string_view> argv{"UNLINK"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  if (auto ok = m_conn.send(argv); !ok) {
    return std::unexpected(ok.error());
  }
  ++m_in_flight;
  // Bounded: at most k_max_in_flight batches sent and not yet answered.
  return collect(m_in_flight > k_max_in_flight ? m_in_flight - k_max_in_flight : 0);
}

Expected<std::uint64_t> Unlinker::collect(std::size_t at_least) {
  std::uint64_t deleted = 0;
  const auto deadline = std::chrono::steady_clock::now() + m_timeout;
  for (std::size_t got = 0; m_in_flight > 0;) {
    const bool must = got < at_least;
    auto r = m_conn.next_reply(must ? std::chrono::milliseconds(50) : std::chrono::milliseconds(0));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (!*r) {
      if (!must) {
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(Errc::unavailable, "UNLINK: no reply within the command timeout");
      }
      continue;
    }
    if ((*r)->is_error()) {
      return std::unexpected(redis_error("UNLINK", (*r)->str()));
    }
    deleted += static_cast<std::uint64_t>((*r)->integer());
    --m_in_flight;
    ++got;
  }
  return deleted;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Expected<void> RedisBackend::flush_index(const KeyFilter& filter, Unlinker& unlinker, FlushOutcome& out,
                                         const Progress& progress) {
  const std::int64_t hour = unix_now() / ai::k_index_bucket_s;
  const std::int64_t back = (m_opts.ttl_seconds + 86'400) / ai::k_index_bucket_s + 2;
  std::vector<std::pair<analyser::RequestType, std::string>> lists;
  for (const auto type : analyser::k_request_types) {
    if (filter.type.empty() || filter.type == analyser::request_type_name(type)) {
      for (std::int64_t h = hour - back; h <= hour + 1; ++h) {
        lists.emplace_back(type, ai::cache_index_key(type, h));
      }
    }
  }
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(lists.size());
  for (const auto& l : lists) {
    cmds.push_back({"LLEN", l.second});
  }
  auto lengths = run(cmds);
  if (!lengths) {
    return std::unexpected(lengths.error());
  }
  // Four pops a round trip; each batch goes to the Unlinker as soon as it is read.
  constexpr std::size_t k_pops = 4;
  const std::string count = std::to_string(k_flush_batch);
  Batch keys;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    const auto& [type, list] = lists[i];
    for (bool drained = (*lengths)[i].integer() == 0; !drained;) {
      cmds.assign(k_pops, std::vector<std::string_view>{"LPOP", list, count});
      auto popped = run(cmds);
      if (!popped) {
        return std::unexpected(popped.error());
      }
      for (const auto& r : *popped) {
        drained = drained || r.is_nil() || r.size() < k_flush_batch;
        keys.clear();
        for (std::size_t j = 0; j < r.size(); ++j) {
          if (const auto m = r.at(j).str(); m.size() == 32) {
            keys.push_back(ai::key_of_member(type, m));
          }
        }
        out.scanned += r.size();
        out.matched += keys.size();
        if (!keys.empty()) {
          auto n = unlinker.send(keys);
          if (!n) {
            return std::unexpected(n.error());
          }
          out.deleted += *n;
        }
      }
      if (progress) {
        progress(out.scanned, out.deleted);
      }
    }
  }
  return {};
}

Expected<FlushOutcome> RedisBackend::flush(const KeyFilter& filter, bool dry_run, const Progress& progress) {
  std::optional<Unlinker> unlinker;
  if (!dry_run) {
    auto c = redis::Connection::open(m_conn.url(),
                                     redis::ConnectOptions{m_opts.connect_timeout, m_opts.command_timeout});
    if (!c) {
      return std::unexpected(c.error());
    }
    unlinker.emplace(std::move(*c), m_opts.command_timeout);
  }
  FlushOutcome out;
  // By age, the index's hours are not the ages mp-cache reads from TTLs (an import sets
  // its own): SCAN alone decides.
  if (unlinker && !filter.older_than_s && filter.pattern.empty()) {
    if (auto ok = flush_index(filter, *unlinker, out, progress); !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto on_batch = [&](Batch& keys) -> Expected<bool> {
    out.scanned += keys.size();
    if (auto kept = keep_older(keys, filter.older_than_s); !kept) {
      return std::unexpected(kept.error());
    }
    out.matched += keys.size();
    if (unlinker && !keys.empty()) {
      auto n = unlinker->send(keys);
      if (!n) {
        return std::unexpected(n.error());
      }
      out.deleted += *n;
    }
    if (progress) {
      progress(out.scanned, dry_run ? out.matched : out.deleted);
    }
    return true;
  };
  auto ok = scan(filter, on_batch, std::to_string(k_flush_batch));
  if (!ok) {
    return std::unexpected(ok.error());
  }
  if (unlinker) {
    auto n = unlinker->collect(unlinker->in_flight());
    if (!n) {
      return std::unexpected(n.error());
    }
    out.deleted += *n;
    // After the deletes: an instance that refilled its L1 from a key before it went drops it now.
    std::string message = fmt::format(R"({{"type":{})", util::json_quote(filter.type));
    if (filter.older_than_s) {
      message += fmt::format(R"(,"older_than_s":{})", *filter.older_than_s);
    }
    message += '}';
    auto told = announce(message);
    if (!told) {
      return std::unexpected(told.error());
    }
    out.servers_notified = *told;
  }
  return out;
}

} // namespace mp::tools::redis_backend
