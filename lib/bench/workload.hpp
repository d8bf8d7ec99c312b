#pragma once
// What the generator sends: the bytes of each request, made ahead of time where they repeat.
//
// Three sources: one fixed request (--url with --method, --header, --body), a file of requests
// (NDJSON, one {"method","path","headers","body"} per line, sent round robin), and mp-serve's
// AI API (POST /api/ai/process with generated emails). Each worker thread has its own copy
// (`clone`), so `next` needs no lock.

#include "bench/http_wire.hpp"
#include "util/error.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

class RequestSource {
public:
  virtual ~RequestSource() = default;
  /// The bytes of the next request; valid until the next call on this object.
  virtual std::string_view next() = 0;
  /// True when the requests are HEAD (their responses have no body).
  [[nodiscard]] virtual bool head() const { return false; }
  /// A copy for another thread, with its own random stream seeded by `seed`.
  [[nodiscard]] virtual std::unique_ptr<RequestSource> clone(std::uint64_t seed) const = 0;
};

/// The same bytes every time, or a fixed list round robin.
std::unique_ptr<RequestSource> fixed_requests(std::vector<std::string> requests, bool head);

/// Reads an NDJSON file of requests against `url` (each line's `path` or `url` target,
/// `method` default GET, `headers` object, `body` string or JSON value). Errors name the line.
Expected<std::unique_ptr<RequestSource>> requests_from_file(const std::string& path, const HttpUrl& url,
                                                            const std::vector<std::string>& extra_headers);

/// mp-serve's POST /api/ai/process with generated emails.
struct AiWorkload {
  double duplicate_ratio = 0;                        ///< this share of requests repeats an email sent before
  std::array<double, 5> priority_mix{0, 1, 6, 2, 1}; ///< weights of urgent..background
  std::string token;                                 ///< bearer token (empty: none)
  std::int64_t wait_ms = 0; ///< the request's wait_ms: long-poll for the result (0: answer at once)
  std::vector<std::string> extra_headers;
};

/// Parses `urgent=1,high=2,normal=5` (missing levels weigh 0); Errc::usage naming --priority-mix.
Expected<std::array<double, 5>> parse_priority_mix(std::string_view text);

std::unique_ptr<RequestSource> ai_requests(const HttpUrl& base, const AiWorkload& w);

/// One generated email as the JSON body of /api/ai/process (exposed for tests).
std::string ai_email_body(std::uint64_t id, std::string_view priority, std::int64_t wait_ms = 0);

} // namespace mp::bench
