#include "analyser/dates.hpp"

#include <catch2/catch.hpp>

#include <string>

using mp::analyser::find_due_date;
namespace chr = std::chrono;

namespace {

// Wednesday 2 December 2026, unless a test says otherwise.
constexpr chr::year_month_day k_wednesday{chr::year{2026}, chr::December, chr::day{2}};

chr::year_month_day day(int y, unsigned m, unsigned d) {
  return chr::year{y} / chr::month{m} / chr::day{d};
}

/// The ISO date found in `text`, or "none".
std::string due(std::string_view text, chr::year_month_day today = k_wednesday) {
  const auto d = find_due_date(text, today);
  return d ? d->iso : "none";
}

std::string due_text(std::string_view text, chr::year_month_day today = k_wednesday) {
  const auto d = find_due_date(text, today);
  return d ? d->text : "none";
}

} // namespace

TEST_CASE("dates: weekdays resolve to their next occurrence, today included", "[dates]") {
  CHECK(due("Please send it by Friday.") == "2026-12-04");
  CHECK(due_text("Please send it by Friday.") == "by Friday");
  CHECK(due("by Wednesday") == "2026-12-02");                // today is Wednesday
  CHECK(due("by Tuesday") == "2026-12-08");                  // yesterday: next week
  CHECK(due("by Friday", day(2026, 12, 4)) == "2026-12-04"); // Friday itself
  CHECK(due("by Friday", day(2026, 12, 5)) == "2026-12-11"); // Saturday
  CHECK(due("this Thursday") == "2026-12-03");
  CHECK(due_text("Can you do it before Monday?") == "before Monday");
  CHECK(due("by Fri") == "2026-12-04"); // short names after a lead
  CHECK(due("Fri") == "none");          // ... not alone
  CHECK(due("COB Friday") == "2026-12-04");
  CHECK(due_text("COB Friday") == "COB Friday");
}

TEST_CASE("dates: next <weekday> is that day of next week", "[dates]") {
  CHECK(due("next Monday") == "2026-12-07");                    // from Wednesday
  CHECK(due("next Friday") == "2026-12-11");                    // not this Friday
  CHECK(due("next Monday", day(2026, 12, 6)) == "2026-12-07");  // Sunday: Monday-based weeks
  CHECK(due("next Monday", day(2026, 12, 7)) == "2026-12-14");  // Monday: a week later
  CHECK(due("by Monday", day(2026, 12, 7)) == "2026-12-07");    // "by Monday" on Monday: today
  CHECK(due("next Friday", day(2026, 12, 28)) == "2027-01-08"); // across the year
  CHECK(due("by next week") == "2026-12-07");
}

TEST_CASE("dates: today, tonight, tomorrow and end of day", "[dates]") {
  CHECK(due("today") == "2026-12-02");
  CHECK(due("Can we talk tonight?") == "2026-12-02");
  CHECK(due("tomorrow morning") == "2026-12-03");
  CHECK(due_text("I need it tomorrow morning.") == "tomorrow morning");
  CHECK(due("EOD tomorrow") == "2026-12-03");
  CHECK(due_text("send the deck EOD tomorrow please") == "EOD tomorrow");
  CHECK(due("by end of day") == "2026-12-02");
  CHECK(due("by the end of the day") == "2026-12-02");
  CHECK(due("by EOD") == "2026-12-02");
  CHECK(due("EOD today") == "2026-12-02");
  CHECK(due("close of business Thursday") == "2026-12-03");
  CHECK(due("tomorrow", day(2026, 12, 31)) == "2027-01-01");
}

TEST_CASE("dates: end of week and end of month", "[dates]") {
  CHECK(due("by end of week") == "2026-12-04");
  CHECK(due("by the end of the week") == "2026-12-04");
  CHECK(due("EOW") == "2026-12-04");
  CHECK(due("by EOW", day(2026, 12, 4)) == "2026-12-04"); // Friday: today
  CHECK(due("by EOW", day(2026, 12, 5)) == "2026-12-11"); // weekend: the next Friday
  CHECK(due("end of next week") == "2026-12-11");
  CHECK(due("by end of month") == "2026-12-31");
  CHECK(due("end of the month", day(2027, 2, 10)) == "2027-02-28");
  CHECK(due("end of the month", day(2028, 2, 10)) == "2028-02-29"); // leap year
  CHECK(due("EOM") == "2026-12-31");
  CHECK(due("by the end of next month") == "2027-01-31");
}

