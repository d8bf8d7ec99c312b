// The local analyser's decisions: from term scores and sentence records (scanner.cpp)
// to category, confidence, urgency, needs_reply, summary, action items and sentiment.
//
// Category. Every term adds its weights to each category it speaks for; subject terms
// count twice, and one term counts at most three times per email. The sender adds cue
// weights (lexicon.cpp: "no-reply" -> notification, "billing" -> finance, a free-mail
// domain -> personal). Then: spam gets 1.5 per piece of urgency bait ("act now",
// "within 24 hours"; at most 3) once its own score is at least 3, since bait is what
// separates a scam from a real security notice; three or more '!' add 0.5 to spam and
// promotion; an automated sender takes 2 from personal and 1 from work. The best category
// wins if it scores at least 2.5, else the mail is "other".
//
// Confidence, with s1 and s2 the best and second-best scores (negatives read as 0):
//     confidence = (1 - e^(-s1/4)) * (0.5 + 0.5 * (s1 - s2) / s1)
// The first factor says how much evidence there is (s1 = 4 gives 0.63, 12 gives 0.95), the
// second how clearly it points one way (a tie halves it). For "other" it is
// 0.4 + 0.4 * (1 - s1/2.5): the less evidence of anything, the surer "other" is. Both are
// rounded to two decimals.
//
// Urgency: the sum of urgency terms (subject twice; "asap" 3.5, "important" 1, "no rush"
// -3; a negator within three words before turns a value v into -v/2, so "not urgent" is
// -1.5), plus 2 for an action item due today or overdue, 1 for tomorrow, 0.5 within three
// days. >= 6 is urgent, >= 3 high, <= -1.5 low, else normal. Newsletters and spam are
// background and promotions low whatever they say; notifications are low unless the sum
// reaches high.
//
// needs_reply: never for automated senders, newsletters, promotions, spam or notifications.
// Otherwise each sentence that is a question to the reader (ends in '?' and has "you",
// opens with a question word, or is at most three words: "Thoughts?") or asks for an answer
// ("please confirm", "let me know") scores 2, an "fyi"/"no need to reply" anywhere takes 3,
// and a total of 2 or more needs a reply. Courtesy ("let me know if you have any
// questions") does not count.
//
// Summary: each sentence that is not boilerplate (footer, legal), a greeting or sign-off
// of at most five words, shorter than three words or a list's lead-in (ends in ':') is
// scored
//     sum over categories of its weights (x1 for the mail's category, x0.3 for others)
//     + 0.8 |urgency| + 1.5 if it asks for something + 0.5 if a question
//     + 1 for the first such sentence, 0.5 for the second + 0.05 per word (up to 20)
// times 0.4 for a fragment without '.', '!' or '?' (labels, headings, signatures), divided
// by sqrt(words / 12) when longer than 12 words. The best 1 (up to 2 sentences),
// 2 (up to 6) or 3 are kept while they fit in 300 characters, in their original order,
// with whitespace collapsed.
//
// Action items: sentences that ask ("please", "could you", "can you", "need you to", "make
// sure", "let me know", ...; not "please find attached"), or whose clause opens with an
// imperative verb ("Submit ...") and that name a deadline. The text starts at the clause
// holding the request ("Hi Sam, could you ..." gives "could you ..."); the deadline comes
// from the whole sentence (dates.cpp), which is only searched when it holds a date word or
// a digit. At most 8; none for spam, newsletters and promotions.
//
// Sentiment: positive and negative lexicon values (x1.5 after "very", "really", ...; x-0.7
// after a negator, so "not happy" is negative and "no problem" mildly positive) summed into
// p and n; score = (p - n) / (p + n + 2), positive at >= 0.25, negative at <= -0.25.
//
// Cost, measured by bench/analyser_bench.cpp on 2 KB emails (bench/RESULTS.md): about 19 us
// and 164k instructions per email on one core, 2.7 times the 20,000/s target; 60% of it is
// the scanner's word loop and lexicon lookups, 10% the deadline search.

#include "analyser/local.hpp"

#include "analyser/dates.hpp"
#include "analyser/lexicon.hpp"
#include "analyser/scanner.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <utility>

