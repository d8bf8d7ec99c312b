#pragma once
// The local analyser's lexicon: every word and phrase it scores, merged into one
// open-addressing hash table keyed by a 64-bit hash of the phrase's words, so the scanner
// in local.cpp looks a word up without building a string. Internal to lib/analyser; the
// weights and their scale are described in lexicon.cpp, how they are used in local.cpp.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mp::analyser::lexicon {

inline constexpr std::size_t k_categories = 10;

/// Index order is the documentation order of analyser::categories().
enum class Category : std::uint8_t {
  work,
  personal,
  newsletter,
  promotion,
  notification,
  finance,
  travel,
  support,
  spam,
  other
};

/// The category's API name ("work", ...).
std::string_view category_name(Category c);

/// What a term says besides its weights.
enum Flag : std::uint32_t {
  f_term = 1u << 0,          ///< a term itself (otherwise only the start of longer phrases)
  f_prefix = 1u << 1,        ///< the first words of at least one longer phrase
  f_request = 1u << 2,       ///< asks the reader to do something: "could you", "make sure"
  f_please = 1u << 3,        ///< "please", "let me know": a request unless f_not_request is seen too
  f_not_request = 1u << 4,   ///< "please find attached", "if you have any questions": courtesy only
  f_reply = 1u << 5,         ///< asks for an answer: "please confirm", "rsvp", "what do you think"
  f_no_reply = 1u << 6,      ///< "fyi", "no need to reply"
  f_boiler = 1u << 7,        ///< footer and legal text: "unsubscribe", "privacy policy"
  f_negator = 1u << 8,       ///< flips the sentiment and urgency of the next three words
  f_intensifier = 1u << 9,   ///< "very": the next word's sentiment counts 1.5 times
  f_question = 1u << 10,     ///< opens a question when first in a clause: "can", "when"
  f_imperative = 1u << 11,   ///< a verb that asks for something when it opens a clause: "send"
  f_greeting = 1u << 12,     ///< "hi", "thanks", "regards": a short sentence of these is not content
  f_you = 1u << 13,          ///< "you", "your": the reader is addressed
  f_bait = 1u << 14,         ///< "act now", "within 24 hours": spam when it meets spam words
  f_date = 1u << 15,         ///< "friday", "tomorrow", "eod": the sentence may name a deadline
  f_weighted = 1u << 16,     ///< has a category or urgency weight (set when the table is built)
  f_abbreviation = 1u << 17, ///< "dr", "mrs", "dec": a '.' after it does not end the sentence
};

struct Entry {
  std::array<float, k_categories> category{}; ///< weight per category, mostly 0
  float urgency = 0;                          ///< > 0 urgent, < 0 relaxed
  float sentiment = 0;                        ///< > 0 positive, < 0 negative
  std::uint32_t flags = 0;
  std::uint32_t id = 0; ///< dense, 0 .. Lexicon::size(): indexes per-email counters
};

// Word hashes. FNV-1a over the word's bytes, where 0x01 (padding the lower-casing pass
// writes) is skipped, then a final mix so the low bits index the table. A phrase's hash
// folds its words' hashes in order. Never 0, which marks an empty slot.
inline constexpr std::uint64_t k_seed = 14695981039346656037ull;
constexpr std::uint64_t step(std::uint64_t h, unsigned char c) {
  return (h ^ c) * 1099511628211ull;
}
constexpr std::uint64_t finish(std::uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h | 1;
}
/// The hash of the phrase `phrase` followed by the word hashed as `word`.
constexpr std::uint64_t extend(std::uint64_t phrase, std::uint64_t word) {
  return finish(phrase * 0x9E3779B97F4A7C15ull + word);
}
/// The hash of one word, as the scanner computes it byte by byte.
constexpr std::uint64_t hash_word(std::string_view w) {
  std::uint64_t h = k_seed;
  for (const char c : w) {
    if (c != '\x01') {
      h = step(h, static_cast<unsigned char>(c));
    }
  }
  return finish(h);
}

/// The merged tables. Immutable once built, so shared by every thread without locks.
class Lexicon {
public:
  /// The one instance, built on first use (thread-safe static initialisation).
  static const Lexicon& instance();

  /// The entry of the word or phrase hashed as `h`, or nullptr.
  const Entry* find(std::uint64_t h) const noexcept {
    const auto tag = static_cast<std::uint32_t>(h >> 32) | 1u;
    for (std::size_t i = h & m_mask;; i = (i + 1) & m_mask) {
      const Slot s = m_slots[i];
      if (s.tag == tag && m_keys[s.index] == h) {
        return &m_entries[s.index];
      }
      if (s.tag == 0) {
        return nullptr;
      }
    }
  }
  /// Number of entries (terms and phrase prefixes).
  std::size_t size() const noexcept { return m_entries.size(); }

private:
  Lexicon();
  /// 8 bytes, so the 4096 slots fit in 32 KiB: the high half of the hash (0 marks an
  /// empty slot) and the entry; the full hash is checked in m_keys only on a tag match.
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = 0;
  };
  using Index = std::unordered_map<std::uint64_t, std::uint32_t>;
  Entry& entry_for(Index& index_of, std::string_view phrase);
  void build_slots();

  std::vector<Entry> m_entries;
  std::vector<std::uint64_t> m_keys; ///< m_keys[i] is the hash of m_entries[i]
  std::vector<Slot> m_slots;
  std::uint64_t m_mask = 0;
};

/// A substring of the lower-cased sender that hints at a category.
struct SenderCue {
  std::string_view needle;
  Category category;
  float weight;
  bool automated; ///< a machine that reads no replies ("no-reply@")
};

std::span<const SenderCue> sender_cues();

} // namespace mp::analyser::lexicon
