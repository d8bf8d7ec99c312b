#pragma once
// The local analyser's reading pass: lower-casing, word lookup and sentence cutting in one
// pass over the text, so the decisions in local.cpp work on scores and sentence records
// instead of strings. Internal to lib/analyser; how it reads is explained in scanner.cpp.

#include "analyser/lexicon.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mp::analyser::text {

inline constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();

// Sentence properties, in the bits above the lexicon's flags.
inline constexpr std::uint32_t k_question = 1u << 24;         ///< ends with '?'
inline constexpr std::uint32_t k_opens_question = 1u << 25;   ///< a clause opens with "can", "when", ...
inline constexpr std::uint32_t k_opens_imperative = 1u << 26; ///< a clause opens with "send", "review", ...
inline constexpr std::uint32_t k_has_digit = 1u << 27;        ///< a word starts with a digit

/// A sentence of the content, as offsets into it and what its terms said.
struct Sentence {
  std::uint32_t begin = 0;              ///< offset of the first word
  std::uint32_t end = 0;                ///< one past the closing punctuation
  std::uint32_t request_at = k_none;    ///< start of the clause holding the first request
  std::uint32_t imperative_at = k_none; ///< start of the first clause opened by an imperative
  std::uint32_t words = 0;
  std::uint32_t flags = 0; ///< lexicon::Flag of its terms, and the k_ bits above
  std::array<float, lexicon::k_categories> category{};
  float urgency = 0;
};

/// What the whole email's terms added up to.
struct Scores {
  std::array<float, lexicon::k_categories> category{};
  float urgency = 0;
  float positive = 0;
  float negative = 0;
  int bait = 0;            ///< pieces of urgency bait
  int exclaims = 0;        ///< '!' in subject and content
  std::uint32_t flags = 0; ///< lexicon flags seen anywhere
  bool automated = false;  ///< the sender reads no replies
};

/// Lower-cases ASCII into `out` and rewrites the Unicode punctuation mail uses (curly
/// apostrophe, dashes, quotes, bullets, non-breaking space, '£', '€') into ASCII of the same
/// byte length, so an offset in `out` is the same offset in `in`.
void lower_into(std::string_view in, std::string& out);

/// One pass over one region of an email (subject or content). Not thread-safe; one per
/// region, on the stack.
class Scanner {
public:
  /// Adds to `scores`; `counts` (one per lexicon entry, zeroed per email) caps repeats.
  Scanner(const lexicon::Lexicon& lexicon, Scores& scores, std::span<std::uint8_t> counts)
      : m_lex(lexicon), m_scores(scores), m_counts(counts) {}

  /// Scans `text`, given with its lower_into copy; every term found counts `weight` times.
  /// Sentences are appended to `out` unless it is null.
  void scan(std::string_view text, std::string_view lower, float weight, std::vector<Sentence>* out);

private:
  /// Phrase prefixes seen so far that the next word may continue.
  struct Prefix {
    std::uint64_t hash;
    std::uint32_t begin; ///< offset of its first word
    std::uint32_t word;  ///< index of its first word
  };
  /// Left uninitialised: only the first `size` are read, and it is rebuilt for every word.
  struct Active {
    std::array<Prefix, 6> items;
    std::size_t size = 0;
  };

  std::size_t step(std::size_t i);
  std::size_t word(std::size_t i);
  void on_word(std::uint64_t h, std::uint32_t begin);
  void probe(std::uint64_t h, std::uint32_t begin, std::uint32_t first, Active& next);
  void apply(const lexicon::Entry& e, std::uint32_t begin, std::uint32_t first);
  void add_weights(const lexicon::Entry& e, bool negated);
  void mark(const lexicon::Entry& e, std::uint32_t begin);
  std::size_t stop(std::size_t i);
  bool after_abbreviation(std::size_t dot) const;
  void clause(std::size_t i);
  bool line_ends(std::size_t i) const;
  std::size_t newline(std::size_t i);
  bool starts_history(std::size_t k) const;
  void close(std::size_t end);

  const lexicon::Lexicon& m_lex;
  Scores& m_scores;
  std::span<std::uint8_t> m_counts;
  std::string_view m_orig;
  std::string_view m_text; ///< the lower-cased copy
  std::vector<Sentence>* m_out = nullptr;
  float m_weight = 1;
  Sentence m_sentence; ///< the open one
  bool m_open = false;
  bool m_question = false;
  bool m_stopped = false;         ///< the rest is quoted history or a signature
  std::array<Active, 2> m_active; ///< the current word's prefixes, and the next word's
  std::size_t m_current = 0;      ///< which of m_active is the current word's
  std::string_view m_last_word;
  std::uint32_t m_last_flags = 0;  ///< lexicon flags of the last word alone
  std::uint32_t m_word = 0;        ///< 1-based index of the current word
  std::uint32_t m_negator = 0;     ///< index of the last negator in this clause, 0 for none
  std::uint32_t m_intensifier = 0; ///< index of the last intensifier, 0 for none
  std::uint32_t m_clause_begin = k_none;
  std::uint32_t m_clause_words = 0;
  std::size_t m_line_start = 0;
};

} // namespace mp::analyser::text