namespace mp::analyser {

namespace {

namespace lx = lexicon;
namespace chr = std::chrono;
using lx::Category;
using text::Scores;
using text::Sentence;

constexpr float k_subject_weight = 2;
constexpr float k_min_category_score = 2.5f;
constexpr std::size_t k_max_summary = 300;
constexpr std::size_t k_max_actions = 8;
constexpr std::size_t k_max_action_text = 300;

/// Per-thread buffers, grown to the largest email seen and reused.
struct Workspace {
  std::string lower;
  std::string sender;
  std::vector<Sentence> sentences;
  std::vector<std::uint8_t> counts;
  std::vector<std::pair<float, std::uint32_t>> ranked;
};

float& score_of(Scores& s, Category c) {
  return s.category[static_cast<std::size_t>(c)];
}
bool has(std::uint32_t flags, std::uint32_t f) {
  return (flags & f) != 0;
}
double round2(double v) {
  return std::round(v * 100) / 100;
}

void read_sender(std::string_view sender, Workspace& ws, Scores& scores) {
  text::lower_into(sender, ws.sender);
  for (const auto& cue : lx::sender_cues()) {
    if (ws.sender.find(cue.needle) != std::string::npos) {
      score_of(scores, cue.category) += cue.weight;
      scores.automated = scores.automated || cue.automated;
    }
  }
}

struct Verdict {
  Category category = Category::other;
  double confidence = 0;
};

/// The adjustments of the file comment that need the whole email's scores.
void adjust(Scores& s) {
  if (score_of(s, Category::spam) >= 3 && s.bait > 0) {
    score_of(s, Category::spam) += 1.5f * static_cast<float>(std::min(s.bait, 3));
  }
  if (s.exclaims >= 3) {
    score_of(s, Category::spam) += 0.5f;
    score_of(s, Category::promotion) += 0.5f;
  }
  if (s.automated) {
    score_of(s, Category::personal) -= 2;
    score_of(s, Category::work) -= 1;
  }
}

Verdict classify(Scores& s) {
  adjust(s);
  std::size_t best = 0;
  float s1 = 0, s2 = 0;
  for (std::size_t c = 0; c + 1 < lx::k_categories; ++c) { // the last, "other", scores nothing
    const float v = std::max(0.0f, s.category[c]);
    if (v > s1) {
      s2 = s1;
      s1 = v;
      best = c;
    } else if (v > s2) {
      s2 = v;
    }
  }
  if (s1 < k_min_category_score) {
    return {Category::other, round2(0.4 + 0.4 * (1 - s1 / k_min_category_score))};
  }
  const double evidence = 1 - std::exp(-s1 / 4.0);
  return {static_cast<Category>(best), round2(evidence * (0.5 + 0.5 * (s1 - s2) / s1))};
}

bool automated_category(Category c) {
  return c == Category::newsletter || c == Category::promotion || c == Category::spam ||
         c == Category::notification;
}

std::string_view urgency_of(Category c, const Scores& s, std::optional<int> soonest_due) {
  float u = s.urgency;
  if (soonest_due) {
    u += *soonest_due <= 0 ? 2.0f : *soonest_due == 1 ? 1.0f : *soonest_due <= 3 ? 0.5f : 0.0f;
  }
  if (c == Category::spam || c == Category::newsletter) {
    return "background";
  }
  if (c == Category::promotion) {
    return "low";
  }
  if (u >= 6) {
    return "urgent";
  }
  if (u >= 3) {
    return "high";
  }
  return (c == Category::notification || u <= -1.5f) ? "low" : "normal";
}

bool needs_reply(Category c, const Scores& s, std::span<const Sentence> sentences) {
  if (s.automated || automated_category(c)) {
    return false;
  }
  float score = has(s.flags, lx::f_no_reply) ? -3.0f : 0.0f;
  for (const Sentence& x : sentences) {
    const bool to_reader = has(x.flags, lx::f_you | text::k_opens_question) || x.words <= 3;
    if (has(x.flags, lx::f_boiler)) {
      continue;
    }
    if (has(x.flags, text::k_question) && to_reader) {
      score += 2;
    } else if (has(x.flags, lx::f_reply) && !has(x.flags, lx::f_not_request)) {
      score += 2;
    }
  }
  return score >= 2;
}

constexpr std::array<bool, 256> k_blank = [] {
  std::array<bool, 256> t{};
  for (const unsigned char c : {' ', '\n', '\t', '\r', '\f', '\v'}) {
    t[c] = true;
  }
  return t;
}();

bool is_blank(char c) {
  return k_blank[static_cast<unsigned char>(c)];
}

/// Appends `in` with every whitespace run as one space, no leading or trailing space.
void append_collapsed(std::string& out, std::string_view in) {
  for (std::size_t i = 0; i < in.size();) {
    while (i < in.size() && is_blank(in[i])) {
      ++i;
    }
    std::size_t e = i;
    while (e < in.size() && !is_blank(in[e])) {
      ++e;
    }
    if (e > i) {
      out.append(out.empty() ? "" : " ").append(in.substr(i, e - i));
    }
    i = e;
  }
}

/// Cuts `s` to at most `max` bytes at a space, marking the cut with "...".
void clip(std::string& s, std::size_t max) {
  if (s.size() <= max) {
    return;
  }
  const std::size_t cut = s.rfind(' ', max - 3);
  s.resize(cut == std::string::npos || cut == 0 ? max - 3 : cut);
  s += "...";
}

/// The sentence's last non-space character.
char last_char(const Sentence& s, std::string_view content) {
  std::size_t e = s.end;
  while (e > s.begin + 1 && (content[e - 1] == ' ' || content[e - 1] == '\t' || content[e - 1] == '\r')) {
    --e;
  }
  return content[e - 1];
}

bool summarisable(const Sentence& s, std::string_view content) {
  const bool lead_in = last_char(s, content) == ':'; // "Highlights from the blog:" introduces a list
  return !lead_in && !has(s.flags, lx::f_boiler) && s.words >= 3 &&
         !(has(s.flags, lx::f_greeting) && s.words <= 5);
}

float salience(const Sentence& s, std::string_view content, std::size_t rank, Category best) {
  float v = 0;
  for (std::size_t c = 0; c < lx::k_categories; ++c) {
    v += s.category[c] * (c == static_cast<std::size_t>(best) ? 1.0f : 0.3f);
  }
  v += 0.8f * std::abs(s.urgency);
  v += has(s.flags, lx::f_request | lx::f_please | text::k_opens_imperative) ? 1.5f : 0.0f;
  v += has(s.flags, text::k_question) ? 0.5f : 0.0f;
  v += rank == 0 ? 1.0f : rank == 1 ? 0.5f : 0.0f;
  v += 0.05f * static_cast<float>(std::min(s.words, 20u));
  const char last = last_char(s, content);
  const bool fragment = last != '.' && last != '!' && last != '?'; // labels, signatures, headings
  return v * (fragment ? 0.4f : 1.0f) / std::max(1.0f, std::sqrt(static_cast<float>(s.words) / 12.0f));
}

/// Leaves in ws.ranked the sentences the summary keeps (score, index), in their original order.
void pick_summary(std::string_view content, std::span<const Sentence> ss, Category best, Workspace& ws) {
  auto& ranked = ws.ranked;
  ranked.clear();
  for (std::uint32_t i = 0; i < ss.size(); ++i) {
    if (summarisable(ss[i], content)) {
      ranked.emplace_back(salience(ss[i], content, ranked.size(), best), i);
    }
  }
  const std::size_t want = ranked.size() <= 2 ? 1 : ranked.size() <= 6 ? 2 : 3;
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second); // ties: earlier first
  });
  std::size_t kept = 0, length = 0;
  for (std::size_t r = 0; r < ranked.size() && kept < want; ++r) {
    const Sentence& s = ss[ranked[r].second];
    if (kept == 0 || length + 1 + (s.end - s.begin) <= k_max_summary) {
      length += (kept == 0 ? 0 : 1) + (s.end - s.begin);
      ranked[kept++] = ranked[r];
    }
  }
  ranked.resize(kept);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
}

