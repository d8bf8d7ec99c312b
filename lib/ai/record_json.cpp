// The API's JSON shape of a request record.
//
// Written by hand rather than with RapidJSON's Writer: this runs on every answer, cache
// hits included, and the Writer was 7% of a hit (perf, bench/RESULTS.md). Every string
// that is not one of our own words goes through append_quoted, which escapes as JSON
// requires; numbers are formatted by fmt (shortest round-trip form).

#include "ai/pipeline.hpp"

#include <fmt/format.h>

namespace mp::ai {

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
      }
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_number(std::string& out, double v) {
  fmt::format_to(std::back_inserter(out), "{}", v);
}

} // namespace

std::string RecordView::to_json() const {
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
  fmt::format_to(std::back_inserter(out), R"(,"attempts":{},"cost_usd":)", attempts);
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
