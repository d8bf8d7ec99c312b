#pragma once
// The HTTP/1.1 the generator speaks: requests serialised once, responses parsed in place.
//
// The parser is incremental and allocation-free on the common path (a whole head in one
// read): it finds the end of the head, reads the status, Content-Length, Transfer-Encoding
// and Connection, then skips the body by length, by chunks, or until the peer closes. Only a
// head cut by a read is copied, into a small buffer, until its end arrives.

#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

/// `http://HOST[:PORT][/TARGET]` (no TLS); Errc::usage naming `flag`.
struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  [[nodiscard]] std::string authority() const;
};
Expected<HttpUrl> parse_http_url(std::string_view text, std::string_view flag);

/// The bytes of one request: the request line, Host, User-Agent, the given headers
/// (`Name: value`), Content-Length when there is a body, then the body.
std::string build_request(std::string_view method, const HttpUrl& url, std::string_view target,
                          const std::vector<std::string>& headers, std::string_view body);

class ResponseParser {
public:
  enum class Result { need_more, done, error };

  /// Prepares for the next response; `head_request` responses have no body.
  void reset(bool head_request = false);
  /// Consumes bytes from [p, end): returns done when a whole response was read (p is then
  /// just past it, so pipelined bytes stay), need_more when all of it was consumed.
  Result feed(const char*& p, const char* end);
  /// The peer closed: done when the body was "until close", error otherwise.
  Result on_eof();

  [[nodiscard]] int status() const { return m_status; }
  [[nodiscard]] bool keep_alive() const { return m_keep_alive; }
  [[nodiscard]] std::string_view error() const { return m_error; }

private:
  enum class State : std::uint8_t {
    head,
    body,
    chunk_size,
    chunk_data,
    chunk_crlf,
    trailer,
    until_eof,
    done
  };
  Result parse_head(std::string_view head);
  Result fail(std::string_view why) {
    m_error = why;
    return Result::error;
  }
  Result chunked(const char*& p, const char* end);

  std::string m_partial; // a head or chunk-size line cut by a read
  std::string_view m_error;
  std::uint64_t m_remaining = 0;
  int m_status = 0;
  State m_state = State::head;
  bool m_head_request = false;
  bool m_keep_alive = true;
};

} // namespace mp::bench
