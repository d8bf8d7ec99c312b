#pragma once
// Deadline phrases in free text ("by Friday", "EOD tomorrow", "before Dec 3", "in 3 days"),
// resolved to a calendar day relative to a given "today". Used by the local analyser for
// action items; see dates.cpp for the phrases understood and the rules.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mp::analyser {

/// A deadline found in text.
struct DueDate {
  std::chrono::year_month_day date;
  std::string iso;  ///< `date` as "yyyy-mm-dd"
  std::string text; ///< the words it came from, as written, lead word included ("by Friday")
};

/// The first deadline phrase in `text` (in reading order), resolved relative to `today`,
/// or nullopt when there is none. Never fails otherwise; input of any size and content is
/// fine. Thread-safe: the only state is thread_local scratch space.
std::optional<DueDate> find_due_date(std::string_view text, std::chrono::year_month_day today);

/// `d` as "yyyy-mm-dd".
std::string iso_date(std::chrono::year_month_day d);

} // namespace mp::analyser
