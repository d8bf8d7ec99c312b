// Request sources: fixed, from a file, and mp-serve's AI API (workload.hpp).

#include "bench/workload.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <charconv>
#include <fmt/format.h>
#include <fstream>

namespace mp::bench {

namespace {

class FixedSource final : public RequestSource {
public:
  FixedSource(std::vector<std::string> requests, bool head) : m_requests(std::move(requests)), m_head(head) {}
  std::string_view next() override {
    const std::string& r = m_requests[m_next];
    m_next = m_next + 1 == m_requests.size() ? 0 : m_next + 1;
    return r;
  }
  [[nodiscard]] bool head() const override { return m_head; }
  [[nodiscard]] std::unique_ptr<RequestSource> clone(std::uint64_t seed) const override {
    auto c = std::make_unique<FixedSource>(m_requests, m_head);
    c->m_next = seed % m_requests.size(); // threads start at different lines of a file
    return c;
  }

private:
  std::vector<std::string> m_requests;
  std::size_t m_next = 0;
  bool m_head;
};

// Emails with the shape of an inbox: who, about what, and a body with the phrases the
// analyser looks for (deadlines, questions, money, meetings), varied by the id so that
// every id is a distinct cache key.
struct Template {
  const char* sender;
  const char* subject;
  const char* content;
};
constexpr Template k_templates[] = {
    {"alice@example.com", "Q4 report sections",
     "Hi team, please send me your sections of the Q4 report by Friday. Can you also confirm the budget "
     "numbers "
     "are final? Thanks, Alice"},
    {"billing@vendor.example", "Invoice {} is due",
     "Your invoice {} for $1,240.00 is due on the 15th. Please arrange payment to avoid a late fee. Reply to "
     "this "
     "email if you have questions about the charges."},
    {"ops-alerts@example.com", "URGENT: production database latency",
     "Incident {}: p99 latency on the primary database crossed 2 s at 03:12 UTC. On-call, please acknowledge "
     "within 15 minutes and join the bridge. Customers are affected."},
    {"newsletter@weekly.example", "This week in engineering #{}",
     "Top stories this week: a deep dive on caching, our new hiring process, and a recap of the offsite. "
     "Unsubscribe at any time from the preferences page."},
    {"bob@example.com", "Lunch on Thursday?",
     "Hey, are you free for lunch on Thursday around 12:30? There is a new ramen place near the office. Let "
     "me "
     "know, Bob ({})"},
    {"calendar@example.com", "Meeting invite: design review {}",
     "You are invited to the design review on Monday at 10:00 in room 4B. Agenda: API changes, migration "
     "plan, "
     "open questions. Please review the document beforehand and add comments."},
    {"hr@example.com", "Action required: benefits enrolment",
     "Open enrolment closes on November 30. Please log in to the portal, choose your plan and confirm your "
     "dependants. Reference {}."},
    {"security@bank.example", "Unusual sign-in attempt",
     "We noticed a sign-in attempt to your account from a new device (ref {}). If this was not you, reset "
     "your "
     "password immediately and contact support."},
    {"carol@partner.example", "Contract renewal terms",
     "Following our call, here are the proposed renewal terms: 24 months, 8% discount, net-45 payment. Could "
     "you "
     "review and send comments by next Wednesday? Draft {} attached."},
    {"noreply@shop.example", "Your order {} has shipped",
     "Good news: your order has shipped and should arrive within 3-5 business days. Track it from your "
     "account "
     "page."},
};

class AiSource final : public RequestSource {
public:
  AiSource(HttpUrl base, AiWorkload w, std::uint64_t thread) : m_base(std::move(base)), m_w(std::move(w)) {
    m_thread = thread;
    m_rng = (thread + 1) * 0x9E3779B97F4A7C15ull;
    m_headers = m_w.extra_headers;
    m_headers.emplace_back("Content-Type: application/json");
    if (!m_w.token.empty()) {
      m_headers.push_back("Authorization: Bearer " + m_w.token);
    }
    double total = 0;
    for (double p : m_w.priority_mix) {
      total += p;
    }
    double acc = 0;
    for (std::size_t i = 0; i < m_cumulative.size(); ++i) {
      acc += total > 0 ? m_w.priority_mix[i] / total : (i == 2 ? 1 : 0);
      m_cumulative[i] = acc;
    }
  }

  std::string_view next() override {
    std::uint64_t id = 0;
    if (m_sent_count > 0 && uniform() < m_w.duplicate_ratio) {
      id =
          m_recent[static_cast<std::size_t>(next_random() % std::min<std::uint64_t>(m_sent_count, k_recent))];
    } else {
      id = (m_counter++ << 6) | (m_thread & 63);
      m_recent[static_cast<std::size_t>(m_sent_count % k_recent)] = id;
      ++m_sent_count;
    }
    // The priority is part of the id's email, so a duplicate is the same request again.
    const double u = static_cast<double>(id % 1000) / 1000.0;
    std::size_t level = 0;
    while (level + 1 < m_cumulative.size() && u >= m_cumulative[level]) {
      ++level;
    }
    static constexpr std::string_view k_names[] = {"urgent", "high", "normal", "low", "background"};
    m_bytes = build_request("POST", m_base, "/api/ai/process", m_headers,
                            ai_email_body(id, k_names[level], m_w.wait_ms));
    return m_bytes;
  }
  [[nodiscard]] std::unique_ptr<RequestSource> clone(std::uint64_t seed) const override {
    return std::make_unique<AiSource>(m_base, m_w, seed);
  }

private:
  static constexpr std::uint64_t k_recent = 1024;
  std::uint64_t next_random() {
    m_rng ^= m_rng << 13;
    m_rng ^= m_rng >> 7;
    m_rng ^= m_rng << 17;
    return m_rng;
  }
  double uniform() { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }

  HttpUrl m_base;
  AiWorkload m_w;
  std::vector<std::string> m_headers;
  std::array<double, 5> m_cumulative{};
  std::array<std::uint64_t, k_recent> m_recent{};
  std::string m_bytes;
  std::uint64_t m_thread = 0, m_rng = 1, m_counter = 1, m_sent_count = 0;
};

} // namespace

std::string ai_email_body(std::uint64_t id, std::string_view priority, std::int64_t wait_ms) {
  const Template& t = k_templates[id % std::size(k_templates)];
  const std::string ref = fmt::format("{}", id);
  auto fill = [&](const char* text) {
    std::string s(text);
    if (auto at = s.find("{}"); at != std::string::npos) {
      s.replace(at, 2, ref);
    } else {
      s += " (" + ref + ")";
    }
    return s;
  };
  static constexpr const char* k_types[] = {"classification", "summary", "action_items", "analysis"};
  std::string body = fmt::format(
      R"({{"email_id":{},"subject":{},"sender":{},"content":{},"request_type":"{}","priority":"{}")", id,
      util::json_quote(fill(t.subject)), util::json_quote(t.sender), util::json_quote(fill(t.content)),
      k_types[(id / std::size(k_templates)) % 4], priority);
  if (wait_ms > 0) {
    body += fmt::format(R"(,"wait_ms":{})", wait_ms);
  }
  body += '}';
  return body;
}

std::unique_ptr<RequestSource> fixed_requests(std::vector<std::string> requests, bool head) {
  return std::make_unique<FixedSource>(std::move(requests), head);
}

Expected<std::array<double, 5>> parse_priority_mix(std::string_view text) {
  static constexpr std::string_view k_names[] = {"urgent", "high", "normal", "low", "background"};
  std::array<double, 5> mix{};
  double total = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = util::trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto eq = part.find('=');
    std::size_t level = std::size(k_names);
    for (std::size_t i = 0; i < std::size(k_names) && eq != std::string_view::npos; ++i) {
      if (util::trim(part.substr(0, eq)) == k_names[i]) {
        level = i;
      }
    }
    double w = -1;
    if (eq != std::string_view::npos) {
      const std::string_view v = util::trim(part.substr(eq + 1));
      std::from_chars(v.data(), v.data() + v.size(), w);
    }
    if (level == std::size(k_names) || w < 0) {
      return fail(Errc::usage,
                  fmt::format("--priority-mix: '{}' is not LEVEL=WEIGHT (levels urgent, high, normal, low, "
                              "background)",
                              part),
                  "--priority-mix");
    }
    mix[level] = w;
    total += w;
  }
  if (total <= 0) {
    return fail(Errc::usage, "--priority-mix: the weights add up to 0", "--priority-mix");
  }
  return mix;
}

std::unique_ptr<RequestSource> ai_requests(const HttpUrl& base, const AiWorkload& w) {
  return std::make_unique<AiSource>(base, w, 0);
}

Expected<std::unique_ptr<RequestSource>> requests_from_file(const std::string& path, const HttpUrl& url,
                                                            const std::vector<std::string>& extra_headers) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::usage, fmt::format("--requests {}: cannot read it", path), "--requests");
  }
  std::vector<std::string> out;
  bool all_head = true;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (util::trim(line).empty()) {
      continue;
    }
    auto bad = [&](std::string_view why) {
      return fail(Errc::usage, fmt::format("--requests {}:{}: {}", path, n, why), "--requests");
    };
    auto doc = util::parse_json(line);
    if (!doc || !doc->IsObject()) {
      return bad(doc ? "not a JSON object" : doc.error().message);
    }
    const std::string method(util::get_string(*doc, "method").value_or("GET"));
    std::string target(util::get_string(*doc, "path").value_or(url.target));
    if (auto full = util::get_string(*doc, "url")) {
      auto u = parse_http_url(*full, "url");
      if (!u) {
        return bad(u.error().message);
      }
      target = u->target;
    }
    std::vector<std::string> headers = extra_headers;
    if (auto h = doc->FindMember("headers"); h != doc->MemberEnd()) {
      if (!h->value.IsObject()) {
        return bad("headers must be an object of strings");
      }
      for (const auto& m : h->value.GetObject()) {
        if (!m.value.IsString()) {
          return bad("headers must be an object of strings");
        }
        headers.push_back(fmt::format("{}: {}", m.name.GetString(), m.value.GetString()));
      }
    }
    std::string body;
    if (auto b = doc->FindMember("body"); b != doc->MemberEnd() && !b->value.IsNull()) {
      body = b->value.IsString() ? std::string(b->value.GetString(), b->value.GetStringLength())
                                 : util::to_json(b->value);
    }
    all_head = all_head && method == "HEAD";
    out.push_back(build_request(method, url, target, headers, body));
  }
  if (out.empty()) {
    return fail(Errc::usage, fmt::format("--requests {}: no requests in it", path), "--requests");
  }
  return fixed_requests(std::move(out), all_head);
}

} // namespace mp::bench
