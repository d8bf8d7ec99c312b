// beast_ws_client: the Beast WebSocket client that tests/integration/test_ws.py drives.
//
//   beast_ws_client URL [--header 'Name: value']... [--send TEXT]... [--expect N]
//                   [--timeout-ms T] [--read-until-close] [--no-pong]
//                   [--pause-reading-ms T] [--rcvbuf BYTES]
//
// URL is ws://HOST:PORT/PATH?QUERY. It connects, sends each --send as a text frame, then
// reads, printing one JSON object per line on stdout (flushed at once, so a test can
// follow it live):
//
//   {"event":"open"}                                  the upgrade succeeded
//   {"event":"refused","status":401,"body":"..."}     the server answered HTTP instead
//   {"event":"message","data":"<frame text>"}         every text frame (welcome included)
//   {"event":"binary","size":N}                       a binary frame
//   {"event":"close","code":1001,"reason":"..."}      the server's close frame
//   {"event":"eof"} / {"event":"error","message":…}   the connection ended without one
//   {"event":"timeout"}                               --timeout-ms (default 10000) passed
//
// It stops at the close, at the end of the connection, after N text frames (--expect N,
// the welcome counts; it then closes with 1000) or at the timeout.
//
// --pause-reading-ms T stops reading for T ms after the first frame, so the server's send
// queue fills behind a full TCP window (a slow consumer); SIGUSR1 ends the pause at once,
// so a test can resume reading exactly when the server has reacted. --rcvbuf shrinks
// SO_RCVBUF before connecting so that takes less data. --no-pong stops reading for good after the
// first frame: Beast answers pings only from inside a read, so the server's pings go
// unanswered. It then waits, without reading, until the server ends the connection (seen
// as POLLRDHUP), drains what is left (printing it, the close frame if any) and stops.
//
// Exit codes: 0 stopped as asked (N frames, a close frame, a cut seen with --no-pong, or
// the timeout when neither --expect nor --read-until-close was given); 1 refused, could
// not connect, or the connection ended without a close frame; 2 usage; 3 timeout while
// waiting for N frames or the close.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_nothrow = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host;
  std::string port;
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> sends;
  std::optional<long> expect;
  long timeout_ms = 10000;
  bool read_until_close = false;
  bool no_pong = false;
  long pause_reading_ms = 0;
  long rcvbuf = 0;
};

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
  return out;
}

void emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void emit_event(std::string_view event, const std::string& rest = {}) {
  emit("{\"event\":\"" + std::string(event) + "\"" + rest + "}");
}

[[noreturn]] void usage(std::string_view why) {
  std::fprintf(
      stderr,
      "beast_ws_client: %.*s\nusage: beast_ws_client ws://HOST:PORT/PATH [--header 'Name: value']... "
      "[--send TEXT]... [--expect N] [--timeout-ms T] [--read-until-close] [--no-pong] "
      "[--pause-reading-ms T] [--rcvbuf BYTES]\n",
      static_cast<int>(why.size()), why.data());
  std::exit(2);
}

long parse_number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 0) {
    usage(std::string(flag) + " needs a non-negative number");
  }
  return v;
}

void parse_url(std::string_view url, Options& o) {
  constexpr std::string_view scheme = "ws://";
  if (!url.starts_with(scheme)) {
    usage("the URL must start with ws://");
  }
  url.remove_prefix(scheme.size());
  const auto slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    o.target = std::string(url.substr(slash));
  }
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    o.host = std::string(authority);
    o.port = "80";
  } else {
    o.host = std::string(authority.substr(0, colon));
    o.port = std::string(authority.substr(colon + 1));
  }
  if (o.host.starts_with('[') && o.host.ends_with(']')) {
    o.host = o.host.substr(1, o.host.size() - 2);
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        usage(std::string(a) + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--header") {
      const std::string_view h = value();
      const auto colon = h.find(':');
      if (colon == std::string_view::npos) {
        usage("--header needs 'Name: value'");
      }
      std::string_view v = h.substr(colon + 1);
      while (v.starts_with(' ')) {
        v.remove_prefix(1);
      }
      o.headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
    } else if (a == "--send") {
      o.sends.emplace_back(value());
    } else if (a == "--expect") {
      o.expect = parse_number(a, value());
    } else if (a == "--timeout-ms") {
      o.timeout_ms = parse_number(a, value());
    } else if (a == "--pause-reading-ms") {
      o.pause_reading_ms = parse_number(a, value());
    } else if (a == "--rcvbuf") {
      o.rcvbuf = parse_number(a, value());
    } else if (a == "--read-until-close") {
      o.read_until_close = true;
    } else if (a == "--no-pong") {
      o.no_pong = true;
    } else if (a.starts_with("--")) {
      usage("unknown option " + std::string(a));
    } else if (!have_url) {
      parse_url(a, o);
      have_url = true;
    } else {
      usage("one URL only");
    }
  }
  if (!have_url) {
    usage("no URL");
  }
  return o;
}

/// One connection's life. Every wait is bounded by `m_deadline`: when it fires it
/// cancels the socket and the pause timer, and the waiting coroutine reports a timeout.
class Client {
public:
  Client(asio::io_context& ioc, Options opt)
      : m_ioc(ioc), m_opt(std::move(opt)), m_ws(ioc), m_deadline(ioc), m_pause(ioc), m_resume(ioc, SIGUSR1) {
    m_resume.async_wait([this](beast::error_code ec, int) {
      if (!ec) {
        m_resumed = true;
        m_pause.cancel();
      }
    });
  }

