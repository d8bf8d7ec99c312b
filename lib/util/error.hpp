#pragma once
// One error type for the whole library, and the exit codes every mp tool shares.
//
// Library functions that can fail return `mp::Expected<T>`; tools turn an error into
// `mp-<tool>: error: <message>` and its exit code in one place (mp::cli::run_tool).

#include <expected>
#include <stdexcept>
#include <string>
#include <utility>

namespace mp {

/// Exit codes, the same in every tool (DESIGN.md section 5; 99 is k6's convention).
enum class ExitCode : int {
  ok = 0,
  failure = 1,     ///< runtime failure
  usage = 2,       ///< bad flag, bad config key or value
  unavailable = 3, ///< a dependency is unreachable (Redis, the server)
  threshold = 99,  ///< a threshold or SLA was breached
};

/// What kind of failure an Error is; decides the exit code and the HTTP status.
enum class Errc {
  usage,       ///< bad flag or argument
  config,      ///< bad config key or value
  invalid,     ///< bad input data (HTTP 400)
  not_found,   ///< no such thing (HTTP 404)
  unavailable, ///< dependency unreachable (HTTP 503)
  io,          ///< file or socket I/O failed
  internal,    ///< a bug or an unexpected state
  threshold,   ///< an SLA gate failed
};

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string field; ///< the config key, flag or JSON field at fault; may be empty

  [[nodiscard]] ExitCode exit_code() const noexcept;
  [[nodiscard]] static const char* errc_name(Errc code) noexcept;
};

template <class T = void> using Expected = std::expected<T, Error>;

/// Shorthand for `std::unexpected(Error{...})`.
inline std::unexpected<Error> fail(Errc code, std::string message, std::string field = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(field)});
}

/// The one exception family: thrown by tool code, caught once at the top of each tool.
class Fatal : public std::runtime_error {
public:
  explicit Fatal(Error error) : std::runtime_error(error.message), m_error(std::move(error)) {}
  [[nodiscard]] const Error& error() const noexcept { return m_error; }

private:
  Error m_error;
};

/// Returns the value of `e`, or throws Fatal with its error.
template <class T> T value_or_throw(Expected<T>&& e) {
  if (!e) {
    throw Fatal(std::move(e.error()));
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*e);
  }
}

} // namespace mp
