// Local analyser throughput: emails per second on one thread, against the target
// of 20,000 per second per core for 2 KB emails.
//
// The emails are generated up front (so generation is not measured) from sentence pools of
// every category, with names, amounts, dates and order numbers drawn from a seeded RNG:
// 2,000 distinct emails of about 2 KB each, analysed round-robin, so the measurement is
// not one string staying hot in the cache. Usage: mp-bench-analyser [--seconds 3]
// [--emails 2000] [--size 2048].

#include "analyser/local.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr double k_target_per_second = 20'000;

struct Options {
  double seconds = 3;
  std::size_t emails = 2000;
  std::size_t size = 2048;
};

struct Pool {
  std::vector<std::string_view> subjects;
  std::vector<std::string_view> senders;
  std::vector<std::string_view> sentences;
};

// {n} is a name, {d} a number, {w} a weekday, {m} a month day.
const std::vector<Pool>& pools() {
  static const std::vector<Pool> k_pools = {
      {{"Q{d} roadmap review", "Notes from the {w} sync", "Draft proposal for {n}"},
       {"{n} <{n}@northwind.io>"},
       {"Could you update the project timeline before the meeting on {w}?",
        "The client asked for the revised budget and the slides by {m}.",
        "We agreed to move the dashboard work to the next sprint.",
        "Please review the draft and send me your comments by {w}.",
        "{n} will present the quarterly report to the leadership team.",
        "The deadline for the deliverables is end of week, so make sure your tasks are updated.",
        "I need you to check the deployment checklist with {n} today."}},
      {{"Dinner on {w}?", "Photos from the weekend", "Birthday party for {n}"},
       {"{n} <{n}{d}@gmail.com>"},
       {"We are having a few friends over for dinner this {w}.", "The kids would love to see you again!",
        "Mom says thank you for the flowers, she loved them.", "Are you free for a hike on the weekend?",
        "Let me know by {w} if you can make it.", "I miss you all and can't wait for the holidays."}},
      {{"This week's digest #{d}", "The Morning Brief: issue {d}"},
       {"The Brief <newsletter@brief{d}.com>"},
       {"Welcome to this week's edition of the newsletter.", "In this issue: {d} stories worth reading.",
        "Read more on our blog, and forward this to a friend.",
        "Our top stories this week cover markets, science and culture.",
        "You are receiving this because you subscribed. Unsubscribe at any time."}},
      {{"{d}% off everything this weekend", "Flash sale ends tonight"},
       {"Outfitters <deals@outfitters{d}.com>"},
       {"Take {d}% off sitewide with code SAVE{d} at checkout.", "Free shipping on orders over ${d}.",
        "This limited time offer ends {w} at midnight.", "Shop now before your favourites sell out!",
        "Members get early access to new arrivals."}},
      {{"Your order #{d} has shipped", "Security alert: new sign-in"},
       {"Shop <no-reply@shop{d}.com>"},
       {"Your package is out for delivery and should arrive {w}.", "Tracking number: 1Z{d}{d}.",
        "We noticed a new sign-in to your account from a Chrome browser.",
        "If this was you, you can ignore this email.", "This is an automated message, please do not reply."}},
      {{"Invoice {d} from Brightline", "Your {m} statement is ready"},
       {"Billing <billing@brightline{d}.co>"},
       {"Please find attached invoice {d} for ${d}.{d}.", "Payment is due by {m}.",
        "Your balance is now ${d}.", "You can pay by bank transfer or credit card.",
        "The transaction will appear on your statement within two days."}},
      {{"Your flight to Lisbon is confirmed", "Hotel reservation {d}"},
       {"SkyWays <reservations@skyways{d}.com>"},
       {"Your flight departs on {m} at {d}:45 from gate B{d}.",
        "Your hotel reservation is confirmed for {d} nights.",
        "Please have your passport ready at the airport.", "Online check-in opens 24 hours before departure.",
        "Add checked baggage or choose your seat in the app."}},
      {{"[Ticket #{d}] Export not working", "Case {d}: replacement"},
       {"Acme Support <support@acme{d}.com>"},
       {"Thanks for contacting support about ticket #{d}.", "Our team was able to reproduce the issue.",
        "A workaround is to clear your cache and try again.",
        "Could you confirm which version you are using?",
        "We are sorry for the inconvenience and will update you soon."}},
      {{"CONGRATULATIONS!!! You have won ${d}", "Your account will be suspended"},
       {"Lottery Board <claims{d}@gmail.com>"},
       {"You have won ${d},000 in our international lottery.",
        "To claim your prize, act now and send your bank details.",
        "Kindly reply with your full name within 24 hours.",
        "A small processing fee is required for the wire transfer.",
        "Click here to verify your account immediately."}},
  };
  return k_pools;
}

