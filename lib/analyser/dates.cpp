// Deadline phrases, resolved against "today".
//
// The text is lower-cased into a thread_local copy and cut into tokens: runs of [a-z0-9],
// where '/' and '-' between two digits stay inside the token ("12/05", "2026-12-05").
// Punctuation is otherwise ignored, so "Dec. 3rd," reads as `dec 3rd`. At each token, in
// reading order, the phrases below are tried; the first that matches wins, and its text
// runs from the first to the last token it used, lead word included.
//
// An optional lead comes first: "due", then one of by/before/on/until/till/til or "no
// later than". Without a lead, phrases that are often not deadlines are not taken: short
// weekday names ("Fri"), "May 3" ("you may 3 times") and bare month/day numbers ("1/2" may
// be a fraction).
//
//   today, tonight, this morning/afternoon/evening      today
//   tomorrow [morning|afternoon|evening|night]          today + 1
//   EOD/COB/EOB, end of (the) day, close of business    today, or the day that follows
//                                                       ("EOD tomorrow", "COB Friday")
//   end of (the) week, EOW                              Friday of this week (Monday-based
//                                                       weeks); the next Friday on a weekend
//   end of next week / next week                        Friday / Monday of next week
//   end of (the) month, EOM, end of next month          last day of that month
//   [this] Friday                                       next occurrence; today if it is Friday
//   Friday, December 4                                  the date that follows wins
//   next Friday                                         Friday of next week, whatever today is
//   Dec 3, December 3rd, 3 Dec, 3rd of December [2027]  this year, or next year if the day
//                                                       has passed; an explicit year is kept
//   the 3rd (after a lead)                              this month, or next month if passed
//   2026-12-05, 12/05/2026, 12/5/26                     as written (US month/day order)
//   12/05 (after a lead)                                this year, or next year if passed
//   in/within N day(s)/week(s)/month(s)/hour(s)         today + N (hours round up to days,
//   in a few days, within a couple of weeks             under 24 hours is today); N is
//   in 3 business/working days                          digits, one..twelve or a/an; few = 3
//
// Invalid calendar days ("Feb 30", "13/05") are not matches. Cost: one lower-casing pass
// and one token pass with a handful of string compares per token; the analyser only calls
// this on the few sentences that ask for something.

#include "analyser/dates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <vector>

namespace mp::analyser {

namespace {

namespace chr = std::chrono;

struct Token {
  std::string_view word; ///< lower-cased, a view into the thread_local copy
  std::size_t begin = 0; ///< byte offsets into the original text
  std::size_t end = 0;
};

struct Match {
  chr::sys_days day;
  std::size_t last = 0; ///< index of the last token the phrase used
};

constexpr std::array<std::string_view, 12> k_months = {"january",   "february", "march",    "april",
                                                       "may",       "june",     "july",     "august",
                                                       "september", "october",  "november", "december"};
constexpr std::array<std::string_view, 7> k_weekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                                        "thursday", "friday", "saturday"};
constexpr std::array<std::string_view, 12> k_count_words = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z');
}

bool joins_digits(std::string_view s, std::size_t i) {
  return (s[i] == '/' || s[i] == '-') && i > 0 && i + 1 < s.size() && is_digit(s[i - 1]) &&
         is_digit(s[i + 1]);
}