  asio::awaitable<int> run() {
    arm_deadline(std::chrono::milliseconds(m_opt.timeout_ms));
    int code = co_await connect();
    if (code < 0) {
      code = co_await converse();
    }
    m_deadline.cancel();
    co_return code;
  }

private:
  void arm_deadline(Clock::duration d) {
    m_deadline.expires_after(d);
    m_deadline.async_wait([this](beast::error_code ec) {
      if (!ec) {
        m_timed_out = true;
        m_pause.cancel();
        beast::get_lowest_layer(m_ws).cancel();
      }
    });
  }

  /// -1 when open, else the exit code.
  asio::awaitable<int> connect() {
    tcp::resolver resolver(m_ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(m_opt.host, m_opt.port, k_nothrow);
    if (rec || endpoints.empty()) {
      emit_event("error", ",\"message\":" + json_string("resolve: " + rec.message()));
      co_return 1;
    }
    const tcp::endpoint ep = *endpoints.begin();
    auto& sock = beast::get_lowest_layer(m_ws).socket();
    sock.open(ep.protocol());
    if (m_opt.rcvbuf > 0) {
      sock.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(m_opt.rcvbuf)));
    }
    auto [cec] = co_await sock.async_connect(ep, k_nothrow);
    if (cec) {
      co_return fail("connect", cec);
    }
    m_ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    m_ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      for (const auto& [name, value] : m_opt.headers) {
        req.set(name, value);
      }
    }));
    m_ws.read_message_max(64u << 20);
    websocket::response_type res;
    auto [hec] = co_await m_ws.async_handshake(res, m_opt.host + ":" + m_opt.port, m_opt.target, k_nothrow);
    if (hec == websocket::error::upgrade_declined) {
      emit_event("refused",
                 ",\"status\":" + std::to_string(res.result_int()) + ",\"body\":" + json_string(res.body()));
      co_return 1;
    }
    if (hec) {
      co_return fail("handshake", hec);
    }
    emit_event("open");
    co_return -1;
  }

  asio::awaitable<int> converse() {
    for (const auto& text : m_opt.sends) {
      m_ws.text(true);
      auto [ec, n] = co_await m_ws.async_write(asio::buffer(text), k_nothrow);
      if (ec) {
        // The server may already have closed (a rate or size limit): report what it said.
        co_return co_await read_rest();
      }
    }
    co_return co_await read_rest();
  }

  /// Reads until a stop condition; returns the exit code.
  asio::awaitable<int> read_rest() {
    for (;;) {
      beast::flat_buffer buf;
      auto [ec, n] = co_await m_ws.async_read(buf, k_nothrow);
      if (ec) {
        co_return ended(ec);
      }
      if (m_ws.got_text()) {
        emit_event("message", ",\"data\":" + json_string(beast::buffers_to_string(buf.data())));
        ++m_messages;
      } else {
        emit_event("binary", ",\"size\":" + std::to_string(n));
      }
      if (m_opt.expect && m_messages >= *m_opt.expect) {
        co_await m_ws.async_close(websocket::close_code::normal, k_nothrow);
        co_return 0;
      }
      if (m_messages == 1 && m_opt.no_pong) {
        co_return co_await wait_for_cut();
      }
      if (m_messages == 1 && m_opt.pause_reading_ms > 0 && !m_resumed) {
        m_pause.expires_after(std::chrono::milliseconds(m_opt.pause_reading_ms));
        co_await m_pause.async_wait(k_nothrow);
        if (m_timed_out) {
          co_return timeout();
        }
      }
    }
  }

  /// --no-pong: does not read until the peer has closed its side, then drains.
  asio::awaitable<int> wait_for_cut() {
    const int fd = beast::get_lowest_layer(m_ws).socket().native_handle();
    for (;;) {
      pollfd p{fd, POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
        break;
      }
      m_pause.expires_after(std::chrono::milliseconds(50));
      co_await m_pause.async_wait(k_nothrow);
      if (m_timed_out) {
        co_return timeout();
      }
    }
    emit_event("peer_closed");
    m_deadline.cancel();
    m_timed_out = false;
    arm_deadline(std::chrono::seconds(2));
    m_opt.no_pong = false;
    m_opt.read_until_close = false;
    m_opt.expect.reset();
    const int code = co_await read_rest();
    co_return code == 3 ? 0 : code;
  }

  int ended(beast::error_code ec) {
    if (m_timed_out) {
      return timeout();
    }
    if (ec == websocket::error::closed) {
      const auto& r = m_ws.reason();
      emit_event("close",
                 ",\"code\":" + std::to_string(r.code) + ",\"reason\":" + json_string(r.reason.c_str()));
      return 0;
    }
    if (ec == asio::error::eof || ec == beast::http::error::end_of_stream) {
      emit_event("eof");
      return 1;
    }
    return fail("read", ec);
  }

  int fail(std::string_view what, beast::error_code ec) {
    if (m_timed_out) {
      return timeout();
    }
    emit_event("error", ",\"message\":" + json_string(std::string(what) + ": " + ec.message()));
    return 1;
  }

  int timeout() const {
    emit_event("timeout");
    return (m_opt.expect || m_opt.read_until_close || m_opt.no_pong) ? 3 : 0;
  }

  asio::io_context& m_ioc;
  Options m_opt;
  websocket::stream<beast::tcp_stream> m_ws;
  asio::steady_timer m_deadline;
  asio::steady_timer m_pause;
  asio::signal_set m_resume; ///< SIGUSR1: end the pause
  bool m_timed_out = false;
  bool m_resumed = false;
  long m_messages = 0;
};

} // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  asio::io_context ioc(1);
  Client client(ioc, std::move(opt));
  int code = 1;
  // Stops the loop rather than waiting for it to run dry: a declined handshake leaves
  // Beast's handshake timer armed.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        code = co_await client.run();
        ioc.stop();
      },
      asio::detached);
  ioc.run();
  return code;
}
