#include "net/websocket.hpp"
#include "net/ws_frames.hpp"

#include <catch2/catch.hpp>

using namespace mp::net;

namespace {

/// A client frame: masked with a fixed key.
std::string client_frame(unsigned char opcode, std::string_view payload, bool fin = true) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | opcode);
  const std::size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(0x80 | n);
  } else {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  out.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) {
    out += static_cast<char>(payload[i] ^ mask[i & 3]);
  }
  return out;
}

struct Seen {
  std::vector<std::pair<WsInbound::Kind, std::string>> items;
  int code = 0;
  std::string label;
  WsReader::Sink sink() {
    return [this](const WsInbound& in) {
      items.emplace_back(in.kind, std::string(in.payload));
      if (in.kind == WsInbound::Kind::violation) {
        code = in.code;
        label = std::string(in.label);
      }
      return true;
    };
  }
};

} // namespace

TEST_CASE("ws frames: text across reads, fragments around a ping, 16-bit lengths", "[ws]") {
  WsReader r(1 << 16);
  Seen seen;
  const std::string big(300, 'x');
  const std::string bytes =
      client_frame(ws_opcode::text, R"({"op":"ping"})") + client_frame(ws_opcode::text, "frag", false) +
      client_frame(ws_opcode::ping, "p") + client_frame(ws_opcode::continuation, "mented") +
      client_frame(ws_opcode::text, big);
  // One byte at a time: every partial frame is kept until it is whole.
  for (char c : bytes) {
    REQUIRE(r.feed(std::string_view(&c, 1), seen.sink()));
  }
  REQUIRE(seen.items.size() == 4);
  REQUIRE(seen.items[0].second == R"({"op":"ping"})");
  REQUIRE(seen.items[1] == std::pair{WsInbound::Kind::ping, std::string("p")});
  REQUIRE(seen.items[2].second == "fragmented");
  REQUIRE(seen.items[3].second == big);
}

TEST_CASE("ws frames: violations name their close code and stop the reader", "[ws]") {
  auto check = [](const std::string& bytes, int code, std::string_view label, std::size_t max = 100) {
    WsReader r(max);
    Seen seen;
    REQUIRE_FALSE(r.feed(bytes, seen.sink()));
    REQUIRE(seen.code == code);
    REQUIRE(seen.label == label);
    REQUIRE_FALSE(r.feed(client_frame(ws_opcode::text, "after"), seen.sink())); // nothing more is parsed
  };
  std::string unmasked = ws_encode_frame(ws_opcode::text, "hi");
  check(unmasked, ws_close::protocol_error, "protocol");
  check(client_frame(ws_opcode::binary, "b"), ws_close::unsupported_data, "protocol");
  check(client_frame(ws_opcode::text, std::string(101, 'y')), ws_close::too_big, "too_big");
  check(client_frame(ws_opcode::text, "\xff\xfe"), ws_close::invalid_payload, "protocol");
  check(client_frame(ws_opcode::continuation, "c"), ws_close::protocol_error, "protocol");
  check(client_frame(ws_opcode::ping, "p", false), ws_close::protocol_error, "protocol");
  // Fragments count toward the limit together.
  check(client_frame(ws_opcode::text, std::string(60, 'a'), false) +
            client_frame(ws_opcode::continuation, std::string(60, 'b')),
        ws_close::too_big, "too_big");
}

TEST_CASE("ws frames: a close frame ends reading; server frames encode their length", "[ws]") {
  WsReader r(100);
  Seen seen;
  REQUIRE_FALSE(r.feed(client_frame(ws_opcode::close, "\x03\xe8") + client_frame(ws_opcode::text, "late"),
                       seen.sink()));
  REQUIRE(seen.items.size() == 1);
  REQUIRE(seen.items[0].first == WsInbound::Kind::close);
  REQUIRE(ws_encode_frame(ws_opcode::text, "ab") == std::string("\x81\x02"
                                                                "ab",
                                                                4));
  const auto f = ws_encode_frame(ws_opcode::text, std::string(70'000, 'z'));
  REQUIRE(static_cast<unsigned char>(f[1]) == 127);
  REQUIRE(f.size() == 70'000 + 10);
}
