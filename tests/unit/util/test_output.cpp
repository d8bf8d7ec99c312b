#include "util/output.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mp::util;

namespace {

Table sample() {
  Table t;
  t.columns = {"name", "count", "ratio", "ok"};
  t.add({std::string("alpha"), std::int64_t{3}, 0.5, true});
  t.add({std::string("needs, \"quotes\""), std::int64_t{12}, std::monostate{}, false});
  return t;
}

std::string render_to_string(const Table& t, Format f) {
  std::ostringstream out;
  render(out, t, f);
  return out.str();
}

} // namespace

TEST_CASE("output: json is an array of objects with typed values", "[output]") {
  REQUIRE(render_to_string(sample(), Format::json) ==
          "[{\"name\":\"alpha\",\"count\":3,\"ratio\":0.5,\"ok\":true},\n"
          " {\"name\":\"needs, \\\"quotes\\\"\",\"count\":12,\"ratio\":null,\"ok\":false}]\n");
}

TEST_CASE("output: jsonl is one object a line", "[output]") {
  const auto s = render_to_string(sample(), Format::jsonl);
  REQUIRE(s == "{\"name\":\"alpha\",\"count\":3,\"ratio\":0.5,\"ok\":true}\n"
               "{\"name\":\"needs, \\\"quotes\\\"\",\"count\":12,\"ratio\":null,\"ok\":false}\n");
}

TEST_CASE("output: csv quotes per RFC 4180", "[output]") {
  REQUIRE(render_to_string(sample(), Format::csv) ==
          "name,count,ratio,ok\r\nalpha,3,0.5,true\r\n\"needs, \"\"quotes\"\"\",12,,false\r\n");
}

TEST_CASE("output: table aligns columns and right-aligns numbers", "[output]") {
  const auto s = render_to_string(sample(), Format::table);
  REQUIRE(s == "name             count  ratio  ok\n"
               "alpha                3    0.5  true\n"
               "needs, \"quotes\"     12         false\n");
}

TEST_CASE("output: format names parse, unknown ones name the flag", "[output]") {
  REQUIRE(parse_format("table").value() == Format::table);
  REQUIRE(parse_format("json").value() == Format::json);
  REQUIRE(parse_format("jsonl").value() == Format::jsonl);
  REQUIRE(parse_format("ndjson").value() == Format::jsonl);
  REQUIRE(parse_format("csv").value() == Format::csv);
  auto bad = parse_format("xml");
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().field == "--format");
  REQUIRE(bad.error().exit_code() == mp::ExitCode::usage);
}

TEST_CASE("output: a pipe gets json by default", "[output]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(default_format_for(fds[1]) == Format::json);
  REQUIRE_FALSE(color_allowed(fds[1]));
  close(fds[0]);
  close(fds[1]);
}