TEST_CASE("dates: month and day, this year or next", "[dates]") {
  CHECK(due("before Dec 3") == "2026-12-03");
  CHECK(due_text("Submit it before Dec 3, thanks") == "before Dec 3");
  CHECK(due("by December 3rd") == "2026-12-03");
  CHECK(due_text("by December 3rd") == "by December 3rd");
  CHECK(due("by 3 Dec") == "2026-12-03");
  CHECK(due("by the 3rd of December") == "2026-12-03");
  CHECK(due("by Dec. 15") == "2026-12-15");
  CHECK(due("by December 1") == "2027-12-01");      // passed yesterday
  CHECK(due("by Jan 4") == "2027-01-04");           // rolls into next year
  CHECK(due("by January 4, 2026") == "2026-01-04"); // explicit year is kept
  CHECK(due("on 21st March 2027") == "2027-03-21");
  CHECK(due("by Dec 2") == "2026-12-02"); // today is not passed
  CHECK(due("by Feb 30") == "none");
  CHECK(due("I may 3 times") == "none");
  CHECK(due("by the 15th") == "2026-12-15");
  CHECK(due("by the 1st") == "2027-01-01"); // this month's has passed
}

TEST_CASE("dates: numeric dates", "[dates]") {
  CHECK(due("by 12/05") == "2026-12-05"); // US month/day
  CHECK(due("by 11/30") == "2027-11-30"); // passed: next year
  CHECK(due("by 2026-12-05") == "2026-12-05");
  CHECK(due("2027-01-15 at the latest") == "2027-01-15");
  CHECK(due("due 12/05/2026") == "2026-12-05");
  CHECK(due("12/5/26") == "2026-12-05");
  CHECK(due("Add 1/2 cup of sugar") == "none"); // no lead: a fraction
  CHECK(due("by 13/45") == "none");
  CHECK(due("by 2026-02-30") == "none");
  CHECK(due("call 555-1234") == "none");
}

TEST_CASE("dates: spans from today", "[dates]") {
  CHECK(due("in 3 days") == "2026-12-05");
  CHECK(due("within 2 weeks") == "2026-12-16");
  CHECK(due_text("Please respond within 2 weeks.") == "within 2 weeks");
  CHECK(due("in two days") == "2026-12-04");
  CHECK(due("in a week") == "2026-12-09");
  CHECK(due("within 48 hours") == "2026-12-04");
  CHECK(due("within 2 hours") == "2026-12-02");
  CHECK(due("in a few days") == "2026-12-05");
  CHECK(due("within a couple of weeks") == "2026-12-16");
  CHECK(due("within the next 3 days") == "2026-12-05");
  CHECK(due("in 5 days", day(2026, 12, 28)) == "2027-01-02");
  CHECK(due("in 3 business days", day(2026, 12, 31)) == "2027-01-05"); // skips the weekend
  CHECK(due("in 1 month", day(2027, 1, 31)) == "2027-02-28");
  CHECK(due("in December") == "none");
}

TEST_CASE("dates: the first phrase wins and the text keeps its case", "[dates]") {
  CHECK(due("Send it by Friday, not Monday.") == "2026-12-04");
  CHECK(due_text("Finish this by FRIDAY") == "by FRIDAY");
  CHECK(due_text("no later than Dec 10, please") == "no later than Dec 10");
  CHECK(due("no later than Dec 10") == "2026-12-10");
  CHECK(due_text("It is due by Friday") == "due by Friday");
  CHECK(due("Thanks for the update.") == "none");
  CHECK(due("I have 3 cats and 2 dogs.") == "none");
  CHECK(due("") == "none");
  const auto d = find_due_date("by Friday", k_wednesday);
  REQUIRE(d);
  CHECK(d->date == day(2026, 12, 4));
}
