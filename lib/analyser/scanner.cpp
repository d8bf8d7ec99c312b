// The reading pass of the local analyser.
//
// The subject and the content are lower-cased into a thread_local buffer of the same
// length (lower_into: curly apostrophes, dashes, non-breaking spaces, '£' and '€' become
// ASCII of the same byte length, so offsets are shared with the original). One pass then
// hashes each word as its bytes go by and looks it up in the lexicon (lexicon.cpp), an
// open-addressing table of ~1,400 words, phrases and phrase prefixes. Phrases are matched by carrying the
// hashes of the phrase prefixes seen so far ("claim", "claim your") on to the next word, so
// there is no regex, no per-word string and no allocation once a thread's buffers have
// grown. A word is a run of letters, digits and non-ASCII bytes, with an apostrophe inside
// ("don't"); '%', '#' and '$' are words of their own; hyphens separate words.
//
// The same pass cuts sentences at:
//   - '.', '!' or '?' followed by a space, a quote, ')' or the end; not "3.5" or
//     "example.com" (no space after), and not after "e.g", "Dr", "Dec" or an initial;
//   - a line break, unless the line was at least 50 bytes and the next one starts with a
//     lower-case letter (hard-wrapped prose).
// Clauses (for action items: "Hi Sam, could you ...") start after ',', ';' or ':' followed
// by a space. Negation ("not happy") reaches three words forward inside a clause. Lines
// quoted with '>' are skipped, and scanning stops at "... wrote:", "-----Original
// Message-----", an Outlook rule or a "-- " signature line: the rest is earlier mail.

#include "analyser/scanner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mp::analyser::text {

namespace {

namespace lx = lexicon;

enum CharClass : std::uint8_t {
  c_other,
  c_space,
  c_word,
  c_apostrophe,
  c_stop,
  c_clause,
  c_newline,
  c_symbol
};

constexpr std::array<CharClass, 256> k_class = [] {
  std::array<CharClass, 256> t{};
  for (std::size_t c = 0; c < t.size(); ++c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    t[c] = (alnum || c >= 0x80 || c == 0x01) ? c_word : c_other;
  }
  for (const unsigned char c : {' ', '\t', '\r', '\f', '\v'}) {
    t[c] = c_space;
  }
  for (const unsigned char c : {'.', '!', '?'}) {
    t[c] = c_stop;
  }
  for (const unsigned char c : {',', ';', ':'}) {
    t[c] = c_clause;
  }
  for (const unsigned char c : {'%', '#', '$'}) {
    t[c] = c_symbol;
  }
  t['\''] = c_apostrophe;
  t['\n'] = c_newline;
  return t;
}();

constexpr std::size_t k_wrapped_line = 50; ///< a line at least this long may be hard-wrapped prose
constexpr std::uint8_t k_max_repeats = 3;  ///< a term counts at most this often per email

CharClass class_of(char c) {
  return k_class[static_cast<unsigned char>(c)];
}
bool is_letter(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_space(char c) {
  return class_of(c) == c_space || c == '\n';
}

/// Rewrites the non-ASCII character at `i` into `o` at the same offset and byte length;
/// returns that length. Letters are copied (they are part of words).
std::size_t rewrite_unicode(std::string_view in, std::size_t i, char* o) {
  const auto b = [&](std::size_t k) {
    return i + k < in.size() ? static_cast<unsigned char>(in[i + k]) : 0u;
  };
  const auto put = [&](const char* r, std::size_t n) {
    std::memcpy(o + i, r, n);
    return n;
  };
  if (b(0) == 0xE2 && b(1) == 0x80 && b(2) >= 0x80 && b(2) <= 0xBF) {
    switch (b(2)) {
    case 0x99: return put("\x01\x01'", 3); // right single quote: the apostrophe of "don’t"
    case 0xA6: return put("...", 3);
    case 0xA2: return put("*  ", 3); // bullet
    default: return put("   ", 3);   // dashes, other quotes, typographic spaces
    }
  }
  if (b(0) == 0xE2 && b(1) == 0x82 && b(2) == 0xAC) {
    return put("  $", 3);
  }
  if (b(0) == 0xC2 && (b(1) == 0xA0 || b(1) == 0xA3)) {
    return put(b(1) == 0xA0 ? "  " : " $", 2);
  }
  o[i] = in[i];
  return 1;
}

} // namespace

void lower_into(std::string_view in, std::string& out) {
  out.resize(in.size());
  const char* p = in.data();
  char* o = out.data();
  std::uint64_t seen = 0;
  std::size_t i = 0;
  // Eight bytes at a time (GCC 12 does not vectorise the byte loop at -O2): a byte gets 0x20
  // added when it is ASCII and in 'A'..'Z', decided with carries that stay inside each byte.
  constexpr std::uint64_t k_ones = 0x0101010101010101ull;
  for (; i + 8 <= in.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, p + i, 8);
    seen |= x;
    const std::uint64_t low = x & (0x7f * k_ones);
    const std::uint64_t ge_a = low + (0x80 - 'A') * k_ones; // high bit: byte >= 'A'
    const std::uint64_t gt_z = low + (0x7f - 'Z') * k_ones; // high bit: byte > 'Z'
    const std::uint64_t upper = (ge_a ^ gt_z) & ~x & (0x80 * k_ones);
    x ^= upper >> 2;
    std::memcpy(o + i, &x, 8);
  }
  for (; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    seen |= c;
    o[i] = static_cast<char>(c + (static_cast<unsigned char>(c - 'A') < 26 ? 'a' - 'A' : 0));
  }
  if ((seen & (0x80 * k_ones)) == 0) {
    return;
  }
  for (i = 0; i < in.size();) {
    i += static_cast<unsigned char>(p[i]) < 0x80 ? 1 : rewrite_unicode(in, i, o);
  }
}

