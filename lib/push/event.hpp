#pragma once
// The bytes of a push event, and of one crossing instances through Redis.
//
// An event is `{"id":"E:S","type":…,"topic":…,"epoch":"E","seq":S,"priority":…,"ts":…,"data":…}`.
// Only the epoch E and the sequence S depend on where it is numbered (the local hub, or
// the Redis script), so the rest is encoded once as two parts around them; whoever
// numbers it joins the parts (Lua's `..` does the same join in Redis).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::push {

/// The parts of an event around its epoch and sequence:
/// `{"id":"` E `:` S head E `","seq":` S tail.
struct EventParts {
  std::string head; ///< `","type":…,"topic":…,"epoch":"`
  std::string tail; ///< `,"priority":…,"ts":…,"data":…}`
};

/// `data_json` must be valid JSON; `priority` an index of k_priorities (clamped).
EventParts event_parts(std::string_view topic, std::string_view type, int priority, double ts,
                       std::string_view data_json);

/// The event's JSON for `epoch` and `seq`.
std::string join_event(const EventParts& parts, std::string_view epoch, std::uint64_t seq);

/// `{"type":"gap","topic":…,"epoch":…,"from_seq":…,"to_seq":…,"reason":…}`.
std::string gap_notice(std::string_view topic, std::string_view epoch, std::uint64_t from_seq,
                       std::uint64_t to_seq, std::string_view reason);

/// An event as it travels on the channel `mp:ws:ev:<topic>`:
/// `<instance> <epoch> <seq> <priority>\n<event JSON>`. A header line, so receivers
/// need not parse the JSON to place it.
struct ChannelMessage {
  std::string_view instance;
  std::string_view epoch;
  std::uint64_t seq = 0;
  int priority = 2;
  std::string_view json;
};

/// Parses a channel message (views into `text`); nullopt when malformed.
std::optional<ChannelMessage> parse_channel_message(std::string_view text);

/// The channel message for an event (what the publish script builds; for tests).
std::string channel_message(std::string_view instance, std::string_view epoch, std::uint64_t seq,
                            int priority, std::string_view json);

/// A random 8-hex-digit id (epochs, instance ids).
std::string random_id();

} // namespace mp::push