void tokenize(std::string_view text, std::string& lower, std::vector<Token>& out) {
  lower.resize(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  out.clear();
  const std::string_view s = lower;
  for (std::size_t i = 0; i < s.size();) {
    if (!is_alnum(s[i])) {
      ++i;
      continue;
    }
    const std::size_t b = i;
    while (i < s.size() && (is_alnum(s[i]) || joins_digits(s, i))) {
      ++i;
    }
    out.push_back(Token{s.substr(b, i - b), b, i});
  }
}

std::optional<int> to_int(std::string_view w) {
  int v = 0;
  const auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
  if (ec != std::errc{} || p != w.data() + w.size() || w.empty()) {
    return std::nullopt;
  }
  return v;
}

std::optional<unsigned> month_of(std::string_view w) {
  if (w.size() < 3 || w[0] < 'a' || w[0] > 'z') {
    return std::nullopt;
  }
  for (std::size_t m = 0; m < k_months.size(); ++m) {
    if (w[0] == k_months[m][0] && (w == k_months[m] || w == k_months[m].substr(0, 3))) {
      return static_cast<unsigned>(m + 1);
    }
  }
  return w == "sept" ? std::optional<unsigned>(9) : std::nullopt;
}

/// "friday"; with `allow_short` also "fri", "thurs", "tues" (a prefix of 3+ letters).
std::optional<chr::weekday> weekday_of(std::string_view w, bool allow_short) {
  if (w.size() < 3 || w[0] < 'a' || w[0] > 'z') {
    return std::nullopt;
  }
  for (unsigned d = 0; d < k_weekdays.size(); ++d) {
    if (w[0] == k_weekdays[d][0] && (w == k_weekdays[d] || (allow_short && k_weekdays[d].starts_with(w)))) {
      return chr::weekday{d};
    }
  }
  return std::nullopt;
}

/// "3", "03", "3rd", "21st": a day of the month.
std::optional<unsigned> day_of(std::string_view w, bool need_suffix = false) {
  const bool suffixed =
      w.size() > 2 && (w.ends_with("st") || w.ends_with("nd") || w.ends_with("rd") || w.ends_with("th"));
  if (suffixed) {
    w.remove_suffix(2);
  }
  const auto n = (w.size() <= 2 && (suffixed || !need_suffix)) ? to_int(w) : std::nullopt;
  return (n && *n >= 1 && *n <= 31) ? std::optional<unsigned>(static_cast<unsigned>(*n)) : std::nullopt;
}

std::optional<int> year_of(std::string_view w) {
  const auto n = w.size() == 4 ? to_int(w) : std::nullopt;
  return (n && *n >= 1970 && *n <= 2999) ? n : std::nullopt;
}

/// "3", "three", "a": how many units in "in 3 days".
std::optional<int> count_of(std::string_view w) {
  if (w == "a" || w == "an") {
    return 1;
  }
  for (std::size_t i = 0; i < k_count_words.size(); ++i) {
    if (w == k_count_words[i]) {
      return static_cast<int>(i + 1);
    }
  }
  const auto n = w.size() <= 3 ? to_int(w) : std::nullopt;
  return (n && *n > 0) ? n : std::nullopt;
}

chr::sys_days last_day_of(chr::year_month ym) {
  return chr::sys_days{chr::year_month_day_last{ym.year(), chr::month_day_last{ym.month()}}};
}

chr::sys_days add_business_days(chr::sys_days d, int n) {
  while (n > 0) {
    d += chr::days{1};
    const chr::weekday wd{d};
    if (wd != chr::Saturday && wd != chr::Sunday) {
      --n;
    }
  }
  return d;
}

/// The phrases of the file comment, tried at one token.
class Resolver {
public:
  Resolver(const std::vector<Token>& tokens, chr::sys_days today) : m_t(tokens), m_today(today) {}

  std::optional<Match> at(std::size_t i) const {
    if (auto m = span(i)) {
      return m;
    }
    const std::size_t j = skip_lead(i);
    const bool lead = j > i;
    if (auto m = end_of(j)) {
      return m;
    }
    if (auto m = relative(j)) {
      return m;
    }
    if (auto m = weekday_phrase(j, lead)) {
      return m;
    }
    if (auto m = month_day(j, lead)) {
      return m;
    }
    return numeric(j, lead);
  }

private:
  bool is(std::size_t i, std::string_view w) const { return i < m_t.size() && m_t[i].word == w; }
  std::string_view word(std::size_t i) const { return i < m_t.size() ? m_t[i].word : std::string_view{}; }

  chr::sys_days monday() const { return m_today - (chr::weekday{m_today} - chr::Monday); }
  chr::sys_days next_monday() const { return monday() + chr::days{7}; }
  chr::sys_days next_occurrence(chr::weekday wd) const { return m_today + (wd - chr::weekday{m_today}); }
  chr::sys_days end_of_week() const {
    const auto friday = monday() + chr::days{4};
    return friday < m_today ? friday + chr::days{7} : friday;
  }

  std::size_t skip_lead(std::size_t i) const {
    if (is(i, "due")) {
      ++i;
    }
    for (std::string_view w : {"by", "before", "on", "until", "till", "til"}) {
      if (is(i, w)) {
        return i + 1;
      }
    }
    return ((is(i, "no") || is(i, "not")) && is(i + 1, "later") && is(i + 2, "than")) ? i + 3 : i;
  }

  /// in/within [the] [next] N unit.
  std::optional<Match> span(std::size_t i) const {
    if (!is(i, "in") && !is(i, "within")) {
      return std::nullopt;
    }
    std::size_t j = i + 1;
    j += is(j, "the") ? 1 : 0;
    j += is(j, "next") ? 1 : 0;
    if (is(j, "a") && is(j + 1, "couple") && is(j + 2, "of")) {
      return span_unit(j + 3, 2);
    }
    if (is(j, "a") && is(j + 1, "few")) {
      return span_unit(j + 2, 3);
    }
    const auto n = count_of(word(j));
    return n ? span_unit(j + 1, *n) : std::nullopt;
  }

  std::optional<Match> span_unit(std::size_t j, int n) const {
    const bool business = is(j, "business") || is(j, "working");
    j += business ? 1 : 0;
    const auto u = word(j);
    if (u == "day" || u == "days") {
      return Match{business ? add_business_days(m_today, n) : m_today + chr::days{n}, j};
    }
    if (business) {
      return std::nullopt;
    }
    if (u == "week" || u == "weeks") {
      return Match{m_today + chr::days{7 * n}, j};
    }
    if (u == "hour" || u == "hours" || u == "hrs") {
      return Match{m_today + chr::days{n < 24 ? 0 : (n + 23) / 24}, j};
    }
    if (u == "month" || u == "months") {
      const auto ymd = chr::year_month_day{m_today} + chr::months{n};
      return Match{ymd.ok() ? chr::sys_days{ymd} : last_day_of({ymd.year(), ymd.month()}), j};
    }
    return std::nullopt;
  }

  /// EOD/COB [qualifier], end of (the) day/week/month, close of business.
  std::optional<Match> end_of(std::size_t i) const {
    const std::size_t j = i + (is(i, "the") ? 1 : 0);
    if (is(j, "eod") || is(j, "cob") || is(j, "eob")) {
      return day_qualifier(j + 1, j);
    }
    if (is(j, "eow")) {
      return Match{end_of_week(), j};
    }
    if (is(j, "eom")) {
      return Match{last_day_of(chr::year_month_day{m_today}.year() / chr::year_month_day{m_today}.month()),
                   j};
    }
    if (!(is(j, "end") || is(j, "close")) || !is(j + 1, "of")) {
      return std::nullopt;
    }
    const std::size_t k = j + 2 + (is(j + 2, "the") ? 1 : 0);
    return end_of_period(k);
  }

  std::optional<Match> end_of_period(std::size_t k) const {
    const chr::year_month_day t{m_today};
    if (is(k, "day") || is(k, "business") || is(k, "play")) {
      return day_qualifier(k + 1, k);
    }
    if (is(k, "week")) {
      return Match{end_of_week(), k};
    }
    if (is(k, "month")) {
      return Match{last_day_of(t.year() / t.month()), k};
    }
    if (is(k, "next") && is(k + 1, "week")) {
      return Match{next_monday() + chr::days{4}, k + 1};
    }
    if (is(k, "next") && is(k + 1, "month")) {
      return Match{last_day_of(t.year() / t.month() + chr::months{1}), k + 1};
    }
    if (const auto m = month_of(word(k)); m && word(k).size() > 3) {
      const auto ym = t.year() / chr::month{*m};
      return Match{last_day_of(ym < t.year() / t.month() ? ym + chr::years{1} : ym), k};
    }
    return std::nullopt;
  }

  /// What may follow "EOD": today, tomorrow, [on|this|next] Friday; else today itself.
  std::optional<Match> day_qualifier(std::size_t k, std::size_t last) const {
    const std::size_t j = k + (is(k, "on") ? 1 : 0);
    if (auto m = relative(j)) {
      return m;
    }
    if (auto m = weekday_phrase(j, true)) {
      return m;
    }
    return Match{m_today, last};
  }

  std::optional<Match> relative(std::size_t i) const {
    if (is(i, "today") || is(i, "tonight")) {
      return Match{m_today, i};
    }
    if (is(i, "this") && (is(i + 1, "morning") || is(i + 1, "afternoon") || is(i + 1, "evening"))) {
      return Match{m_today, i + 1};
    }
    if (is(i, "tomorrow")) {
      const bool part = is(i + 1, "morning") || is(i + 1, "afternoon") || is(i + 1, "evening") ||
                        is(i + 1, "night") || is(i + 1, "eod");
      return Match{m_today + chr::days{1}, part ? i + 1 : i};
    }
    if (is(i, "next") && is(i + 1, "week")) {
      return Match{next_monday(), i + 1};
    }
    return std::nullopt;
  }

  /// [this|next] Friday.
  std::optional<Match> weekday_phrase(std::size_t i, bool lead) const {
    const bool next = is(i, "next");
    const std::size_t j = i + ((next || is(i, "this")) ? 1 : 0);
    const auto wd = weekday_of(word(j), lead || j > i);
    if (!wd) {
      return std::nullopt;
    }
    if (auto m = month_day(j + 1, true); m && !next) {
      return m; // "Friday, December 4": the date is the precise part
    }
    if (next) {
      return Match{next_monday() + (*wd - chr::Monday), j};
    }
    return Match{next_occurrence(*wd), j};
  }

  /// Dec 3, December 3rd, 3 Dec, 3rd of December, each with an optional year; the 3rd.
  std::optional<Match> month_day(std::size_t i, bool lead) const {
    if (const auto m = month_of(word(i)); m && (lead || word(i) != "may")) { // "you may 3 times"
      const auto d = day_of(word(i + 1));
      return d ? dated(*m, *d, i + 1) : std::nullopt;
    }
    if (lead && is(i, "the")) {
      const auto d = day_of(word(i + 1), true);
      return d ? day_of_month(*d, i + 1) : std::nullopt;
    }
    const auto d = day_of(word(i));
    if (!d) {
      return std::nullopt;
    }
    const std::size_t j = i + 1 + (is(i + 1, "of") ? 1 : 0);
    const auto m = month_of(word(j));
    return m ? dated(*m, *d, j) : std::nullopt;
  }

  /// month/day, with the year after `last` when one is written there.
  std::optional<Match> dated(unsigned m, unsigned d, std::size_t last) const {
    if (const auto y = year_of(word(last + 1))) {
      return exact(chr::year{*y} / chr::month{m} / chr::day{d}, last + 1);
    }
    return upcoming(chr::month{m} / chr::day{d}, last);
  }

  std::optional<Match> exact(chr::year_month_day ymd, std::size_t last) const {
    return ymd.ok() ? std::optional<Match>(Match{chr::sys_days{ymd}, last}) : std::nullopt;
  }

  /// This year's `md`, or next year's once it has passed.
  std::optional<Match> upcoming(chr::month_day md, std::size_t last) const {
    const auto y = chr::year_month_day{m_today}.year();
    auto ymd = y / md;
    if (ymd.ok() && chr::sys_days{ymd} < m_today) {
      ymd = (y + chr::years{1}) / md;
    }
    return exact(ymd, last);
  }

  std::optional<Match> day_of_month(unsigned d, std::size_t last) const {
    const chr::year_month_day t{m_today};
    auto ymd = t.year() / t.month() / chr::day{d};
    if (ymd.ok() && chr::sys_days{ymd} < m_today) {
      ymd = (t.year() / t.month() + chr::months{1}) / chr::day{d};
    }
    return exact(ymd, last);
  }

  /// 2026-12-05, 2026/12/05, 12/05/2026, 12/5/26; 12/05 only after a lead.
  std::optional<Match> numeric(std::size_t i, bool lead) const {
    const auto w = word(i);
    if (w.empty() || !is_digit(w[0])) {
      return std::nullopt;
    }
    std::array<std::string_view, 3> part;
    std::size_t n = 0;
    const char sep = w.find('-') != std::string_view::npos ? '-' : '/';
    for (std::size_t b = 0; b <= w.size() && n < part.size(); ++n) {
      const std::size_t e = std::min(w.find(sep, b), w.size());
      part[n] = w.substr(b, e - b);
      b = e + 1;
    }
    if (n < 2 || w.find_first_of(sep == '-' ? "/" : "-") != std::string_view::npos ||
        std::count(w.begin(), w.end(), sep) != static_cast<std::ptrdiff_t>(n - 1)) {
      return std::nullopt;
    }
    return numeric_parts(part, n, sep, lead, i);
  }

  std::optional<Match> numeric_parts(const std::array<std::string_view, 3>& p, std::size_t n, char sep,
                                     bool lead, std::size_t i) const {
    const auto a = to_int(p[0]), b = to_int(p[1]);
    if (!a || !b || *a <= 0 || *b <= 0 || p[1].size() > 2) {
      return std::nullopt;
    }
    const auto c = n == 3 ? to_int(p[2]) : std::nullopt;
    if (n == 3 && p[0].size() == 4 && c && p[2].size() <= 2) {
      return exact(
          chr::year{*a} / chr::month(static_cast<unsigned>(*b)) / chr::day(static_cast<unsigned>(*c)), i);
    }
    if (sep != '/' || p[0].size() > 2) {
      return std::nullopt;
    }
    const auto md = chr::month(static_cast<unsigned>(*a)) / chr::day(static_cast<unsigned>(*b));
    if (n == 2) {
      return lead ? upcoming(md, i) : std::nullopt;
    }
    if (!c || (p[2].size() != 2 && p[2].size() != 4)) {
      return std::nullopt;
    }
    return exact(chr::year{p[2].size() == 2 ? 2000 + *c : *c} / md, i);
  }

  const std::vector<Token>& m_t;
  chr::sys_days m_today;
};

} // namespace

