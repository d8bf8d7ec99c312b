#pragma once
// Tabular output in the four formats every tool speaks: an aligned table for people,
// JSON, NDJSON (one object per line, for pipes) and CSV (RFC 4180).

#include "util/error.hpp"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mp::util {

enum class Format { table, json, jsonl, csv };

/// Parses `table|json|jsonl|csv`; Errc::usage naming the value otherwise.
Expected<Format> parse_format(std::string_view name);
std::string_view format_name(Format f);

/// `table` when `fd` is a terminal, `json` when it is a pipe or a file.
Format default_format_for(int fd);

/// True when colour may be used on `fd`: a terminal, and NO_COLOR unset or empty.
bool color_allowed(int fd);

/// One cell: text, integer, real, boolean or null (an empty cell).
using Cell = std::variant<std::monostate, std::string, std::int64_t, double, bool>;

/// Rows of cells under named columns.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;

  /// Appends a row; it must have one cell per column.
  void add(std::vector<Cell> row) { rows.push_back(std::move(row)); }
};

struct RenderOptions {
  bool color = false; ///< bold header in `table`
};

/// Writes `t` to `out` in `f`. JSON keys are the column names; numbers stay numbers.
void render(std::ostream& out, const Table& t, Format f, RenderOptions opts = {});

} // namespace mp::util
