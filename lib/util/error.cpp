#include "util/error.hpp"

namespace mp {

ExitCode Error::exit_code() const noexcept {
  switch (code) {
  case Errc::usage:
  case Errc::config: return ExitCode::usage;
  case Errc::unavailable: return ExitCode::unavailable;
  case Errc::threshold: return ExitCode::threshold;
  case Errc::invalid:
  case Errc::not_found:
  case Errc::io:
  case Errc::internal: break;
  }
  return ExitCode::failure;
}

const char* Error::errc_name(Errc code) noexcept {
  switch (code) {
  case Errc::usage: return "usage";
  case Errc::config: return "config";
  case Errc::invalid: return "invalid";
  case Errc::not_found: return "not_found";
  case Errc::unavailable: return "unavailable";
  case Errc::io: return "io";
  case Errc::internal: return "internal";
  case Errc::threshold: return "threshold";
  }
  return "internal";
}

} // namespace mp
