#pragma once
// RFC 6455 framing, free of Asio: the server's frames out, the client's frames in.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mp::net {

namespace ws_opcode {
constexpr unsigned char continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10;
} // namespace ws_opcode

/// A server frame (final, unmasked) carrying `payload`.
std::string ws_encode_frame(unsigned char opcode, std::string_view payload);

/// One complete thing a client sent.
struct WsInbound {
  enum class Kind { text, ping, pong, close, violation };
  Kind kind = Kind::text;
  std::string_view payload; ///< text: the whole message (fragments joined); ping, close: the frame's
  int code = 0;             ///< violation: the close code to answer with
  std::string reason;       ///< violation: the close reason
  std::string_view label;   ///< violation: "protocol" or "too_big" (a metric label)
};

/// Parses client frames: masking, 16- and 64-bit lengths, fragmented messages with
/// control frames between them, the message size limit, UTF-8 of text. Between calls
/// it keeps only a partial frame or a fragmented message, so an idle connection's
/// reader holds no buffer.
class WsReader {
public:
  using Sink = std::function<bool(const WsInbound&)>;

  explicit WsReader(std::size_t max_message_bytes) : m_max(max_message_bytes) {}

  /// Feeds bytes. `on` gets each complete item in order and returns false to stop; after
  /// a violation (or a close) nothing more is parsed. Returns false once reading is over.
  bool feed(std::string_view data, const Sink& on);

private:
  std::size_t parse(std::string_view in, const Sink& on);
  bool violation(const Sink& on, int code, std::string reason, std::string_view label);

  std::size_t m_max;
  std::string m_in;      ///< bytes of a frame not yet whole
  std::string m_message; ///< a fragmented message so far
  std::string m_scratch; ///< the frame being handled, unmasked
  bool m_in_fragment = false;
  bool m_stopped = false;
};

} // namespace mp::net
