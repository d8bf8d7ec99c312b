#include "tools/http_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

namespace mp::tools {

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

} // namespace

HttpClient::HttpClient(std::string bearer, std::chrono::milliseconds timeout)
    : m_bearer(std::move(bearer)), m_timeout(timeout), m_curl(curl_easy_init()) {
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(m_curl));
}

std::optional<HttpAnswer> HttpClient::request(const char* method, const std::string& url,
                                              std::string_view body, std::string_view content_type,
                                              std::string& error) {
  auto* curl = static_cast<CURL*>(m_curl);
  HttpAnswer out;
  curl_slist* headers = nullptr;
  if (!m_bearer.empty()) {
    headers = curl_slist_append(headers, fmt::format("Authorization: Bearer {}", m_bearer).c_str());
  }
  if (!content_type.empty()) {
    headers = curl_slist_append(headers, fmt::format("Content-Type: {}", content_type).c_str());
  }
  curl_easy_reset(curl); // keeps the connection
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const std::string_view m = method;
  if (m == "POST" || m == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5'000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    error = curl_easy_strerror(rc);
    return std::nullopt;
  }
  return out;
}

} // namespace mp::tools
