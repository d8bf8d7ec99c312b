// The API's JSON shape of a request record.

#include "ai/pipeline.hpp"

#include <rapidjson/stringbuffer.h>

namespace mp::ai {

std::string RecordView::to_json() const {
  // One buffer per thread that keeps its capacity: no regrowth on every record.
  thread_local rapidjson::StringBuffer buf(nullptr, 1024);
  buf.Clear();
  util::JsonWriter w(buf);
  w.StartObject();
  util::write_kv(w, "request_id", id);
  util::write_kv(w, "status", status_name(status));
  util::write_key(w, "email_id");
  w.RawValue(email_id_json.data(), email_id_json.size(), rapidjson::kNumberType);
  util::write_kv(w, "request_type", analyser::request_type_name(type));
  util::write_kv(w, "priority", priority_name(priority));
  util::write_kv(w, "model", model);
  util::write_key(w, "cached");
  w.Bool(cached);
  util::write_key(w, "coalesced");
  w.Bool(coalesced);
  util::write_key(w, "attempts");
  w.Int(attempts);
  util::write_key(w, "cost_usd");
  w.Double(cost_usd);
  if (status == Status::completed && result_json && !result_json->empty()) {
    util::write_key(w, "result");
    w.RawValue(result_json->data(), result_json->size(), rapidjson::kObjectType);
  }
  if (status == Status::failed) {
    util::write_key(w, "error");
    w.StartObject();
    util::write_kv(w, "code", error_status ? "upstream_error" : "failed");
    if (error_status) {
      util::write_key(w, "upstream_status");
      w.Int(error_status);
    }
    util::write_kv(w, "message", error_message);
    w.EndObject();
  }
  util::write_key(w, "timings");
  w.StartObject();
  util::write_key(w, "queue_wait_ms");
  w.Double(queue_wait_ms);
  util::write_key(w, "service_ms");
  w.Double(service_ms);
  util::write_key(w, "total_ms");
  w.Double(total_ms);
  w.EndObject();
  util::write_key(w, "created_at");
  w.Double(created_unix);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace mp::ai