void Scanner::scan(std::string_view text, std::string_view lower, float weight, std::vector<Sentence>* out) {
  m_orig = text;
  m_text = lower;
  m_weight = weight;
  m_out = out;
  std::size_t i = m_text.starts_with('>') ? std::min(m_text.find('\n'), m_text.size()) : 0; // quoted
  while (i < m_text.size() && !m_stopped) {
    i = step(i);
  }
  close(std::min(i, m_text.size()));
}

std::size_t Scanner::step(std::size_t i) {
  switch (class_of(m_text[i])) {
  case c_word: return word(i);
  case c_symbol: on_word(lx::hash_word(m_text.substr(i, 1)), static_cast<std::uint32_t>(i)); return i + 1;
  case c_stop: return stop(i);
  case c_clause: clause(i); return i + 1;
  case c_newline: return newline(i);
  default: return i + 1;
  }
}

std::size_t Scanner::word(std::size_t i) {
  const std::size_t b = i;
  const char* text = m_text.data();
  const std::size_t n = m_text.size();
  std::uint64_t h = lx::k_seed;
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const CharClass k = k_class[c];
    if (k != c_word && !(k == c_apostrophe && i + 1 < n && is_letter(text[i + 1]))) {
      break;
    }
    h = c == 0x01 ? h : lx::step(h, c);
  }
  m_last_word = m_text.substr(b, i - b);
  on_word(lx::finish(h), static_cast<std::uint32_t>(b));
  m_sentence.flags |= (m_text[b] >= '0' && m_text[b] <= '9') ? k_has_digit : 0;
  return i;
}

void Scanner::on_word(std::uint64_t h, std::uint32_t begin) {
  if (!m_open) {
    m_sentence = Sentence{.begin = begin};
    m_open = true;
  }
  if (m_clause_begin == k_none) {
    m_clause_begin = begin;
    m_clause_words = 0;
  }
  ++m_clause_words;
  ++m_word;
  ++m_sentence.words;
  const Active& active = m_active[m_current];
  Active& next = m_active[m_current ^ 1];
  next.size = 0;
  probe(h, begin, m_word, next);
  for (std::size_t k = 0; k < active.size; ++k) {
    const Prefix& a = active.items[k];
    probe(lx::extend(a.hash, h), a.begin, a.word, next);
  }
  m_current ^= 1;
}

[[gnu::always_inline]] inline void Scanner::probe(std::uint64_t h, std::uint32_t begin, std::uint32_t first,
                                                  Active& next) {
  const lx::Entry* e = m_lex.find(h);
  if (first == m_word) {
    m_last_flags = e != nullptr ? e->flags : 0; // the word itself, for after_abbreviation
  }
  if (e == nullptr) {
    return;
  }
  if (e->flags & lx::f_term) {
    apply(*e, begin, first);
  }
  if ((e->flags & lx::f_prefix) && next.size < next.items.size()) {
    next.items[next.size++] = Prefix{h, begin, first};
  }
}

[[gnu::always_inline]] inline void Scanner::apply(const lx::Entry& e, std::uint32_t begin,
                                                  std::uint32_t first) {
  // A phrase that starts with the negator ("not working") is not negated by it.
  const bool negated = m_negator != 0 && first > m_negator && first - m_negator <= 3;
  if ((e.flags & lx::f_weighted) && m_counts[e.id] < k_max_repeats) {
    ++m_counts[e.id];
    add_weights(e, negated);
  }
  if (e.sentiment != 0) {
    const float boost = (m_intensifier != 0 && first == m_intensifier + 1) ? 1.5f : 1.0f;
    const float v = e.sentiment * boost * (negated ? -0.7f : 1.0f) * m_weight;
    (v > 0 ? m_scores.positive : m_scores.negative) += std::abs(v);
  }
  m_negator = (e.flags & lx::f_negator) ? m_word : m_negator;
  m_intensifier = (e.flags & lx::f_intensifier) ? m_word : m_intensifier;
  mark(e, begin);
}

