#include "ai/retry_after.hpp"

#include <catch2/catch.hpp>

using mp::ai::parse_retry_after;
using namespace std::chrono_literals;

namespace {

// 2015-10-21 07:28:00 UTC, the RFC's example date.
const std::chrono::system_clock::time_point k_date =
    std::chrono::sys_days{std::chrono::year(2015) / std::chrono::October / 21} + 7h + 28min;

} // namespace

TEST_CASE("retry-after: delta seconds", "[openai]") {
  const auto now = std::chrono::system_clock::now();
  REQUIRE(parse_retry_after("1", "", now) == 1000ms);
  REQUIRE(parse_retry_after("0", "", now) == 0ms);
  REQUIRE(parse_retry_after(" 120 ", "", now) == 120s);
  REQUIRE_FALSE(parse_retry_after("", "", now));
  REQUIRE_FALSE(parse_retry_after("-1", "", now));
  REQUIRE_FALSE(parse_retry_after("1.5", "", now));
  REQUIRE_FALSE(parse_retry_after("soon", "", now));
  // Absurd values saturate instead of overflowing.
  REQUIRE(parse_retry_after("99999999999999999999999", "", now) > 24h);
}

TEST_CASE("retry-after: IMF-fixdate relative to now", "[openai]") {
  REQUIRE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", "", k_date - 90s) == 90s);
  REQUIRE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", "", k_date - 1500ms) == 1500ms);
  // A date already past means "now".
  REQUIRE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", "", k_date + 1h) == 0ms);
  REQUIRE(parse_retry_after("Thu, 22 Oct 2015 00:00:00 GMT", "", k_date) == 16h + 32min);
}

TEST_CASE("retry-after: the obsolete RFC 850 and asctime date formats", "[openai]") {
  REQUIRE(parse_retry_after("Wednesday, 21-Oct-15 07:28:10 GMT", "", k_date) == 10s);
  REQUIRE(parse_retry_after("Wed Oct 21 07:28:10 2015", "", k_date) == 10s);
  REQUIRE(parse_retry_after("Wed Oct  1 07:28:10 2015", "", k_date) == 0ms);
}

TEST_CASE("retry-after: malformed dates are absent", "[openai]") {
  for (const char* bad :
       {"Wed, 21 Oct 2015 07:28:00", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Okt 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 25:28:00 GMT", "Wed, 21 Oct 2015 7:28:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wed, 30 Feb 2015 07:28:00 GMT", "21 Oct 2015"}) {
    INFO(bad);
    REQUIRE_FALSE(parse_retry_after(bad, "", k_date));
  }
}

TEST_CASE("retry-after: retry-after-ms wins when valid", "[openai]") {
  const auto now = std::chrono::system_clock::now();
  REQUIRE(parse_retry_after("5", "250", now) == 250ms);
  REQUIRE(parse_retry_after("", "20", now) == 20ms);
  // Fractions round up: waiting a little longer never breaks the upstream's rule.
  REQUIRE(parse_retry_after("", "12.2", now) == 13ms);
  // An unusable retry-after-ms falls back to Retry-After.
  REQUIRE(parse_retry_after("5", "-3", now) == 5s);
  REQUIRE(parse_retry_after("5", "abc", now) == 5s);
  REQUIRE(parse_retry_after("5", "nan", now) == 5s);
  REQUIRE_FALSE(parse_retry_after("", "inf", now));
}
