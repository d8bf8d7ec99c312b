#include "ai/pipeline.hpp"
#include "util/json.hpp"

#include <catch2/catch.hpp>

using namespace mp::ai;

TEST_CASE("record JSON: valid JSON with every field, strings escaped", "[record]") {
  RecordView v;
  v.id = "req_0123";
  v.status = Status::failed;
  v.email_id_json = R"("msg \"7\"")";
  v.model = "odd\"model\\\n";
  v.error_status = 503;
  v.error_message = "upstream said \"no\"\t\x01";
  v.cost_usd = 1.5e-05;
  v.queue_wait_ms = 2.25;
  v.created_unix = 1796118118.7225597;
  auto doc = mp::util::parse_json(v.to_json());
  REQUIRE(doc);
  const auto& d = *doc;
  REQUIRE(std::string(d["email_id"].GetString()) == "msg \"7\"");
  REQUIRE(std::string(d["model"].GetString()) == "odd\"model\\\n");
  REQUIRE(d["error"]["upstream_status"].GetInt() == 503);
  REQUIRE(std::string(d["error"]["message"].GetString()) == "upstream said \"no\"\t\x01");
  REQUIRE(d["cost_usd"].GetDouble() == 1.5e-05);
  REQUIRE(d["timings"]["queue_wait_ms"].GetDouble() == 2.25);
  REQUIRE(d["created_at"].GetDouble() == 1796118118.7225597);
  REQUIRE_FALSE(d.HasMember("result"));
}

TEST_CASE("record JSON: a completed record carries its result", "[record]") {
  RecordView v;
  v.status = Status::completed;
  v.email_id_json = "42";
  v.cached = true;
  v.result_json = std::make_shared<const std::string>(R"({"category":"work"})");
  auto doc = mp::util::parse_json(v.to_json());
  REQUIRE(doc);
  REQUIRE(std::string((*doc)["result"]["category"].GetString()) == "work");
  REQUIRE((*doc)["cached"].GetBool());
  REQUIRE((*doc)["email_id"].GetInt() == 42);
}
