#include "analyser/local.hpp"

#include "analyser/scanner.hpp"
#include "corpus.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using mp::analyser::analyse;
using mp::analyser::Analysis;
using mp::analyser::Email;
using mp::test::k_corpus;
namespace chr = std::chrono;

namespace {

// Wednesday 2 December 2026, 09:00 UTC.
const chr::system_clock::time_point k_now = chr::sys_days{chr::year{2026} / 12 / 2} + chr::hours{9};

const std::set<std::string> k_categories = {"work",    "personal", "newsletter", "promotion", "notification",
                                            "finance", "travel",   "support",    "spam",      "other"};
const std::set<std::string> k_urgencies = {"urgent", "high", "normal", "low", "background"};

Analysis run(std::string_view content, std::string_view subject = "Hello",
             std::string_view sender = "Sam Lee <sam.lee@northwind.io>") {
  return analyse(Email{subject, sender, content}, k_now);
}

Analysis run(const mp::test::CorpusEmail& e) {
  return analyse(Email{e.subject, e.sender, e.content}, k_now);
}

std::string collapse(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

/// True if `summary` is at most `max_pieces` runs of `content`'s text (whitespace collapsed)
/// in their original order: each piece is the longest word-aligned prefix found after the
/// previous one.
bool made_of_content(std::string_view summary, std::string_view content, int max_pieces) {
  const std::string text = collapse(content);
  if (summary.ends_with("...") && text.find(summary) == std::string::npos) {
    summary.remove_suffix(3); // clipped
  }
  std::size_t pos = 0;
  int pieces = 0;
  while (!summary.empty()) {
    std::size_t len = summary.size();
    while (len != std::string_view::npos && len > 0 &&
           text.find(summary.substr(0, len), pos) == std::string::npos) {
      len = summary.rfind(' ', len - 1);
    }
    if (len == std::string_view::npos || len == 0) {
      return false;
    }
    pos = text.find(summary.substr(0, len), pos) + len;
    summary.remove_prefix(std::min(summary.size(), len + 1));
    ++pieces;
  }
  return pieces <= max_pieces;
}

bool is_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (const std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_CASE("local: every corpus email gets the category a reader would give it", "[analyser]") {
  for (const auto& e : k_corpus) {
    INFO("subject: " << e.subject);
    const Analysis a = run(e);
    CHECK(a.category == e.category);
    if (!e.urgency.empty()) {
      CHECK(a.urgency == e.urgency);
    }
    if (e.needs_reply >= 0) {
      CHECK(a.needs_reply == (e.needs_reply == 1));
    }
    if (e.action_items >= 0) {
      CHECK(a.action_items.size() == static_cast<std::size_t>(e.action_items));
    }
  }
}

TEST_CASE("local: the corpus covers every category with several realistic emails", "[analyser]") {
  std::map<std::string, int> per_category;
  for (const auto& e : k_corpus) {
    ++per_category[std::string(e.category)];
    CHECK(e.content.size() >= 50);
  }
  CHECK(std::size(k_corpus) >= 40);
  for (const auto& c : k_categories) {
    INFO("category: " << c);
    CHECK(per_category[c] >= 5);
  }
}

TEST_CASE("local: every field is in range and the summary is the email's own sentences", "[analyser]") {
  for (const auto& e : k_corpus) {
    INFO("subject: " << e.subject);
    const Analysis a = run(e);
    CHECK(k_categories.count(a.category) == 1);
    CHECK(k_urgencies.count(a.urgency) == 1);
    CHECK(a.confidence >= 0.0);
    CHECK(a.confidence <= 1.0);
    CHECK(a.sentiment_score >= -1.0);
    CHECK(a.sentiment_score <= 1.0);
    CHECK((a.sentiment == "positive" || a.sentiment == "neutral" || a.sentiment == "negative"));
    CHECK(!a.summary.empty());
    CHECK(a.summary.size() <= 303);
    INFO("summary: " << a.summary);
    CHECK(made_of_content(a.summary, e.content, 3));
    for (const auto& item : a.action_items) {
      INFO("action: " << item.text);
      CHECK(collapse(e.content).find(item.text) != std::string::npos);
      CHECK(item.due.has_value() == !item.due_text.empty());
      if (item.due) {
        CHECK(is_iso_date(*item.due));
        CHECK(e.content.find(item.due_text) != std::string_view::npos);
      }
    }
  }
}

TEST_CASE("local: the analysis is deterministic, across calls and threads", "[analyser]") {
  const auto same = [](const Analysis& x, const Analysis& y) {
    bool items = x.action_items.size() == y.action_items.size();
    for (std::size_t i = 0; items && i < x.action_items.size(); ++i) {
      items =
          x.action_items[i].text == y.action_items[i].text && x.action_items[i].due == y.action_items[i].due;
    }
    return items && x.category == y.category && x.urgency == y.urgency && x.confidence == y.confidence &&
           x.needs_reply == y.needs_reply && x.summary == y.summary && x.sentiment == y.sentiment &&
           x.sentiment_score == y.sentiment_score;
  };
  std::vector<Analysis> first;
  for (const auto& e : k_corpus) {
    first.push_back(run(e));
  }
  std::vector<Analysis> other_thread;
  std::thread([&] {
    for (const auto& e : k_corpus) {
      other_thread.push_back(run(e));
    }
  }).join();
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO("subject: " << k_corpus[i].subject);
    CHECK(same(first[i], run(k_corpus[i])));
    CHECK(same(first[i], other_thread[i]));
  }
}

TEST_CASE("local: action items start at the request and carry its deadline", "[analyser]") {
  const Analysis a = run("Hi Sam, could you send me the Q3 report by Friday? Thanks for the help last week!");
  REQUIRE(a.action_items.size() == 1);
  CHECK(a.action_items[0].text == "could you send me the Q3 report by Friday?");
  CHECK(a.action_items[0].due == "2026-12-04");
  CHECK(a.action_items[0].due_text == "by Friday");
  CHECK(a.needs_reply);

  const Analysis imperative = run("Submit your timesheet by EOD tomorrow. Review the notes when you can.");
  REQUIRE(imperative.action_items.size() == 1); // the second has no deadline and no "please"
  CHECK(imperative.action_items[0].text == "Submit your timesheet by EOD tomorrow.");
  CHECK(imperative.action_items[0].due == "2026-12-03");
  CHECK(imperative.action_items[0].due_text == "by EOD tomorrow");

  const Analysis curly = run("Don\u2019t forget to book the meeting room for next Monday.");
  REQUIRE(curly.action_items.size() == 1);
  CHECK(curly.action_items[0].due == "2026-12-07");
}

TEST_CASE("local: courtesy is neither a request nor a question", "[analyser]") {
  const Analysis a = run("Please find attached the minutes from today's meeting. Let me know if you have any "
                         "questions.");
  CHECK(a.action_items.empty());
  CHECK_FALSE(a.needs_reply);

  const Analysis fyi = run("FYI: the team offsite moved to the Cedar room. No need to reply.");
  CHECK_FALSE(fyi.needs_reply);
}

TEST_CASE("local: automated senders never need a reply", "[analyser]") {
  const Analysis a = run("Can you confirm your email address? Click the link below to finish signing up.",
                         "Confirm your email", "Acme <no-reply@acme.com>");
  CHECK_FALSE(a.needs_reply);
  const Analysis human = run("Can you confirm the venue for Friday?", "Venue", "Ann <ann@northwind.io>");
  CHECK(human.needs_reply);
}

TEST_CASE("local: sentiment reads negation and intensifiers", "[analyser]") {
  CHECK(run("I am not happy with the repeated delays on this project.").sentiment == "negative");
  CHECK(run("This is great news, thank you so much! The launch was a wonderful success.").sentiment ==
        "positive");
  CHECK(run("No problem at all, the meeting can move to Thursday.").sentiment != "negative");
  CHECK(run("The meeting is on Thursday at 3pm in room 4.").sentiment == "neutral");
  CHECK(run("not happy").sentiment_score < 0);
  CHECK(run("very happy").sentiment_score > run("happy").sentiment_score);
}

TEST_CASE("local: urgency rises with urgent words and near deadlines, falls with relaxed ones",
          "[analyser]") {
  CHECK(run("The payment service is down in production, we need everyone on the incident bridge ASAP.",
            "URGENT: outage")
            .urgency == "urgent");
  const std::string eod =
      run("Could you review the contract draft by EOD today? The client is waiting.").urgency;
  CHECK((eod == "urgent" || eod == "high"));
  CHECK(run("This is important: please send the signed contract back today.").urgency == "high");
  CHECK(run("Not urgent at all, whenever you have a chance take a look at the draft.").urgency == "low");
  CHECK(run("Here are the notes from the project meeting.").urgency == "normal");
}

TEST_CASE("local: quoted history and signatures are not read", "[analyser]") {
  const std::string_view content = R"(Sounds good, I'll bring the slides to the project meeting on Thursday.

Maria

On Tue, Dec 1, 2026 at 4:02 PM Lottery Office <claims@example.com> wrote:
> Congratulations winner! You have won the lottery. Claim your prize now with a wire transfer.
> Act now, this offer expires within 24 hours.)";
  const Analysis a = run(content, "Re: Thursday");
  CHECK(a.category == "work");
  CHECK(a.summary.find("lottery") == std::string::npos);

  const Analysis quoted =
      run("> You have won a prize, claim your prize now!\nThanks, the agenda for the team "
          "meeting is attached.");
  CHECK(quoted.category == "work");
}

TEST_CASE("local: sentences survive abbreviations, decimals and URLs", "[analyser]") {
  namespace text = mp::analyser::text;
  const std::string_view content = "Dr. Smith checked the 3.5 release notes at example.com/notes today. See "
                                   "e.g. the section on Dec. 3 builds! Is it ready?\nThanks";
  std::string lower;
  text::lower_into(content, lower);
  text::Scores scores;
  std::vector<std::uint8_t> counts(mp::analyser::lexicon::Lexicon::instance().size());
  std::vector<text::Sentence> sentences;
  text::Scanner(mp::analyser::lexicon::Lexicon::instance(), scores, counts)
      .scan(content, lower, 1, &sentences);
  std::vector<std::string> got;
  for (const auto& s : sentences) {
    got.emplace_back(content.substr(s.begin, s.end - s.begin));
  }
  CHECK(got == std::vector<std::string>{"Dr. Smith checked the 3.5 release notes at example.com/notes today.",
                                        "See e.g. the section on Dec. 3 builds!", "Is it ready?", "Thanks"});
  REQUIRE(sentences.size() == 4);
  CHECK((sentences[2].flags & text::k_question) != 0);
  CHECK((sentences[1].flags & text::k_question) == 0);
}

TEST_CASE("local: empty, tiny and huge emails are fine", "[analyser]") {
  const Analysis empty = analyse(Email{}, k_now);
  CHECK(empty.category == "other");
  CHECK(empty.summary.empty());
  CHECK(empty.action_items.empty());
  CHECK_FALSE(empty.needs_reply);

  CHECK(run("", "Lunch on Friday?").summary == "Lunch on Friday?");

  std::string huge;
  for (int i = 0; i < 400; ++i) {
    huge += "The quarterly project report covers the roadmap, the budget and the team's deliverables. ";
  }
  const Analysis big = run(huge);
  CHECK(big.category == "work");
  CHECK(big.summary.size() <= 300);
  CHECK(made_of_content(big.summary, huge, 3));

  const std::string binary("\xff\xfe\x00\x01\xe2\x80\x99\xc2", 8); // truncated UTF-8 at the end
  CHECK_NOTHROW(run(binary));
}

TEST_CASE("local: confidence grows with evidence and with the margin over the runner-up", "[analyser]") {
  const Analysis clear =
      run("Your flight to Lisbon is confirmed. Boarding starts at gate B12, bring your passport "
          "and boarding pass to the airport.");
  const Analysis mixed =
      run("Dinner with the family after the project meeting? The kids want pizza and the client "
          "wants the report.");
  CHECK(clear.category == "travel");
  CHECK(clear.confidence > 0.8);
  CHECK(mixed.confidence < clear.confidence);
  const Analysis nothing = run("ok");
  CHECK(nothing.category == "other");
  CHECK(nothing.confidence >= 0.4);
}
