#include "net/ws_frames.hpp"
#include "net/websocket.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

namespace mp::net {

std::string ws_encode_frame(unsigned char opcode, std::string_view payload) {
  std::string out;
  const std::size_t n = payload.size();
  out.reserve(n + 10);
  out += static_cast<char>(0x80 | opcode);
  if (n < 126) {
    out += static_cast<char>(n);
  } else if (n <= 0xffff) {
    out += static_cast<char>(126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) {
      out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
    }
  }
  out.append(payload);
  return out;
}

bool WsReader::violation(const Sink& on, int code, std::string reason, std::string_view label) {
  m_stopped = true;
  WsInbound v;
  v.kind = WsInbound::Kind::violation;
  v.code = code;
  v.reason = std::move(reason);
  v.label = label;
  on(v);
  return false;
}

bool WsReader::feed(std::string_view data, const Sink& on) {
  if (m_stopped) {
    return false; // after a close or a violation: discard
  }
  std::string_view in = data;
  if (!m_in.empty()) {
    m_in.append(data);
    in = m_in;
  }
  std::size_t used = 0;
  while (!m_stopped) {
    const std::size_t n = parse(in.substr(used), on);
    if (n == 0) {
      break;
    }
    used += n;
  }
  if (m_stopped) {
    std::string().swap(m_in);
    return false;
  }
  if (m_in.empty()) {
    m_in.assign(in.substr(used));
  } else {
    m_in.erase(0, used);
  }
  if (m_in.empty() && m_in.capacity() > 256) {
    std::string().swap(m_in);
  }
  return true;
}

// One frame from the front of `in`: its length when whole (and handled), 0 when more
// bytes are needed or reading has stopped.
std::size_t WsReader::parse(std::string_view in, const Sink& on) {
  if (in.size() < 2) {
    return 0;
  }
  const auto b0 = static_cast<unsigned char>(in[0]);
  const auto b1 = static_cast<unsigned char>(in[1]);
  const bool fin = (b0 & 0x80) != 0;
  const unsigned char opcode = b0 & 0x0f;
  if ((b0 & 0x70) != 0) {
    return violation(on, ws_close::protocol_error, "reserved bits set (no extension was negotiated)",
                     "protocol"),
           0;
  }
  if ((b1 & 0x80) == 0) {
    return violation(on, ws_close::protocol_error, "client frames must be masked", "protocol"), 0;
  }
  std::uint64_t len = b1 & 0x7f;
  std::size_t header = 2;
  if (len == 126) {
    if (in.size() < 4) {
      return 0;
    }
    len = (static_cast<std::uint64_t>(static_cast<unsigned char>(in[2])) << 8) |
          static_cast<unsigned char>(in[3]);
    header = 4;
  } else if (len == 127) {
    if (in.size() < 10) {
      return 0;
    }
    len = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      len = (len << 8) | static_cast<unsigned char>(in[2 + i]);
    }
    header = 10;
  }
  const bool control = (opcode & 0x08) != 0;
  if (control && (!fin || len > 125)) {
    return violation(on, ws_close::protocol_error, "control frames must be whole and at most 125 bytes",
                     "protocol"),
           0;
  }
  if (!control && m_message.size() + len > m_max) {
    return violation(on, ws_close::too_big, fmt::format("message over {} bytes", m_max), "too_big"), 0;
  }
  header += 4; // the mask
  if (in.size() < header + len) {
    return 0;
  }
  const char* mask = in.data() + header - 4;
  std::string& payload = m_scratch;
  payload.assign(in.data() + header, static_cast<std::size_t>(len));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
  }
  const std::size_t frame = header + static_cast<std::size_t>(len);
  WsInbound item;
  switch (opcode) {
  case ws_opcode::ping:
  case ws_opcode::pong:
  case ws_opcode::close:
    item.kind = opcode == ws_opcode::ping   ? WsInbound::Kind::ping
                : opcode == ws_opcode::pong ? WsInbound::Kind::pong
                                            : WsInbound::Kind::close;
    item.payload = payload;
    m_stopped = m_stopped || item.kind == WsInbound::Kind::close;
    if (!on(item)) {
      m_stopped = true;
    }
    return frame;
  case ws_opcode::binary:
    return violation(on, ws_close::unsupported_data, "binary frames are not supported: send JSON text",
                     "protocol"),
           0;
  case ws_opcode::text:
  case ws_opcode::continuation: break;
  default: return violation(on, ws_close::protocol_error, "unknown opcode", "protocol"), 0;
  }
  if ((opcode == ws_opcode::text) == m_in_fragment) {
    return violation(on, ws_close::protocol_error,
                     m_in_fragment ? "a new message began inside a fragmented one"
                                   : "continuation without a message",
                     "protocol"),
           0;
  }
  if (!fin) {
    m_in_fragment = true;
    m_message.append(payload);
    return frame;
  }
  std::string_view text = payload;
  if (m_in_fragment) {
    m_message.append(payload);
    text = m_message;
  }
  if (util::invalid_utf8_at(text)) {
    return violation(on, ws_close::invalid_payload, "text frames must be UTF-8", "protocol"), 0;
  }
  item.kind = WsInbound::Kind::text;
  item.payload = text;
  if (!on(item)) {
    m_stopped = true;
  }
  m_in_fragment = false;
  m_message.clear();
  if (m_message.capacity() > 4096) {
    std::string().swap(m_message);
  }
  if (m_scratch.capacity() > 4096) {
    std::string().swap(m_scratch);
  }
  return frame;
}

} // namespace mp::net
