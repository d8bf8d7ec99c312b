// The API's JSON shape of a request record.
//
// Written by hand rather than with RapidJSON's Writer: this runs on every answer, cache
// hits included, and the Writer was 7% of a hit (perf, bench/RESULTS.md). Every string
// that is not one of our own words goes through append_quoted, which escapes as JSON
// requires; numbers are written by std::to_chars (shortest round-trip form), which does
// not parse a format string per number as fmt does (fmt was half of this function).

#include "ai/pipeline.hpp"

#include <array>
#include <charconv>

namespace mp::ai {

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0; // start of the characters not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') {
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (u) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      static constexpr char k_hex[] = "0123456789abcdef";
      out += "\\u00";
      out += k_hex[u >> 4];
      out += k_hex[u & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <typename T> void append_number(std::string& out, T v) {
  if (v == 0) {
    out += '0'; // most timings of a hit, and never "-0"
    return;
  }
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), ec == std::errc{} ? end : buf.data());
}

} // namespace

std::string RecordView::to_json() const {
  if (raw_json) {
    return *raw_json;
  }
  std::string out;
  out.reserve(320 + (result_json ? result_json->size() : 0) + error_message.size());
  out += R"({"request_id":)";
  append_quoted(out, id);
  out += R"(,"status":")";
  out += status_name(status);
  out += R"(","email_id":)";
  out += email_id_json; // produced by our own JSON writer from the request
  out += R"(,"request_type":")";
  out += analyser::request_type_name(type);
  out += R"(","priority":")";
  out += priority_name(priority);
  out += R"(","model":)";
  append_quoted(out, model);
  out += cached ? R"(,"cached":true)" : R"(,"cached":false)";
  out += coalesced ? R"(,"coalesced":true)" : R"(,"coalesced":false)";
  out += R"(,"attempts":)";
  append_number(out, attempts);
  out += R"(,"cost_usd":)";
  append_number(out, cost_usd);
  if (status == Status::completed && result_json && !result_json->empty()) {
    out += R"(,"result":)";
    out += *result_json; // JSON we wrote and cached ourselves
  }
  if (status == Status::failed) {
    out += R"(,"error":{"code":)";
    out += error_status ? R"("upstream_error","upstream_status":)" + std::to_string(error_status)
                        : std::string(R"("failed")");
    out += R"(,"message":)";
    append_quoted(out, error_message);
    out += '}';
  }
  out += R"(,"timings":{"queue_wait_ms":)";
  append_number(out, queue_wait_ms);
  out += R"(,"service_ms":)";
  append_number(out, service_ms);
  out += R"(,"total_ms":)";
  append_number(out, total_ms);
  out += R"(},"created_at":)";
  append_number(out, created_unix);
  out += '}';
  return out;
}

} // namespace mp::ai
