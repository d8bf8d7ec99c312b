#pragma once
// A WebSocket connection for the push tests: it keeps what it is sent, on "thread" 0.

#include "net/websocket.hpp"
#include "util/json.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mp::testing {

class FakeConn final : public net::WsConnection {
public:
  void send(const net::WsFramePtr& f) override { frames.push_back(f); }
  void close(int, std::string_view) override {}
  [[nodiscard]] std::uint64_t id() const override { return 1; }
  [[nodiscard]] unsigned thread() const override { return 0; }
  [[nodiscard]] void* context() const override { return nullptr; }

  /// The JSON payloads received (server frames: 2- or 4-byte header, unmasked).
  [[nodiscard]] std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& f : frames) {
      const auto len = static_cast<unsigned char>(f->bytes[1]);
      out.push_back(f->bytes.substr(len == 126 ? 4 : 2));
    }
    return out;
  }
  /// The payloads parsed.
  [[nodiscard]] std::vector<rapidjson::Document> docs() const {
    std::vector<rapidjson::Document> out;
    for (const auto& t : texts()) {
      out.push_back(std::move(util::parse_json(t).value()));
    }
    return out;
  }

  std::vector<net::WsFramePtr> frames;
};

} // namespace mp::testing
