#pragma once
// The HTTP client of the CLI tools that talk to an mp-serve (mp-monitor's --url, mp-cache's
// --server): libcurl, one kept-alive connection per client, the admin key as a Bearer
// token. Not thread-safe: one request at a time.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mp::tools {

struct HttpAnswer {
  long status = 0;
  std::string body;
};

class HttpClient {
public:
  /// `bearer` may be empty (a server in open mode).
  explicit HttpClient(std::string bearer, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// `method` `url` with `body` (sent for POST and PUT, as `content_type`). The answer, or
  /// the transport's error text (connection refused, timeout) when there was none.
  std::optional<HttpAnswer> request(const char* method, const std::string& url, std::string_view body,
                                    std::string_view content_type, std::string& error);

private:
  std::string m_bearer;
  std::chrono::milliseconds m_timeout;
  void* m_curl = nullptr; ///< CURL*, kept out of this header
};

} // namespace mp::tools