[[gnu::always_inline]] inline void Scanner::add_weights(const lx::Entry& e, bool negated) {
  for (std::size_t c = 0; c < lx::k_categories; ++c) {
    m_scores.category[c] += e.category[c] * m_weight;
    m_sentence.category[c] += e.category[c];
  }
  const float u = negated ? -0.5f * std::abs(e.urgency) : e.urgency;
  m_scores.urgency += u * m_weight;
  m_sentence.urgency += u;
}

[[gnu::always_inline]] inline void Scanner::mark(const lx::Entry& e, std::uint32_t begin) {
  m_sentence.flags |= e.flags;
  m_scores.flags |= e.flags;
  m_scores.bait += (e.flags & lx::f_bait) ? 1 : 0;
  if ((e.flags & (lx::f_request | lx::f_please)) && m_sentence.request_at == k_none) {
    m_sentence.request_at = m_clause_begin;
  }
  if (begin != m_clause_begin) {
    return;
  }
  m_sentence.flags |= (e.flags & lx::f_question) ? k_opens_question : 0;
  if ((e.flags & lx::f_imperative) && m_sentence.imperative_at == k_none) {
    m_sentence.flags |= k_opens_imperative;
    m_sentence.imperative_at = begin;
  }
}

std::size_t Scanner::stop(std::size_t i) {
  const char c = m_text[i];
  const char next = i + 1 < m_text.size() ? m_text[i + 1] : ' ';
  const bool ends = is_space(next) || next == '"' || next == ')' || next == '\'' || next == '*';
  m_question = m_question || (c == '?' && (ends || next == '!' || next == '?'));
  m_scores.exclaims += c == '!' ? 1 : 0;
  if (ends && !(c == '.' && after_abbreviation(i))) {
    close(i + 1);
  }
  m_active[m_current].size = 0;
  return i + 1;
}

bool Scanner::after_abbreviation(std::size_t dot) const {
  const std::string_view w = m_last_word;
  if (w.data() + w.size() != m_text.data() + dot) {
    return false;
  }
  if (w.size() == 1) {
    return is_letter(w[0]); // "e.g.", "J. Smith"; not "costs 5."
  }
  return (m_last_flags & lx::f_abbreviation) != 0;
}

void Scanner::clause(std::size_t i) {
  const char next = i + 1 < m_text.size() ? m_text[i + 1] : '\n';
  if (!is_space(next)) {
    return; // "1,200", "10:30", "https://"
  }
  if (m_text[i] == ':' && m_last_word == "wrote" && line_ends(i + 1)) {
    m_stopped = true; // "On Monday, Ann wrote:" -- the rest is an earlier mail
  }
  if (m_text[i] == ':' && m_sentence.imperative_at == m_clause_begin && m_clause_words < 3) {
    m_sentence.imperative_at = k_none; // "Check-in: Saturday" is a label, not a request
    m_sentence.flags &= ~k_opens_imperative;
  }
  m_clause_begin = k_none;
  m_active[m_current].size = 0;
  m_negator = 0;
}

bool Scanner::line_ends(std::size_t i) const {
  while (i < m_text.size() && class_of(m_text[i]) == c_space) {
    ++i;
  }
  return i >= m_text.size() || m_text[i] == '\n';
}

std::size_t Scanner::newline(std::size_t i) {
  std::size_t k = i + 1;
  while (k < m_text.size() && class_of(m_text[k]) == c_space) {
    ++k;
  }
  const std::size_t line_length = i - m_line_start;
  m_line_start = k;
  if (k >= m_text.size()) {
    return k;
  }
  if (m_text[k] == '>') {
    close(i);
    return std::min(m_text.find('\n', k), m_text.size());
  }
  if (starts_history(k)) {
    close(i);
    m_stopped = true;
    return k;
  }
  if (line_length < k_wrapped_line || !is_letter(m_orig[k])) {
    close(i);
  }
  return k;
}

bool Scanner::starts_history(std::size_t k) const {
  const std::string_view rest = m_text.substr(k);
  if (rest.starts_with("-----original message") || rest.starts_with("________________")) {
    return true;
  }
  return (rest.starts_with("--") && line_ends(k + 2)) || (rest.starts_with("-- ") && line_ends(k + 3));
}

void Scanner::close(std::size_t end) {
  if (m_open && m_out != nullptr) {
    m_sentence.end = static_cast<std::uint32_t>(end);
    m_sentence.flags |= m_question ? k_question : 0;
    m_out->push_back(m_sentence);
  }
  m_open = false;
  m_question = false;
  m_active[m_current].size = 0;
  m_negator = 0;
  m_intensifier = 0;
  m_clause_begin = k_none;
}

} // namespace mp::analyser::text
