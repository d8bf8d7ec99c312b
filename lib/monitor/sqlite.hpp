#pragma once
// RAII for SQLite connections and statements, with failures as mp::Error. Internal to
// lib/monitor: nothing outside it includes <sqlite3.h>.

#include "util/error.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

namespace mp::monitor::sqlite {

/// The connection's last failure as an Error: busy or locked is `unavailable` (another
/// writer held the lock past the busy timeout), anything else `io`.
Error error(sqlite3* db, std::string_view what);

struct CloseDb {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

/// Runs SQL that returns no rows (several statements allowed).
Expected<void> exec(sqlite3* db, const char* sql);

/// A prepared statement, reused: bind, step, and let a Use reset it.
class Stmt {
public:
  Stmt() = default;
  static Expected<Stmt> prepare(sqlite3* db, std::string_view sql);

  /// Ends a use of the statement when it goes out of scope. Resetting matters: a
  /// statement left mid-result holds its read snapshot open, which would pin the WAL
  /// and hide other connections' commits.
  class Use {
  public:
    explicit Use(Stmt& s) noexcept : m_stmt(s.m_stmt.get()) {}
    ~Use() {
      sqlite3_reset(m_stmt);
      sqlite3_clear_bindings(m_stmt);
    }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

  private:
    sqlite3_stmt* m_stmt;
  };
  [[nodiscard]] Use use() noexcept { return Use(*this); }

  // Binding is by 1-based index. Text is bound without a copy: it must outlive the use.
  void bind(int i, std::int64_t v) noexcept { sqlite3_bind_int64(m_stmt.get(), i, v); }
  void bind(int i, double v) noexcept { sqlite3_bind_double(m_stmt.get(), i, v); }
  void bind(int i, std::string_view v) noexcept {
    sqlite3_bind_text(m_stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void bind_null(int i) noexcept { sqlite3_bind_null(m_stmt.get(), i); }

  /// The next row: true when there is one, false when the statement is done.
  Expected<bool> step();
  /// Steps a statement that returns no rows to its end.
  Expected<void> run();
  /// Steps through every row, calling `row` on each (read the columns there).
  template <class F> Expected<void> each(F&& row) {
    for (;;) {
      auto more = step();
      if (!more) {
        return std::unexpected(std::move(more.error()));
      }
      if (!*more) {
        return {};
      }
      row();
    }
  }

  [[nodiscard]] std::int64_t int64(int col) const noexcept { return sqlite3_column_int64(m_stmt.get(), col); }
  [[nodiscard]] double real(int col) const noexcept { return sqlite3_column_double(m_stmt.get(), col); }
  [[nodiscard]] std::string_view text(int col) const noexcept;
  [[nodiscard]] bool is_null(int col) const noexcept {
    return sqlite3_column_type(m_stmt.get(), col) == SQLITE_NULL;
  }

private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalize> m_stmt;
};

/// A transaction that rolls back unless committed. A write transaction starts IMMEDIATE:
/// it takes the write lock up front (waiting up to the busy timeout), so it can never
/// fail half-way with a lock upgrade deadlock.
class Transaction {
public:
  static Expected<Transaction> begin(sqlite3* db, bool write);
  Transaction(Transaction&& o) noexcept : m_db(std::exchange(o.m_db, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Expected<void> commit();

private:
  explicit Transaction(sqlite3* db) noexcept : m_db(db) {}
  sqlite3* m_db;
};

} // namespace mp::monitor::sqlite
