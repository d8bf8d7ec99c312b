#include "monitor/sqlite.hpp"

#include <fmt/format.h>

namespace mp::monitor::sqlite {

Error error(sqlite3* db, std::string_view what) {
  const int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
  const char* message = db ? sqlite3_errmsg(db) : "out of memory";
  const int primary = code & 0xff;
  const Errc errc = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? Errc::unavailable : Errc::io;
  return Error{errc, fmt::format("{}: {}", what, message), {}};
}

Expected<void> exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return std::unexpected(error(db, std::string_view(sql).substr(0, 60)));
  }
  return {};
}

Expected<Stmt> Stmt::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  // PERSISTENT: these statements live as long as the connection, so SQLite should not
  // take them from its small lookaside pool.
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                         nullptr) != SQLITE_OK) {
    return std::unexpected(error(db, fmt::format("prepare '{}'", sql.substr(0, 60))));
  }
  Stmt s;
  s.m_stmt.reset(raw);
  return s;
}

Expected<bool> Stmt::step() {
  const int rc = sqlite3_step(m_stmt.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  const std::string_view sql = sqlite3_sql(m_stmt.get());
  return std::unexpected(error(sqlite3_db_handle(m_stmt.get()), sql.substr(0, 60)));
}

Expected<void> Stmt::run() {
  while (true) {
    auto row = step();
    if (!row) {
      return std::unexpected(std::move(row.error()));
    }
    if (!*row) {
      return {};
    }
  }
}

std::string_view Stmt::text(int col) const noexcept {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt.get(), col));
  if (!p) {
    return {};
  }
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), col))};
}

Expected<Transaction> Transaction::begin(sqlite3* db, bool write) {
  if (auto ok = exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN"); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return Transaction(db);
}

Transaction::~Transaction() {
  if (m_db) {
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Expected<void> Transaction::commit() {
  auto ok = exec(m_db, "COMMIT");
  if (ok) {
    m_db = nullptr;
  }
  return ok;
}

} // namespace mp::monitor::sqlite
