// Stages, default shapes, TOML profiles and the open model's schedule (plan.hpp).

#include "bench/plan.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace mp::bench {

namespace {

constexpr std::string_view k_type_names[] = {"load", "stress", "spike", "endurance", "scalability"};

Stage hold(double duration, double level, Model model) {
  Stage s;
  s.duration_s = duration;
  if (model == Model::open) {
    s.rate = s.end_rate = level;
  } else {
    s.users = s.end_users = level;
  }
  return s;
}

/// The arrivals of one stage from its start to `dt` into it: the integral of a linear rate.
double stage_arrivals(const Stage& s, double dt) {
  const double slope = s.duration_s > 0 ? (s.end_rate - s.rate) / s.duration_s : 0;
  return s.rate * dt + 0.5 * slope * dt * dt;
}

/// The time into stage `s` at which `n` of its arrivals are due (inverse of stage_arrivals).
double stage_time_of(const Stage& s, double n) {
  const double slope = s.duration_s > 0 ? (s.end_rate - s.rate) / s.duration_s : 0;
  if (std::abs(slope) < 1e-12) {
    return s.rate > 0 ? n / s.rate : s.duration_s;
  }
  // 0.5 slope t^2 + rate t - n = 0, the root in [0, duration].
  const double disc = s.rate * s.rate + 2 * slope * n;
  if (disc < 0) {
    return s.duration_s;
  }
  return (-s.rate + std::sqrt(disc)) / slope;
}

} // namespace

Expected<TestType> parse_test_type(std::string_view name) {
  for (std::size_t i = 0; i < std::size(k_type_names); ++i) {
    if (name == k_type_names[i]) {
      return static_cast<TestType>(i);
    }
  }
  return fail(Errc::usage,
              fmt::format("'{}' is not a test type (load, stress, spike, endurance, scalability)", name),
              "type");
}

std::string_view test_type_name(TestType t) {
  return k_type_names[static_cast<std::size_t>(t)];
}

double Plan::duration_s() const {
  double d = 0;
  for (const auto& s : stages) {
    d += s.duration_s;
  }
  return d;
}

std::size_t Plan::stage_at(double t) const {
  double start = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    start += stages[i].duration_s;
    if (t < start) {
      return i;
    }
  }
  return stages.empty() ? 0 : stages.size() - 1;
}

double Plan::stage_start(std::size_t i) const {
  double start = 0;
  for (std::size_t j = 0; j < i && j < stages.size(); ++j) {
    start += stages[j].duration_s;
  }
  return start;
}

double Plan::level_at(double t) const {
  if (stages.empty()) {
    return 0;
  }
  const std::size_t i = stage_at(t);
  const Stage& s = stages[i];
  const double f = s.duration_s > 0 ? std::clamp((t - stage_start(i)) / s.duration_s, 0.0, 1.0) : 1.0;
  return model == Model::open ? s.rate + (s.end_rate - s.rate) * f : s.users + (s.end_users - s.users) * f;
}

double Plan::arrivals_until(double t) const {
  double n = 0, start = 0;
  for (const auto& s : stages) {
    if (t <= start) {
      break;
    }
    n += stage_arrivals(s, std::min(t - start, s.duration_s));
    start += s.duration_s;
  }
  return n;
}

double Plan::arrival_time(double k) const {
  double n = 0, start = 0;
  for (const auto& s : stages) {
    const double in_stage = stage_arrivals(s, s.duration_s);
    if (k < n + in_stage) {
      return start + std::min(stage_time_of(s, k - n), s.duration_s);
    }
    n += in_stage;
    start += s.duration_s;
  }
  return std::numeric_limits<double>::infinity();
}

Plan default_plan(TestType type, const ShapeKnobs& k) {
  Plan p;
  p.model = k.model;
  const double level = k.model == Model::open ? k.rate : k.users;
  const double d = k.duration_s;
  auto add = [&](double duration, double lvl) {
    p.stages.push_back(hold(duration, lvl, k.model));
    return &p.stages.back();
  };
  switch (type) {
  case TestType::load:
  case TestType::endurance: add(d, level); break;
  case TestType::stress:
    for (double f : {1.0, 1.5, 2.0, 3.0}) {
      add(d / 4, level * f)->step = true;
    }
    break;
  case TestType::spike:
    add(d * 0.4, level);
    add(d * 0.2, level * 5)->step = true;
    add(d * 0.4, level);
    break;
  case TestType::scalability:
    for (int i = 1; i <= k.max_steps; ++i) {
      add(k.step_s, level * i)->step = true;
    }
    break;
  }
  // Warm-up: a ramp from a tenth of the first level up to it, before the measured stages.
  const double warmup = k.warmup_s >= 0 ? k.warmup_s : std::clamp(d * 0.1, 1.0, 10.0);
  if (warmup > 0 && !p.stages.empty()) {
    Stage w = p.stages.front();
    w.duration_s = warmup;
    w.warmup = true;
    w.step = false;
    w.rate = w.end_rate * 0.1;
    w.users = std::max(1.0, std::ceil(w.end_users * 0.1));
    p.stages.insert(p.stages.begin(), w);
  }
  return p;
}

