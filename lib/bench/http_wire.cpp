// HTTP/1.1 requests and the incremental response parser (http_wire.hpp).

#include "bench/http_wire.hpp"
#include "util/strings.hpp"

#include <charconv>
#include <cstring>
#include <fmt/format.h>

namespace mp::bench {

namespace {
constexpr std::size_t k_max_head = std::size_t{64} * 1024;
constexpr std::string_view k_user_agent = "mp-bench/0.1";

/// True when `line` is the header `name` (lower case); `value` is then its trimmed value.
bool header_is(std::string_view line, std::string_view name, std::string_view& value) {
  if (line.size() <= name.size() || line[name.size()] != ':' || util::ascii_lower(line[0]) != name[0] ||
      !util::iequals(line.substr(0, name.size()), name)) {
    return false;
  }
  value = util::trim(line.substr(name.size() + 1));
  return true;
}

bool contains_token(std::string_view value, std::string_view token) {
  for (std::size_t i = 0; i + token.size() <= value.size(); ++i) {
    if (util::iequals(value.substr(i, token.size()), token)) {
      return true;
    }
  }
  return false;
}
} // namespace

std::string HttpUrl::authority() const {
  return port == 80 ? host : fmt::format("{}:{}", host, port);
}

Expected<HttpUrl> parse_http_url(std::string_view text, std::string_view flag) {
  constexpr std::string_view k_scheme = "http://";
  auto bad = [&](std::string_view why) {
    return fail(Errc::usage, fmt::format("{}: '{}' {}", flag, text, why), std::string(flag));
  };
  if (!text.starts_with(k_scheme)) {
    return bad(text.starts_with("https://")
                   ? "is https, which mp-bench does not speak (use http:// or a proxy)"
                   : "is not an http:// URL");
  }
  std::string_view rest = text.substr(k_scheme.size());
  HttpUrl u;
  const auto slash = rest.find('/');
  const std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      return bad("has an unclosed [ in its host");
    }
    host = hostport.substr(1, close - 1);
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return bad("has junk after its host");
      }
      unsigned p = 0;
      auto [e, ec] = std::from_chars(after.data() + 1, after.data() + after.size(), p);
      if (ec != std::errc{} || e != after.data() + after.size() || p == 0 || p > 65535) {
        return bad("has a bad port");
      }
      u.port = static_cast<std::uint16_t>(p);
    }
  } else if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    unsigned p = 0;
    auto [e, ec] = std::from_chars(hostport.data() + colon + 1, hostport.data() + hostport.size(), p);
    if (ec != std::errc{} || e != hostport.data() + hostport.size() || p == 0 || p > 65535) {
      return bad("has a bad port");
    }
    u.port = static_cast<std::uint16_t>(p);
  }
  if (host.empty()) {
    return bad("has no host");
  }
  u.host = std::string(host);
  return u;
}

std::string build_request(std::string_view method, const HttpUrl& url, std::string_view target,
                          const std::vector<std::string>& headers, std::string_view body) {
  std::string r = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n", method, target,
                              url.authority(), k_user_agent);
  for (const auto& h : headers) {
    r += h;
    r += "\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    r += fmt::format("Content-Length: {}\r\n", body.size());
  }
  r += "\r\n";
  r += body;
  return r;
}

void ResponseParser::reset(bool head_request) {
  m_partial.clear();
  m_error = {};
  m_remaining = 0;
  m_status = 0;
  m_state = State::head;
  m_head_request = head_request;
  m_keep_alive = true;
}

