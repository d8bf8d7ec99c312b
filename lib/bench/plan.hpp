#pragma once
// What a run does over time: its stages, built from a test type's default shape or a TOML
// profile, and the open model's arrival schedule.
//
// A stage holds or ramps a rate (open model) or a number of virtual users (closed model)
// for a while. Arrivals of the open model follow the rate exactly: the cumulative count
// N(t) is the integral of the (piecewise linear) rate, and the k-th request is due at
// N^-1(k), so a ramp from 0 is well defined and the schedule does not drift over a long run.

#include "util/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mp::bench {

enum class Model { open, closed };
enum class TestType { load, stress, spike, endurance, scalability };

/// `load|stress|spike|endurance|scalability`; Errc::usage otherwise.
Expected<TestType> parse_test_type(std::string_view name);
std::string_view test_type_name(TestType t);

struct Stage {
  double duration_s = 0;
  double rate = 0;     ///< open model: requests/s at the start of the stage
  double end_rate = 0; ///< ... and at its end (== rate when it holds)
  double users = 0;    ///< closed model: virtual users at the start
  double end_users = 0;
  bool warmup = false; ///< its requests are left out of the statistics
  bool step = false;   ///< a scalability step: judged on its own, the run may stop after it
};

/// The knobs a test type's shape is scaled by (the seed's names where it has them).
struct ShapeKnobs {
  Model model = Model::open;
  double rate = 100;      ///< R: the nominal rate
  double users = 100;     ///< U: --max-concurrent-users
  double duration_s = 60; ///< D
  double warmup_s = -1;   ///< < 0: the default (10% of D, 1 to 10 s)
  double step_s = 10;     ///< scalability: each step's length
  int max_steps = 10;     ///< scalability: at most this many steps
};

struct Plan {
  Model model = Model::open;
  std::vector<Stage> stages;

  [[nodiscard]] double duration_s() const;
  /// The rate (open) or users (closed) at time t since the start.
  [[nodiscard]] double level_at(double t) const;
  /// The index of the stage at time t (the last one past the end).
  [[nodiscard]] std::size_t stage_at(double t) const;
  /// The start time of stage i.
  [[nodiscard]] double stage_start(std::size_t i) const;
  /// Open model: the number of arrivals due in [0, t].
  [[nodiscard]] double arrivals_until(double t) const;
  /// Open model: the time the k-th arrival (k >= 0, real) is due; +inf past the end.
  [[nodiscard]] double arrival_time(double k) const;
};

/// The documented default shape of a test type (mp-bench(1), "TEST TYPES").
Plan default_plan(TestType type, const ShapeKnobs& knobs);

/// Stages and thresholds from a TOML profile:
///   thresholds = ["p99<250ms"]        # optional
///   warmup = "5s"                     # optional, a first stage at the first stage's level
///   [[stages]]
///   duration = "30s"   rate = 100   end_rate = 500   # or users = 10, end_users = 50
/// Errors name the file and the key (Errc::config).
struct Profile {
  Plan plan;
  std::vector<std::string> thresholds;
};
Expected<Profile> load_profile(const std::string& path, Model model);

/// "30s", "5m", "1h", "250ms", "500us" or bare seconds, as seconds; Errc::usage naming `flag`.
Expected<double> parse_duration(std::string_view text, std::string_view flag);

} // namespace mp::bench