Expected<double> parse_duration(std::string_view text, std::string_view flag) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  double scale = -1;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 1e-3;
  } else if (unit == "us") {
    scale = 1e-6;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  }
  if (text.empty() || ec != std::errc{} || scale < 0 || v < 0 || !std::isfinite(v)) {
    return fail(Errc::usage, fmt::format("{}: '{}' is not a duration (e.g. 250ms, 30s, 5m, 1h)", flag, text),
                std::string(flag));
  }
  return v * scale;
}

namespace {

Expected<double> duration_node(const toml::node* n, const std::string& where) {
  if (n == nullptr) {
    return fail(Errc::config, where + ": missing", where);
  }
  if (auto s = n->value<std::string>()) {
    auto d = parse_duration(*s, where);
    if (!d) {
      return fail(Errc::config, d.error().message, where);
    }
    return *d;
  }
  if (auto v = n->value<double>()) {
    if (*v >= 0) {
      return *v;
    }
  }
  return fail(Errc::config, where + ": not a duration (\"30s\" or seconds)", where);
}

Expected<double> number_node(const toml::node* n, const std::string& where, double fallback) {
  if (n == nullptr) {
    return fallback;
  }
  if (auto v = n->value<double>(); v && *v >= 0 && std::isfinite(*v)) {
    return *v;
  }
  return fail(Errc::config, where + ": not a number >= 0", where);
}

} // namespace

Expected<Profile> load_profile(const std::string& path, Model model) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, fmt::format("{}: {} (line {})", path, e.description(), e.source().begin.line),
                "--profile");
  }
  static const std::vector<std::string_view> k_top = {"stages", "thresholds", "warmup"};
  static const std::vector<std::string_view> k_stage = {"duration", "rate", "end_rate", "users", "end_users"};
  for (const auto& [key, _] : root) {
    if (std::find(k_top.begin(), k_top.end(), key.str()) == k_top.end()) {
      return fail(Errc::config,
                  fmt::format("{}: unknown key '{}' (stages, thresholds, warmup)", path, key.str()),
                  std::string(key.str()));
    }
  }
  Profile prof;
  prof.plan.model = model;
  const toml::array* stages = root["stages"].as_array();
  if (stages == nullptr || stages->empty()) {
    return fail(Errc::config, path + ": no [[stages]]", "stages");
  }
  for (std::size_t i = 0; i < stages->size(); ++i) {
    const toml::table* t = stages->get(i)->as_table();
    const std::string where = fmt::format("{}: stages[{}]", path, i);
    if (t == nullptr) {
      return fail(Errc::config, where + ": not a table", "stages");
    }
    for (const auto& [key, _] : *t) {
      if (std::find(k_stage.begin(), k_stage.end(), key.str()) == k_stage.end()) {
        return fail(Errc::config, fmt::format("{}: unknown key '{}'", where, key.str()),
                    std::string(key.str()));
      }
    }
    Stage s;
    s.step = true;
    auto d = duration_node(t->get("duration"), where + ".duration");
    auto r = number_node(t->get("rate"), where + ".rate", 0);
    auto u = number_node(t->get("users"), where + ".users", 0);
    if (!d || !r || !u) {
      return std::unexpected(!d ? d.error() : !r ? r.error() : u.error());
    }
    auto er = number_node(t->get("end_rate"), where + ".end_rate", *r);
    auto eu = number_node(t->get("end_users"), where + ".end_users", *u);
    if (!er || !eu) {
      return std::unexpected(!er ? er.error() : eu.error());
    }
    s.duration_s = *d;
    s.rate = *r;
    s.end_rate = *er;
    s.users = *u;
    s.end_users = *eu;
    prof.plan.stages.push_back(s);
  }
  if (const toml::node* w = root.get("warmup")) {
    auto d = duration_node(w, path + ": warmup");
    if (!d) {
      return std::unexpected(d.error());
    }
    if (*d > 0) {
      Stage first = prof.plan.stages.front();
      first.duration_s = *d;
      first.warmup = true;
      first.step = false;
      first.end_rate = first.rate;
      first.end_users = first.users;
      prof.plan.stages.insert(prof.plan.stages.begin(), first);
    }
  }
  if (const toml::node* th = root.get("thresholds")) {
    const toml::array* arr = th->as_array();
    if (arr == nullptr) {
      return fail(Errc::config, path + ": thresholds: not an array of strings", "thresholds");
    }
    for (const auto& e : *arr) {
      auto s = e.value<std::string>();
      if (!s) {
        return fail(Errc::config, path + ": thresholds: not an array of strings", "thresholds");
      }
      prof.thresholds.push_back(*s);
    }
  }
  return prof;
}

} // namespace mp::bench