std::string summarise(const Email& email, std::span<const Sentence> ss, Category best, Workspace& ws) {
  pick_summary(email.content, ss, best, ws);
  std::string out;
  out.reserve(k_max_summary + 8);
  if (ws.ranked.empty() && !ss.empty()) {
    ws.ranked.emplace_back(0.0f, 0u); // nothing but greetings: the first of them
  }
  for (const auto& [score, i] : ws.ranked) {
    append_collapsed(out, email.content.substr(ss[i].begin, ss[i].end - ss[i].begin));
  }
  if (out.empty()) {
    append_collapsed(out, email.subject);
  }
  clip(out, k_max_summary);
  return out;
}

struct Actions {
  std::vector<ActionItem> items;
  std::optional<int> soonest; ///< days from today to the nearest due date
};

/// The action item in `s`, if it asks for something (file comment).
std::optional<ActionItem> action_of(std::string_view content, const Sentence& s, chr::sys_days today,
                                    Actions& out) {
  const bool asks =
      has(s.flags, lx::f_request) || (has(s.flags, lx::f_please) && !has(s.flags, lx::f_not_request));
  if (has(s.flags, lx::f_boiler) || (!asks && !has(s.flags, text::k_opens_imperative))) {
    return std::nullopt;
  }
  const std::string_view sentence = content.substr(s.begin, s.end - s.begin);
  const bool dated = has(s.flags, lx::f_date | text::k_has_digit); // else no deadline phrase can match
  const auto due = dated ? find_due_date(sentence, chr::year_month_day{today}) : std::nullopt;
  if (!asks && !due) {
    return std::nullopt;
  }
  const std::uint32_t from = asks ? s.request_at : s.imperative_at;
  ActionItem item;
  item.text.reserve(s.end - from);
  append_collapsed(item.text, content.substr(from, s.end - from));
  clip(item.text, k_max_action_text);
  if (due) {
    const int days = static_cast<int>((chr::sys_days{due->date} - today).count());
    out.soonest = std::min(out.soonest.value_or(days), days);
    item.due = due->iso;
    item.due_text = due->text;
  }
  return item;
}

