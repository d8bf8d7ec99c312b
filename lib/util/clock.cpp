#include "util/clock.hpp"

namespace mp::util {

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

} // namespace mp::util