constexpr std::array<std::string_view, 8> k_names = {"Priya",  "Marcus", "Elena", "Jordan",
                                                     "Hannah", "Kate",   "Luis",  "Mei"};
constexpr std::array<std::string_view, 5> k_weekdays = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                        "Friday"};
constexpr std::array<std::string_view, 6> k_month_days = {"Dec 3", "December 9th", "Jan 4",
                                                          "12/15", "the 20th",     "3 Dec"};

/// `pattern` with its placeholders filled from `rng`.
std::string fill(std::string_view pattern, std::mt19937& rng) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{' || i + 2 >= pattern.size() || pattern[i + 2] != '}') {
      out += pattern[i];
      continue;
    }
    switch (pattern[i + 1]) {
    case 'n': out += k_names[rng() % k_names.size()]; break;
    case 'd': out += std::to_string(rng() % 990 + 10); break;
    case 'w': out += k_weekdays[rng() % k_weekdays.size()]; break;
    default: out += k_month_days[rng() % k_month_days.size()]; break;
    }
    i += 2;
  }
  return out;
}

struct Generated {
  std::string subject;
  std::string sender;
  std::string content;
};

/// One email of about `size` bytes: mostly its own category's sentences, some of others.
Generated generate(std::size_t size, std::mt19937& rng) {
  const auto& all = pools();
  const Pool& p = all[rng() % all.size()];
  Generated g{fill(p.subjects[rng() % p.subjects.size()], rng), fill(p.senders[0], rng), "Hi,\n\n"};
  while (g.content.size() < size - 120) {
    const Pool& from = rng() % 5 == 0 ? all[rng() % all.size()] : p;
    g.content += fill(from.sentences[rng() % from.sentences.size()], rng);
    g.content += rng() % 4 == 0 ? "\n\n" : " ";
  }
  g.content += "\n\nThanks,\n" + fill("{n}", rng) + "\n";
  return g;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--seconds") {
      o.seconds = std::atof(argv[i + 1]);
    } else if (flag == "--emails") {
      o.emails = static_cast<std::size_t>(std::atol(argv[i + 1]));
    } else if (flag == "--size") {
      o.size = static_cast<std::size_t>(std::atol(argv[i + 1]));
    } else {
      fmt::print(stderr, "mp-bench-analyser: unknown flag {} (--seconds, --emails, --size)\n", flag);
      std::exit(2);
    }
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::mt19937 rng(42);
  std::vector<Generated> emails;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < std::max<std::size_t>(o.emails, 1); ++i) {
    emails.push_back(generate(std::max<std::size_t>(o.size, 256), rng));
    bytes += emails.back().subject.size() + emails.back().content.size();
  }
  const auto now = std::chrono::system_clock::now();
  std::map<std::string, std::size_t> categories;
  for (const auto& e : emails) { // warm-up, and a check that the mix is varied
    ++categories[mp::analyser::analyse({e.subject, e.sender, e.content}, now).category];
  }
  std::size_t done = 0, action_items = 0;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(o.seconds);
  while (Clock::now() < stop) {
    for (std::size_t k = 0; k < 256; ++k, ++done) {
      const auto& e = emails[done % emails.size()];
      action_items += mp::analyser::analyse({e.subject, e.sender, e.content}, now).action_items.size();
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = static_cast<double>(done) / elapsed;
  fmt::print("emails: {} distinct, {} bytes on average; categories:", emails.size(), bytes / emails.size());
  for (const auto& [name, n] : categories) {
    fmt::print(" {} {}", name, n);
  }
  fmt::print("\nanalysed {} emails in {:.2f} s on one thread ({} action items)\n", done, elapsed,
             action_items);
  fmt::print("emails/s: {:.0f}  ({:.0f} us per email, {:.0f} MB/s)\n", rate, 1e6 / rate,
             rate * static_cast<double>(bytes / emails.size()) / 1e6);
  fmt::print("ratio to the 20,000/s target: {:.2f}\n", rate / k_target_per_second);
  return 0;
}
