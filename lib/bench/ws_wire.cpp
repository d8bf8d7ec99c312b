#include "bench/ws_wire.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace mp::bench::ws {

std::optional<Url> split_url(std::string_view text, std::string_view scheme) {
  if (!text.starts_with(scheme) || !text.substr(scheme.size()).starts_with("://")) {
    return std::nullopt;
  }
  text.remove_prefix(scheme.size() + 3);
  Url url;
  const auto slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view rest = text.substr(slash);
    url.target = rest.starts_with('?') ? "/" + std::string(rest) : std::string(rest);
  }
  const auto colon = authority.rfind(':');
  url.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    const auto port = authority.substr(colon + 1);
    const auto r = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (r.ec != std::errc{} || r.ptr != port.data() + port.size()) {
      return std::nullopt;
    }
  }
  if (url.host.empty()) {
    return std::nullopt;
  }
  return url;
}

std::optional<Url> parse_url(std::string_view text, std::string_view scheme) {
  auto url = split_url(text, scheme);
  if (!url) {
    return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(url->host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  std::memcpy(&url->addr, found->ai_addr, sizeof url->addr);
  url->addr.sin_port = htons(url->port);
  freeaddrinfo(found);
  return url;
}

bool has_query_param(std::string_view url, std::string_view name) {
  const auto q = url.find('?');
  if (q == std::string_view::npos) {
    return false;
  }
  for (std::string_view rest = url.substr(q + 1); !rest.empty();) {
    const auto amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    if (item.starts_with(name) && item.substr(name.size()).starts_with('=')) {
      return true;
    }
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return false;
}

std::string with_query_param(std::string_view url, std::string_view name, std::string_view value) {
  std::string out(url);
  if (out.find('?') == std::string::npos) {
    out += '?';
  } else if (!out.ends_with('?') && !out.ends_with('&')) {
    out += '&';
  }
  out += name;
  out += '=';
  for (const char ch : value) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string broadcast_url(std::string_view ws_url, std::string_view publish) {
  if (publish.empty()) {
    const auto ws = split_url(ws_url, "ws");
    return ws ? fmt::format("http://{}:{}/api/ws/broadcast", ws->host, ws->port) : std::string();
  }
  std::string out(publish);
  while (out.ends_with('/')) {
    out.pop_back();
  }
  const auto authority = out.find("://");
  if (authority != std::string::npos && out.find('/', authority + 3) == std::string::npos) {
    out += "/api/ws/broadcast";
  }
  return out;
}

std::string base64(const unsigned char* data, int len) {
  std::string out(static_cast<std::size_t>(4 * ((len + 2) / 3)), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, len);
  return out;
}

std::string accept_for(const std::string& key) {
  const std::string joined = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(joined.data(), joined.size(), digest, &len, EVP_sha1(), nullptr);
  return base64(digest, static_cast<int>(len));
}

std::optional<std::uint64_t> number_after(const char* p, const char* end, std::string_view key) {
  const void* at = memmem(p, static_cast<std::size_t>(end - p), key.data(), key.size());
  if (at == nullptr) {
    return std::nullopt;
  }
  const char* q = static_cast<const char*>(at) + key.size();
  while (q < end && *q == ' ') {
    ++q;
  }
  std::uint64_t v = 0;
  if (std::from_chars(q, end, v).ec != std::errc{}) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> parse_ts(const char* q, const char* end) {
  std::int64_t sec = 0;
  auto r = std::from_chars(q, end, sec);
  if (r.ec != std::errc{}) {
    return std::nullopt;
  }
  std::int64_t frac = 0;
  int digits = 0;
  if (r.ptr < end && *r.ptr == '.') {
    for (const char* d = r.ptr + 1; d < end && *d >= '0' && *d <= '9' && digits < 9; ++d, ++digits) {
      frac = frac * 10 + (*d - '0');
    }
  }
  for (; digits < 9; ++digits) {
    frac *= 10;
  }
  return sec * k_ns + frac;
}

bool Publisher::connect_once() {
  m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const timeval timeout{5, 0};
  setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(m_fd, reinterpret_cast<const sockaddr*>(&m_url.addr), sizeof m_url.addr) != 0) {
    disconnect();
    return false;
  }
  m_in.clear();
  return true;
}

int Publisher::post(std::string_view body) {
  if (m_fd < 0 && !connect_once()) {
    return 0;
  }
  std::string request = fmt::format("POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n"
                                    "Content-Length: {}\r\n",
                                    m_url.target, m_url.host, m_url.port, body.size());
  if (!m_token.empty()) {
    request += "Authorization: Bearer " + m_token + "\r\n";
  }
  request += "\r\n";
  request += body;
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t w = ::send(m_fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) {
      disconnect();
      return 0;
    }
    sent += static_cast<std::size_t>(w);
  }
  std::size_t need = std::string::npos, head_len = 0;
  int status = 0;
  bool close_after = false;
  char buf[16 * 1024];
  while (need == std::string::npos || m_in.size() < need) {
    if (need == std::string::npos) {
      if (const auto end = m_in.find("\r\n\r\n"); end != std::string::npos) {
        head_len = end + 4;
        std::string head = m_in.substr(0, head_len);
        std::ranges::transform(head, head.begin(),
                               [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        std::from_chars(head.data() + std::min<std::size_t>(9, head.size()), head.data() + head.size(),
                        status);
        const auto cl = number_after(head.data(), head.data() + head.size(), "content-length:");
        close_after = head.find("connection: close") != std::string::npos;
        need = head_len + cl.value_or(0);
        continue;
      }
    }
    const ssize_t r = ::recv(m_fd, buf, sizeof buf, 0);
    if (r <= 0) {
      disconnect();
      return 0;
    }
    m_in.append(buf, static_cast<std::size_t>(r));
  }
  m_in.erase(0, need);
  if (close_after) {
    disconnect();
  }
  return status;
}

} // namespace mp::bench::ws
