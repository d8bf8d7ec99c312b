#include "push/event.hpp"
#include "push/hub.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <charconv>
#include <random>

namespace mp::push {

namespace {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

std::optional<std::uint64_t> to_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

} // namespace

EventParts event_parts(std::string_view topic, std::string_view type, int priority, double ts,
                       std::string_view data_json) {
  priority = std::clamp(priority, 0, static_cast<int>(k_priorities.size()) - 1);
  EventParts p;
  p.head = R"(","type":)";
  p.head += util::json_quote(type);
  p.head += R"(,"topic":)";
  p.head += util::json_quote(topic);
  p.head += R"(,"epoch":")";
  p.tail.reserve(64 + data_json.size());
  p.tail = R"(,"priority":")";
  p.tail += k_priorities[static_cast<std::size_t>(priority)];
  p.tail += R"(","ts":)";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ts, std::chars_format::fixed, 6);
  p.tail.append(buf, end);
  p.tail += R"(,"data":)";
  p.tail += data_json;
  p.tail += '}';
  return p;
}

std::string join_event(const EventParts& parts, std::string_view epoch, std::uint64_t seq) {
  std::string json;
  json.reserve(32 + 2 * epoch.size() + parts.head.size() + parts.tail.size());
  json += R"({"id":")";
  json += epoch;
  json += ':';
  append_uint(json, seq);
  json += parts.head;
  json += epoch;
  json += R"(","seq":)";
  append_uint(json, seq);
  json += parts.tail;
  return json;
}

std::string gap_notice(std::string_view topic, std::string_view epoch, std::uint64_t from_seq,
                       std::uint64_t to_seq, std::string_view reason) {
  std::string gap = R"({"type":"gap","topic":)";
  gap += util::json_quote(topic);
  gap += R"(,"epoch":")";
  gap += epoch;
  gap += R"(","from_seq":)";
  append_uint(gap, from_seq);
  gap += R"(,"to_seq":)";
  append_uint(gap, to_seq);
  gap += R"(,"reason":")";
  gap += reason;
  gap += R"("})";
  return gap;
}

std::optional<ChannelMessage> parse_channel_message(std::string_view text) {
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view header = text.substr(0, nl);
  std::string_view fields[4];
  for (int i = 0; i < 4; ++i) {
    const auto sp = header.find(' ');
    fields[i] = header.substr(0, sp);
    if (fields[i].empty() || (i < 3) == (sp == std::string_view::npos)) {
      return std::nullopt;
    }
    header.remove_prefix(sp == std::string_view::npos ? header.size() : sp + 1);
  }
  const auto seq = to_uint(fields[2]);
  const auto priority = to_uint(fields[3]);
  if (!seq || !priority || *priority >= k_priorities.size()) {
    return std::nullopt;
  }
  return ChannelMessage{fields[0], fields[1], *seq, static_cast<int>(*priority), text.substr(nl + 1)};
}

std::string channel_message(std::string_view instance, std::string_view epoch, std::uint64_t seq,
                            int priority, std::string_view json) {
  std::string out(instance);
  out += ' ';
  out += epoch;
  out += ' ';
  append_uint(out, seq);
  out += ' ';
  append_uint(out, static_cast<std::uint64_t>(priority));
  out += '\n';
  out += json;
  return out;
}

std::string random_id() {
  static constexpr char k_hex[] = "0123456789abcdef";
  // Seeded once per thread: std::random_device per call cost 7% of mp-serve's CPU when every
  // publish through Redis asked for a candidate epoch (its set-up runs cpuid, slow on a VM).
  thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) |
                                   std::random_device{}()};
  std::uint64_t v = rng();
  std::string out(8, '0');
  for (auto& c : out) {
    c = k_hex[v & 0xf];
    v >>= 4;
  }
  return out;
}

} // namespace mp::push