Actions find_actions(std::string_view content, std::span<const Sentence> ss, Category c,
                     chr::sys_days today) {
  Actions out;
  if (c == Category::spam || c == Category::newsletter || c == Category::promotion) {
    return out;
  }
  for (const Sentence& s : ss) {
    if (out.items.size() == k_max_actions) {
      break;
    }
    if (auto item = action_of(content, s, today, out)) {
      out.items.push_back(std::move(*item));
    }
  }
  return out;
}

void set_sentiment(Analysis& a, const Scores& s) {
  const double p = s.positive, n = s.negative;
  a.sentiment_score = round2((p - n) / (p + n + 2));
  a.sentiment = a.sentiment_score >= 0.25 ? "positive" : a.sentiment_score <= -0.25 ? "negative" : "neutral";
}

Workspace& workspace(const lx::Lexicon& lexicon) {
  thread_local Workspace ws;
  ws.counts.assign(lexicon.size(), 0);
  ws.sentences.clear();
  return ws;
}

} // namespace

Analysis analyse(const Email& email, std::chrono::system_clock::time_point now) {
  const lx::Lexicon& lexicon = lx::Lexicon::instance();
  Workspace& ws = workspace(lexicon);
  Scores scores;
  read_sender(email.sender, ws, scores);
  text::lower_into(email.subject, ws.lower);
  text::Scanner(lexicon, scores, ws.counts).scan(email.subject, ws.lower, k_subject_weight, nullptr);
  text::lower_into(email.content, ws.lower);
  text::Scanner(lexicon, scores, ws.counts).scan(email.content, ws.lower, 1, &ws.sentences);

  const auto today = chr::floor<chr::days>(now);
  const Verdict verdict = classify(scores);
  Actions actions = find_actions(email.content, ws.sentences, verdict.category, today);
  Analysis a;
  a.category = std::string(lx::category_name(verdict.category));
  a.confidence = verdict.confidence;
  a.urgency = std::string(urgency_of(verdict.category, scores, actions.soonest));
  a.needs_reply = needs_reply(verdict.category, scores, ws.sentences);
  a.summary = summarise(email, ws.sentences, verdict.category, ws);
  a.action_items = std::move(actions.items);
  set_sentiment(a, scores);
  return a;
}

} // namespace mp::analyser