ResponseParser::Result ResponseParser::parse_head(std::string_view head) {
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 || !head.starts_with("HTTP/1.")) {
    return fail("not an HTTP/1.x response");
  }
  const bool http10 = head[7] == '0';
  m_keep_alive = !http10;
  int code = 0;
  auto [e, ec] = std::from_chars(head.data() + 9, head.data() + 12, code);
  if (ec != std::errc{} || e != head.data() + 12 || code < 100) {
    return fail("bad status line");
  }
  m_status = code;
  bool chunked = false, has_length = false;
  std::uint64_t length = 0;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string_view line =
        head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
    std::string_view v;
    if (header_is(line, "content-length", v)) {
      auto [e2, ec2] = std::from_chars(v.data(), v.data() + v.size(), length);
      if (ec2 != std::errc{} || e2 != v.data() + v.size()) {
        return fail("bad Content-Length");
      }
      has_length = true;
    } else if (header_is(line, "transfer-encoding", v)) {
      chunked = contains_token(v, "chunked");
    } else if (header_is(line, "connection", v)) {
      if (contains_token(v, "close")) {
        m_keep_alive = false;
      } else if (contains_token(v, "keep-alive")) {
        m_keep_alive = true;
      }
    }
    pos = next;
  }
  if (m_head_request || code < 200 || code == 204 || code == 304) {
    m_state = State::done;
  } else if (chunked) {
    m_state = State::chunk_size;
  } else if (has_length) {
    m_remaining = length;
    m_state = length ? State::body : State::done;
  } else {
    m_keep_alive = false;
    m_state = State::until_eof;
  }
  return m_state == State::done ? Result::done : Result::need_more;
}

ResponseParser::Result ResponseParser::feed(const char*& p, const char* end) {
  if (m_state == State::head) {
    if (m_partial.empty()) {
      const std::string_view in(p, static_cast<std::size_t>(end - p));
      const auto at = in.find("\r\n\r\n");
      if (at == std::string_view::npos) {
        if (in.size() > k_max_head) {
          return fail("response head over 64 KiB");
        }
        m_partial.assign(in);
        p = end;
        return Result::need_more;
      }
      p += at + 4;
      if (auto r = parse_head(in.substr(0, at + 2)); r != Result::need_more) {
        return r;
      }
    } else {
      const std::size_t old = m_partial.size();
      m_partial.append(p, end);
      const auto at = m_partial.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
      if (at == std::string::npos) {
        if (m_partial.size() > k_max_head) {
          return fail("response head over 64 KiB");
        }
        p = end;
        return Result::need_more;
      }
      p += at + 4 - old;
      const std::string head = m_partial.substr(0, at + 2);
      m_partial.clear();
      if (auto r = parse_head(head); r != Result::need_more) {
        return r;
      }
    }
  }
  switch (m_state) {
  case State::body: {
    const auto n = std::min<std::uint64_t>(m_remaining, static_cast<std::uint64_t>(end - p));
    p += n;
    m_remaining -= n;
    if (m_remaining == 0) {
      m_state = State::done;
      return Result::done;
    }
    return Result::need_more;
  }
  case State::until_eof: p = end; return Result::need_more;
  case State::done: return Result::done;
  default: return chunked(p, end);
  }
}

ResponseParser::Result ResponseParser::chunked(const char*& p, const char* end) {
  while (p < end) {
    switch (m_state) {
    case State::chunk_size:
    case State::trailer: {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) {
        m_partial.append(p, end);
        p = end;
        if (m_partial.size() > 4096) {
          return fail("chunk line too long");
        }
        return Result::need_more;
      }
      m_partial.append(p, nl);
      p = nl + 1;
      std::string_view line = m_partial;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (m_state == State::trailer) {
        const bool last = line.empty();
        m_partial.clear();
        if (last) {
          m_state = State::done;
          return Result::done;
        }
        continue;
      }
      std::uint64_t size = 0;
      auto [e, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (ec != std::errc{} || (e != line.data() + line.size() && *e != ';' && *e != ' ')) {
        return fail("bad chunk size");
      }
      m_partial.clear();
      m_remaining = size;
      m_state = size ? State::chunk_data : State::trailer;
      break;
    }
    case State::chunk_data: {
      const auto n = std::min<std::uint64_t>(m_remaining, static_cast<std::uint64_t>(end - p));
      p += n;
      m_remaining -= n;
      if (m_remaining == 0) {
        m_state = State::chunk_crlf;
        m_remaining = 2;
      }
      break;
    }
    case State::chunk_crlf: {
      const auto n = std::min<std::uint64_t>(m_remaining, static_cast<std::uint64_t>(end - p));
      p += n;
      m_remaining -= n;
      if (m_remaining == 0) {
        m_state = State::chunk_size;
      }
      break;
    }
    default: return fail("parser state");
    }
  }
  return Result::need_more;
}

ResponseParser::Result ResponseParser::on_eof() {
  if (m_state == State::until_eof) {
    m_state = State::done;
    return Result::done;
  }
  return fail("connection closed before the response ended");
}

} // namespace mp::bench
