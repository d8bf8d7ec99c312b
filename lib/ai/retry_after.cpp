#include "ai/retry_after.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

namespace mp::ai {

namespace {

using util::trim;

// --- HTTP dates (RFC 9110 section 5.6.7) -------------------------------------------------

std::optional<int> parse_digits(std::string_view s, std::size_t min_len, std::size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) {
    return std::nullopt;
  }
  int n = 0;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  return n;
}

std::optional<unsigned> parse_month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> k_months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < k_months.size(); ++i) {
    if (k_months[i] == s) {
      return static_cast<unsigned>(i + 1);
    }
  }
  return std::nullopt;
}

bool is_weekday(std::string_view s) {
  static constexpr std::array<std::string_view, 7> k_days{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> k_long_days{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                               "Friday", "Saturday", "Sunday"};
  return std::find(k_days.begin(), k_days.end(), s) != k_days.end() ||
         std::find(k_long_days.begin(), k_long_days.end(), s) != k_long_days.end();
}

std::optional<std::chrono::seconds> parse_clock(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') {
    return std::nullopt;
  }
  auto h = parse_digits(s.substr(0, 2), 2, 2);
  auto m = parse_digits(s.substr(3, 2), 2, 2);
  auto sec = parse_digits(s.substr(6, 2), 2, 2);
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) {
    return std::nullopt;
  }
  return std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*sec);
}

std::vector<std::string_view> date_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto is_sep = [](char c) { return c == ' ' || c == ',' || c == '-'; };
    while (i < s.size() && is_sep(s[i])) {
      ++i;
    }
    const std::size_t start = i;
    while (i < s.size() && !is_sep(s[i])) {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
// and asctime "Sun Nov  6 08:49:37 1994", all of which recipients must accept.
std::optional<std::chrono::system_clock::time_point>
parse_http_date(std::string_view s, std::chrono::system_clock::time_point now) {
  const std::vector<std::string_view> t = date_tokens(s);
  std::optional<int> day;
  std::optional<unsigned> month;
  std::optional<int> year;
  std::optional<std::chrono::seconds> clock;
  if (t.size() == 6 && t[5] == "GMT" && is_weekday(t[0])) {
    day = parse_digits(t[1], 1, 2);
    month = parse_month(t[2]);
    clock = parse_clock(t[4]);
    year = parse_digits(t[3], 4, 4);
    if (!year) {
      // A two-digit year more than 50 years ahead is the most recent past one.
      if (auto yy = parse_digits(t[3], 2, 2)) {
        const int this_year =
            static_cast<int>(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
        year = this_year / 100 * 100 + *yy;
        if (*year > this_year + 50) {
          *year -= 100;
        }
      }
    }
  } else if (t.size() == 5 && is_weekday(t[0])) {
    month = parse_month(t[1]);
    day = parse_digits(t[2], 1, 2);
    clock = parse_clock(t[3]);
    year = parse_digits(t[4], 4, 4);
  }
  if (!day || !month || !year || !clock) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(*year), std::chrono::month(*month),
                                        std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days(ymd) + *clock;
}

// Retry-After's delta-seconds: 1*DIGIT, saturating rather than overflowing.
std::optional<std::chrono::milliseconds> parse_delta_seconds(std::string_view s) {
  constexpr std::int64_t k_max_seconds = 1'000'000'000;
  if (s.empty()) {
    return std::nullopt;
  }
  std::int64_t n = 0;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return std::nullopt;
    }
    n = std::min(k_max_seconds, n * 10 + (c - '0'));
  }
  return std::chrono::seconds(n);
}

std::optional<std::chrono::milliseconds> parse_milliseconds(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front())) == 0) {
    return std::nullopt; // no sign, no "inf", no "nan"
  }
  double ms = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(ms) || ms > 1e12) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

} // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms,
                                                           std::chrono::system_clock::time_point now) {
  if (auto ms = parse_milliseconds(trim(retry_after_ms))) {
    return ms;
  }
  retry_after = trim(retry_after);
  if (auto delta = parse_delta_seconds(retry_after)) {
    return delta;
  }
  if (auto when = parse_http_date(retry_after, now)) {
    if (*when <= now) {
      return std::chrono::milliseconds(0);
    }
    return std::chrono::ceil<std::chrono::milliseconds>(*when - now);
  }
  return std::nullopt;
}

} // namespace mp::ai