std::string iso_date(std::chrono::year_month_day d) {
  const int y = static_cast<int>(d.year());
  if (y < 0 || y > 9999) {
    return fmt::format("{}-{:02}-{:02}", y, static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  }
  // By hand: this runs for every action item, and fmt::format costs ten times as much.
  std::string out = "0000-00-00";
  const auto put = [&](std::size_t at, unsigned v, int digits) {
    for (int k = digits - 1; k >= 0; --k, v /= 10) {
      out[at + static_cast<std::size_t>(k)] = static_cast<char>('0' + v % 10);
    }
  };
  put(0, static_cast<unsigned>(y), 4);
  put(5, static_cast<unsigned>(d.month()), 2);
  put(8, static_cast<unsigned>(d.day()), 2);
  return out;
}

std::optional<DueDate> find_due_date(std::string_view text, std::chrono::year_month_day today) {
  thread_local std::string lower;
  thread_local std::vector<Token> tokens;
  tokenize(text, lower, tokens);
  const Resolver resolver(tokens, chr::sys_days{today});
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (const auto m = resolver.at(i)) {
      const chr::year_month_day d{m->day};
      const std::size_t b = tokens[i].begin;
      return DueDate{d, iso_date(d), std::string(text.substr(b, tokens[m->last].end - b))};
    }
  }
  return std::nullopt;
}

} // namespace mp::analyser
