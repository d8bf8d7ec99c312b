#include "bench/http_wire.hpp"
#include "bench/workload.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

using namespace mp::bench;

namespace {
/// Feeds `bytes` in pieces of `step`; returns the parser's last result and the bytes left over.
std::pair<ResponseParser::Result, std::size_t> feed(ResponseParser& p, std::string_view bytes,
                                                    std::size_t step) {
  auto r = ResponseParser::Result::need_more;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t n = std::min(step, bytes.size() - at);
    const char* b = bytes.data() + at;
    const char* e = b + n;
    r = p.feed(b, e);
    at += static_cast<std::size_t>(b - (bytes.data() + at));
    if (r != ResponseParser::Result::need_more) {
      break;
    }
  }
  return {r, bytes.size() - at};
}
} // namespace

TEST_CASE("responses parse whole or cut at any byte", "[bench]") {
  const std::string resp =
      "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello";
  for (std::size_t step : {resp.size(), std::size_t{1}, std::size_t{7}}) {
    ResponseParser p;
    p.reset();
    auto [r, left] = feed(p, resp + "HTTP/1.1", step);
    CHECK(r == ResponseParser::Result::done);
    CHECK(p.status() == 201);
    CHECK(p.keep_alive());
    CHECK(left == 8); // the next response's bytes stay
  }
}

TEST_CASE("chunked bodies, bodiless statuses, close and until-EOF bodies", "[bench]") {
  ResponseParser p;
  p.reset();
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n";
  for (std::size_t step : {chunked.size(), std::size_t{1}, std::size_t{3}}) {
    p.reset();
    auto [r, left] = feed(p, chunked, step);
    CHECK(r == ResponseParser::Result::done);
    CHECK(left == 0);
  }
  p.reset();
  CHECK(feed(p, "HTTP/1.1 204 No Content\r\n\r\n", 100).first == ResponseParser::Result::done);
  p.reset(true); // HEAD: a Content-Length but no body
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 100).first == ResponseParser::Result::done);
  p.reset();
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 100).first ==
        ResponseParser::Result::done);
  CHECK_FALSE(p.keep_alive());
  p.reset();
  CHECK(feed(p, "HTTP/1.0 200 OK\r\n\r\nbody until close", 100).first == ResponseParser::Result::need_more);
  CHECK(p.on_eof() == ResponseParser::Result::done);
  p.reset();
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100).first ==
        ResponseParser::Result::need_more);
  CHECK(p.on_eof() == ResponseParser::Result::error);
}

TEST_CASE("garbage is a protocol error, not a hang", "[bench]") {
  ResponseParser p;
  p.reset();
  CHECK(feed(p, "SSH-2.0-OpenSSH\r\n\r\n", 100).first == ResponseParser::Result::error);
  p.reset();
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", 100).first ==
        ResponseParser::Result::error);
  p.reset();
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100).first ==
        ResponseParser::Result::error);
}

TEST_CASE("URLs and requests", "[bench]") {
  auto u = parse_http_url("http://127.0.0.1:8002/api/x?y=1", "--url");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8002);
  CHECK(u->target == "/api/x?y=1");
  CHECK(parse_http_url("http://[::1]:9/", "--url")->host == "::1");
  CHECK(parse_http_url("http://localhost", "--url")->target == "/");
  auto https = parse_http_url("https://example.com/", "--url");
  REQUIRE_FALSE(https);
  CHECK(https.error().field == "--url");
  CHECK_FALSE(parse_http_url("http://h:99999/", "--url"));
  const auto r = build_request("POST", *u, u->target, {"X-A: 1"}, "{}");
  CHECK(r == "POST /api/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8002\r\nUser-Agent: mp-bench/0.1\r\nX-A: 1\r\n"
             "Content-Length: 2\r\n\r\n{}");
}

TEST_CASE("generated emails are valid JSON requests, distinct per id", "[bench]") {
  const auto a = ai_email_body(1, "urgent", 500);
  const auto b = ai_email_body(2, "normal");
  CHECK(a != b);
  auto doc = mp::util::parse_json(a);
  REQUIRE(doc);
  CHECK(*mp::util::get_string(*doc, "priority") == "urgent");
  CHECK(*mp::util::get_int(*doc, "wait_ms") == 500);
  CHECK(mp::util::get_string(*doc, "content")->find('1') != std::string_view::npos);
  CHECK_FALSE(mp::util::parse_json(b)->HasMember("wait_ms"));
  auto mix = parse_priority_mix("urgent=1,normal=3");
  REQUIRE(mix);
  CHECK((*mix)[0] == 1);
  CHECK((*mix)[2] == 3);
  CHECK_FALSE(parse_priority_mix("urgentt=1"));
  CHECK_FALSE(parse_priority_mix("urgent=0"));
}
