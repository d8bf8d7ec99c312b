#include "bench/ws_run.hpp"
#include "bench/ws_wire.hpp"
#include "bench/ws_worker.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace mp::bench::ws;

namespace {

std::optional<std::int64_t> ts_of(std::string_view text) {
  return parse_ts(text.data(), text.data() + text.size());
}

std::optional<std::uint64_t> number_in(std::string_view text, std::string_view key) {
  return number_after(text.data(), text.data() + text.size(), key);
}

} // namespace

TEST_CASE("ws wire: split_url takes host, port and target", "[bench]") {
  auto u = split_url("ws://127.0.0.1:8002/ws?token=k&topics=a", "ws");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8002);
  CHECK(u->target == "/ws?token=k&topics=a");

  u = split_url("ws://example.org", "ws");
  REQUIRE(u);
  CHECK(u->port == 80);
  CHECK(u->target == "/");

  u = split_url("ws://h:1?x=1", "ws");
  REQUIRE(u);
  CHECK(u->target == "/?x=1");

  CHECK_FALSE(split_url("http://h:1/", "ws"));
  CHECK_FALSE(split_url("ws:/h:1/", "ws"));
  CHECK_FALSE(split_url("ws://h:port/", "ws"));
  CHECK_FALSE(split_url("ws://h:99999/", "ws"));
  CHECK_FALSE(split_url("ws://h:80x/", "ws"));
  CHECK_FALSE(split_url("ws://:80/", "ws"));
}

TEST_CASE("ws wire: parse_url resolves a loopback address", "[bench]") {
  const auto u = parse_url("ws://127.0.0.1:9/x", "ws");
  REQUIRE(u);
  CHECK(ntohs(u->addr.sin_port) == 9);
  CHECK(ntohl(u->addr.sin_addr.s_addr) == 0x7f000001u);
}

TEST_CASE("ws wire: query parameters are found and added", "[bench]") {
  CHECK(has_query_param("ws://h/ws?token=a&topics=b", "topics"));
  CHECK(has_query_param("ws://h/ws?token=a", "token"));
  CHECK_FALSE(has_query_param("ws://h/ws?tokens=a", "token"));
  CHECK_FALSE(has_query_param("ws://h/ws", "token"));
  CHECK(with_query_param("ws://h/ws", "token", "k1") == "ws://h/ws?token=k1");
  CHECK(with_query_param("ws://h/ws?a=1", "token", "k 1/+") == "ws://h/ws?a=1&token=k%201%2F%2B");
  CHECK(with_query_param("ws://h/ws?", "t", "x") == "ws://h/ws?t=x");
}

TEST_CASE("ws wire: the broadcast URL defaults to the ws URL's server", "[bench]") {
  CHECK(broadcast_url("ws://127.0.0.1:8002/ws?topics=a", "") == "http://127.0.0.1:8002/api/ws/broadcast");
  CHECK(broadcast_url("ws://h/ws", "") == "http://h:80/api/ws/broadcast");
  CHECK(broadcast_url("", "http://h:9") == "http://h:9/api/ws/broadcast");
  CHECK(broadcast_url("", "http://h:9/") == "http://h:9/api/ws/broadcast");
  CHECK(broadcast_url("", "http://h:9/other/path") == "http://h:9/other/path");
  CHECK(broadcast_url("not a url", "").empty());
}

TEST_CASE("ws wire: the connect URL gets the token and topic it lacks", "[bench]") {
  mp::bench::WsRunOptions opt;
  opt.url = "ws://h:1/ws";
  opt.token = "secret";
  CHECK(mp::bench::ws_connect_url(opt) == "ws://h:1/ws?token=secret&topics=email_updates");
  opt.url = "ws://h:1/ws?token=mine&topics=x,y";
  CHECK(mp::bench::ws_connect_url(opt) == opt.url);
  opt.url = "ws://h:1/ws";
  opt.token.clear();
  opt.topic.clear();
  CHECK(mp::bench::ws_connect_url(opt) == "ws://h:1/ws");
}

TEST_CASE("ws wire: accept_for follows RFC 6455's example", "[bench]") {
  // RFC 6455 section 1.3.
  CHECK(accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const unsigned char bytes[] = {'f', 'o', 'o', 'b'};
  CHECK(base64(bytes, 4) == "Zm9vYg==");
}

TEST_CASE("ws wire: parse_ts reads Unix seconds to nanoseconds", "[bench]") {
  CHECK(ts_of("1796123563.261,\"x\"") == std::int64_t{1796123563'261000000});
  CHECK(ts_of("1796123563.123456789123}") == std::int64_t{1796123563'123456789});
  CHECK(ts_of("17}") == std::int64_t{17'000000000});
  CHECK(ts_of("0.5") == std::int64_t{500000000});
  CHECK_FALSE(ts_of("x1.5"));
  CHECK_FALSE(ts_of(""));
}

TEST_CASE("ws wire: number_after finds a key's unsigned value", "[bench]") {
  CHECK(number_in(R"({"type":"dropped","count": 42})", "\"count\":") == 42u);
  CHECK(number_in(R"({"seq":7,"ts":1.5})", "\"seq\":") == 7u);
  CHECK_FALSE(number_in(R"({"seq":"7"})", "\"seq\":"));
  CHECK_FALSE(number_in(R"({"other":1})", "\"seq\":"));
}

TEST_CASE("ws wire: failure reasons map to mp-bench's kinds", "[bench]") {
  CHECK(failure_kind("connect_ECONNREFUSED") == "connect_refused");
  CHECK(failure_kind("connect_ETIMEDOUT") == "connect_error");
  CHECK(failure_kind("socket_EMFILE") == "connect_error");
  CHECK(failure_kind("status_401") == "handshake_status_401");
  CHECK(failure_kind("timeout_upgrade") == "timeout");
  CHECK(failure_kind("not_ready_at_end") == "timeout");
  CHECK(failure_kind("closed_4001") == "closed");
  CHECK(failure_kind("eof_before_ready") == "closed");
  CHECK(failure_kind("read_error_before_ready") == "read_error");
  CHECK(failure_kind("bad_accept") == "protocol");
  CHECK(failure_kind("after_ready_masked_server_frame") == "protocol");
}

TEST_CASE("ws run: bad options are usage errors", "[bench]") {
  std::atomic<bool> stop{false};
  mp::bench::WsRunOptions opt;
  opt.url = "http://127.0.0.1:1/ws";
  auto r = mp::bench::run_ws(opt, {}, stop);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mp::Errc::usage);
  opt.url = "ws://127.0.0.1:1/ws";
  opt.connections = 0;
  r = mp::bench::run_ws(opt, {}, stop);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mp::Errc::usage);
}

TEST_CASE("ws run: nothing listening is unavailable", "[bench]") {
  std::atomic<bool> stop{false};
  mp::bench::WsRunOptions opt;
  opt.url = "ws://127.0.0.1:1/ws"; // port 1: nothing listens on loopback
  opt.connections = 3;
  opt.publish_rate = 0;
  opt.duration_s = 0;
  const auto r = mp::bench::run_ws(opt, {}, stop);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mp::Errc::unavailable);
  CHECK(r.error().message.find("connect_refused 3") != std::string::npos);
}
