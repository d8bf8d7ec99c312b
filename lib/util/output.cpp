#include "util/output.hpp"
#include "util/json.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <ostream>

namespace mp::util {

Expected<Format> parse_format(std::string_view name) {
  if (name == "table") {
    return Format::table;
  }
  if (name == "json") {
    return Format::json;
  }
  if (name == "jsonl" || name == "ndjson") {
    return Format::jsonl;
  }
  if (name == "csv") {
    return Format::csv;
  }
  return fail(Errc::usage, fmt::format("--format: unknown format '{}' (table, json, jsonl, csv)", name),
              "--format");
}

std::string_view format_name(Format f) {
  switch (f) {
  case Format::table: return "table";
  case Format::json: return "json";
  case Format::jsonl: return "jsonl";
  case Format::csv: return "csv";
  }
  return "json";
}

Format default_format_for(int fd) {
  return ::isatty(fd) ? Format::table : Format::json;
}

bool color_allowed(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(fd) && (no_color == nullptr || *no_color == '\0');
}

namespace {

std::string cell_text(const Cell& c) {
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return fmt::format("{:.6g}", v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(Visitor{}, c);
}

bool is_numeric(const Cell& c) {
  return std::holds_alternative<std::int64_t>(c) || std::holds_alternative<double>(c);
}

void write_cell_json(JsonWriter& w, const Cell& c) {
  struct Visitor {
    JsonWriter& w;
    void operator()(std::monostate) const { w.Null(); }
    void operator()(const std::string& s) const {
      w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    }
    void operator()(std::int64_t v) const { w.Int64(v); }
    void operator()(double v) const { w.Double(v); }
    void operator()(bool v) const { w.Bool(v); }
  };
  std::visit(Visitor{w}, c);
}

std::string row_json(const Table& t, const std::vector<Cell>& row) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (std::size_t i = 0; i < t.columns.size() && i < row.size(); ++i) {
    write_key(w, t.columns[i]);
    write_cell_json(w, row[i]);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  out += '"';
  return out;
}

void render_table(std::ostream& out, const Table& t, RenderOptions opts) {
  std::vector<std::size_t> widths(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    widths[i] = t.columns[i].size();
  }
  std::vector<std::vector<std::string>> texts;
  texts.reserve(t.rows.size());
  for (const auto& row : t.rows) {
    auto& line = texts.emplace_back();
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      line.push_back(i < row.size() ? cell_text(row[i]) : std::string{});
      widths[i] = std::max(widths[i], line.back().size());
    }
  }
  const char* bold = opts.color ? "\x1b[1m" : "";
  const char* reset = opts.color ? "\x1b[0m" : "";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    out << (i ? "  " : "") << bold
        << fmt::format("{:<{}}", t.columns[i], i + 1 < t.columns.size() ? widths[i] : 0) << reset;
  }
  out << '\n';
  for (std::size_t r = 0; r < texts.size(); ++r) {
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const bool last = i + 1 == t.columns.size();
      const bool right = i < t.rows[r].size() && is_numeric(t.rows[r][i]);
      out << (i ? "  " : "");
      if (right) {
        out << fmt::format("{:>{}}", texts[r][i], widths[i]);
      } else {
        out << fmt::format("{:<{}}", texts[r][i], last ? 0 : widths[i]);
      }
    }
    out << '\n';
  }
}

} // namespace

void render(std::ostream& out, const Table& t, Format f, RenderOptions opts) {
  switch (f) {
  case Format::table: render_table(out, t, opts); return;
  case Format::json:
    out << '[';
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      out << (r ? ",\n " : "") << row_json(t, t.rows[r]);
    }
    out << "]\n";
    return;
  case Format::jsonl:
    for (const auto& row : t.rows) {
      out << row_json(t, row) << '\n';
    }
    return;
  case Format::csv:
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      out << (i ? "," : "") << csv_field(t.columns[i]);
    }
    out << "\r\n";
    for (const auto& row : t.rows) {
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        out << (i ? "," : "") << csv_field(i < row.size() ? cell_text(row[i]) : std::string{});
      }
      out << "\r\n";
    }
    return;
  }
}

} // namespace mp::util
