// Alert rule evaluation: the state machine described in alerts.hpp.

#include "monitor/alerts.hpp"

#include <array>
#include <cmath>
#include <fmt/format.h>
#include <set>
#include <utility>

namespace mp::monitor {

namespace {

constexpr std::array<std::pair<std::string_view, Condition>, 6> k_conditions = {{
    {">", Condition::gt},
    {"<", Condition::lt},
    {">=", Condition::ge},
    {"<=", Condition::le},
    {"==", Condition::eq},
    {"!=", Condition::ne},
}};
constexpr std::array<std::pair<std::string_view, Severity>, 3> k_severities = {{
    {"info", Severity::info},
    {"warning", Severity::warning},
    {"critical", Severity::critical},
}};
constexpr std::array<std::pair<std::string_view, NoData>, 3> k_no_data = {{
    {"keep", NoData::keep},
    {"resolve", NoData::resolve},
    {"alert", NoData::alert},
}};

template <class T, std::size_t N>
std::optional<T> lookup(const std::array<std::pair<std::string_view, T>, N>& table, std::string_view text) {
  for (const auto& [word, v] : table) {
    if (word == text) {
      return v;
    }
  }
  return std::nullopt;
}

template <class T, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, T>, N>& table, T v) {
  for (const auto& [word, x] : table) {
    if (x == v) {
      return word;
    }
  }
  return "?";
}

template <class T, std::size_t N>
Expected<T> lookup_field(const std::array<std::pair<std::string_view, T>, N>& table, std::string_view text,
                         std::string_view field) {
  if (auto v = lookup(table, text)) {
    return *v;
  }
  std::string choices;
  for (const auto& entry : table) {
    choices += choices.empty() ? "" : " ";
    choices += entry.first;
  }
  return fail(Errc::config, fmt::format("{}: expected one of {}", field, choices), std::string(field));
}

bool breaches(Condition c, double v, double threshold) {
  switch (c) {
  case Condition::gt: return v > threshold;
  case Condition::lt: return v < threshold;
  case Condition::ge: return v >= threshold;
  case Condition::le: return v <= threshold;
  case Condition::eq: return v == threshold;
  case Condition::ne: return v != threshold;
  }
  return false;
}

// Whether a firing alert may resolve: past the clear value on the non-breaching side.
bool cleared(const AlertRule& r, double v) {
  const double clear = r.clear_value.value_or(r.value);
  switch (r.condition) {
  case Condition::gt: return v <= clear;
  case Condition::ge: return v < clear;
  case Condition::lt: return v >= clear;
  case Condition::le: return v > clear;
  case Condition::eq:
  case Condition::ne: return !breaches(r.condition, v, r.value);
  }
  return false;
}

Expected<void> field_error(std::string_view prefix, std::string_view field, std::string_view message) {
  const std::string key = fmt::format("{}.{}", prefix, field);
  return fail(Errc::config, fmt::format("{}: {}", key, message), key);
}

void write_number_or_null(util::JsonWriter& w, double v) {
  if (std::isfinite(v)) {
    w.Double(v);
  } else {
    w.Null();
  }
}

} // namespace

std::optional<Condition> parse_condition(std::string_view text) {
  return lookup(k_conditions, text);
}
std::string_view condition_text(Condition c) {
  return name_of(k_conditions, c);
}
std::optional<Severity> parse_severity(std::string_view text) {
  return lookup(k_severities, text);
}
std::string_view severity_name(Severity s) {
  return name_of(k_severities, s);
}
std::optional<NoData> parse_no_data(std::string_view text) {
  return lookup(k_no_data, text);
}
std::string_view no_data_name(NoData n) {
  return name_of(k_no_data, n);
}

Expected<Condition> parse_condition(std::string_view text, std::string_view field) {
  return lookup_field(k_conditions, text, field);
}
Expected<Severity> parse_severity(std::string_view text, std::string_view field) {
  return lookup_field(k_severities, text, field);
}
Expected<NoData> parse_no_data(std::string_view text, std::string_view field) {
  return lookup_field(k_no_data, text, field);
}

std::string_view state_name(AlertState s) {
  switch (s) {
  case AlertState::inactive: return "inactive";
  case AlertState::pending: return "pending";
  case AlertState::firing: return "firing";
  case AlertState::resolved: return "resolved";
  }
  return "?";
}

std::string rule_name(const AlertRule& rule) {
  if (!rule.name.empty()) {
    return rule.name;
  }
  // The same spelling config/alert_rules.cpp gives an unnamed rule: fmt's shortest form.
  return fmt::format("{} {} {}", rule.metric_name, condition_text(rule.condition), rule.value);
}

Expected<void> validate(const AlertRule& rule, std::string_view prefix) {
  if (rule.metric_name.empty()) {
    return field_error(prefix, "metric_name", "required");
  }
  if (!std::isfinite(rule.value)) {
    return field_error(prefix, "value", "must be a finite number");
  }
  const std::pair<std::string_view, double> durations[] = {
      {"for_seconds", rule.for_seconds},
      {"cooldown_seconds", rule.cooldown_seconds},
      {"escalate_after_seconds", rule.escalate_after_seconds}};
  for (const auto& [field, v] : durations) {
    if (!std::isfinite(v) || v < 0) {
      return field_error(prefix, field, "must be a finite number >= 0");
    }
  }
  if (rule.escalate_after_seconds > 0 && rule.severity != Severity::warning) {
    return field_error(
        prefix, "escalate_after_seconds",
        fmt::format("only a warning escalates (to critical); this rule is {}", severity_name(rule.severity)));
  }
  if (rule.clear_value) {
    const double clear = *rule.clear_value;
    const Condition c = rule.condition;
    if (!std::isfinite(clear)) {
      return field_error(prefix, "clear_value", "must be a finite number");
    }
    if (c == Condition::eq || c == Condition::ne) {
      return field_error(prefix, "clear_value", "not used with == or != (they resolve when the breach ends)");
    }
    const bool above = c == Condition::gt || c == Condition::ge;
    if (above ? clear > rule.value : clear < rule.value) {
      return field_error(
          prefix, "clear_value",
          fmt::format("must be {} value ({}) for {}: the alert resolves once the metric is back "
                      "past it",
                      above ? "<=" : ">=", rule.value, condition_text(c)));
    }
  }
  return {};
}

Expected<void> validate(const std::vector<AlertRule>& rules, std::string_view prefix) {
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", prefix, i);
    if (auto ok = validate(rules[i], at); !ok) {
      return ok;
    }
    const std::string name = rule_name(rules[i]);
    if (!names.insert(name).second) {
      return field_error(at, "name", fmt::format("'{}' is the name of an earlier rule", name));
    }
  }
  return {};
}

void write_json(util::JsonWriter& w, const AlertEvent& e) {
  w.StartObject();
  util::write_kv(w, "rule", e.rule);
  util::write_kv(w, "state", state_name(e.state));
  util::write_kv(w, "severity", severity_name(e.severity));
  util::write_key(w, "value");
  write_number_or_null(w, e.value);
  util::write_key(w, "ts");
  w.Double(e.ts);
  util::write_kv(w, "description", e.description);
  util::write_key(w, "notify");
  w.Bool(e.notify);
  w.EndObject();
}

void write_json(util::JsonWriter& w, const ActiveAlert& a) {
  w.StartObject();
  util::write_kv(w, "rule", a.rule);
  util::write_kv(w, "state", state_name(a.state));
  util::write_kv(w, "severity", severity_name(a.severity));
  util::write_key(w, "value");
  write_number_or_null(w, a.value);
  util::write_key(w, "since");
  w.Double(a.since);
  util::write_key(w, "last_notified");
  write_number_or_null(w, a.last_notified > 0 ? a.last_notified : NAN);
  util::write_kv(w, "description", a.description);
  w.EndObject();
}

AlertEngine::AlertEngine(std::vector<AlertRule> rules) : m_rules(std::move(rules)), m_tracks(m_rules.size()) {
  for (std::size_t i = 0; i < m_rules.size(); ++i) {
    m_rules[i].name = rule_name(m_rules[i]);
    m_tracks[i].severity = m_rules[i].severity;
  }
}

std::vector<AlertEvent>
AlertEngine::evaluate(const std::function<std::optional<double>(std::string_view metric)>& value_of,
                      double now) {
  std::vector<AlertEvent> out;
  for (std::size_t i = 0; i < m_rules.size(); ++i) {
    step(i, value_of(m_rules[i].metric_name), now, out);
  }
  return out;
}

void AlertEngine::step(std::size_t i, std::optional<double> value, double now, std::vector<AlertEvent>& out) {
  const AlertRule& r = m_rules[i];
  Track& t = m_tracks[i];
  const bool have = value && !std::isnan(*value);
  double v = have ? *value : NAN;
  bool breach = have && breaches(r.condition, v, r.value);
  if (!have) {
    switch (r.no_data) {
    case NoData::keep:
      if (t.state == AlertState::firing) {
        on_firing_tick(i, now, out);
      }
      return;
    case NoData::resolve:
      if (t.state == AlertState::pending) {
        t.state = AlertState::inactive;
        emit(i, AlertState::inactive, v, now, false, out);
      } else if (t.state == AlertState::firing) {
        resolve(i, v, now, out);
      }
      return;
    case NoData::alert: breach = true; break;
    }
  }
  switch (t.state) {
  case AlertState::inactive:
  case AlertState::resolved:
    if (!breach) {
      return;
    }
    if (r.for_seconds <= 0) {
      fire(i, v, now, out);
      return;
    }
    t.state = AlertState::pending;
    t.since = now;
    t.value = v;
    emit(i, AlertState::pending, v, now, false, out);
    return;
  case AlertState::pending:
    if (!breach) {
      t.state = AlertState::inactive;
      emit(i, AlertState::inactive, v, now, false, out);
      return;
    }
    t.value = v;
    if (now - t.since >= r.for_seconds) {
      fire(i, v, now, out);
    }
    return;
  case AlertState::firing:
    // No data with policy `alert` is a breach, so it never clears here.
    if (have && cleared(r, v)) {
      resolve(i, v, now, out);
      return;
    }
    t.value = v;
    on_firing_tick(i, now, out);
    return;
  }
}

bool AlertEngine::may_notify(std::size_t i, double now) const {
  const Track& t = m_tracks[i];
  return !t.last_notified || now - *t.last_notified >= m_rules[i].cooldown_seconds;
}

void AlertEngine::fire(std::size_t i, double value, double now, std::vector<AlertEvent>& out) {
  Track& t = m_tracks[i];
  t.state = AlertState::firing;
  t.since = now;
  t.value = value;
  t.severity = m_rules[i].severity;
  t.escalated = false;
  t.sent = may_notify(i, now);
  if (t.sent) {
    t.last_notified = now;
  }
  emit(i, AlertState::firing, value, now, t.sent, out);
}

// The time-driven steps of a firing alert: escalation, then a notification deferred by
// the cooldown.
void AlertEngine::on_firing_tick(std::size_t i, double now, std::vector<AlertEvent>& out) {
  const AlertRule& r = m_rules[i];
  Track& t = m_tracks[i];
  const bool escalate = r.severity == Severity::warning && !t.escalated && r.escalate_after_seconds > 0 &&
                        now - t.since >= r.escalate_after_seconds;
  if (escalate) {
    t.escalated = true;
    t.severity = Severity::critical;
  }
  if (escalate || (!t.sent && may_notify(i, now))) {
    t.sent = true;
    t.last_notified = now;
    emit(i, AlertState::firing, t.value, now, true, out);
  }
}

void AlertEngine::resolve(std::size_t i, double value, double now, std::vector<AlertEvent>& out) {
  Track& t = m_tracks[i];
  const bool notify = t.sent;
  if (notify) {
    t.last_notified = now; // a resolve is a message too: a flap right after it waits out the cooldown
  }
  t.value = value;
  emit(i, AlertState::resolved, value, now, notify, out);
  t.state = AlertState::inactive;
  t.severity = m_rules[i].severity;
  t.escalated = false;
  t.sent = false;
}

void AlertEngine::emit(std::size_t i, AlertState state, double value, double now, bool notify,
                       std::vector<AlertEvent>& out) {
  const AlertRule& r = m_rules[i];
  out.push_back(AlertEvent{r.name, state, m_tracks[i].severity, value, now, r.description, notify});
}

std::vector<ActiveAlert> AlertEngine::active() const {
  std::vector<ActiveAlert> out;
  for (std::size_t i = 0; i < m_rules.size(); ++i) {
    const Track& t = m_tracks[i];
    if (t.state != AlertState::pending && t.state != AlertState::firing) {
      continue;
    }
    out.push_back(ActiveAlert{m_rules[i].name, t.state, t.severity, t.value, t.since,
                              t.last_notified.value_or(0), m_rules[i].description});
  }
  return out;
}

void AlertEngine::restore(const std::vector<ActiveAlert>& saved) {
  for (const ActiveAlert& a : saved) {
    if (a.state != AlertState::pending && a.state != AlertState::firing) {
      continue;
    }
    for (std::size_t i = 0; i < m_rules.size(); ++i) {
      if (m_rules[i].name != a.rule) {
        continue;
      }
      Track& t = m_tracks[i];
      t.state = a.state;
      t.severity = a.severity;
      t.value = a.value;
      t.since = a.since;
      t.last_notified = a.last_notified > 0 ? std::optional(a.last_notified) : std::nullopt;
      t.sent = a.state == AlertState::firing && t.last_notified && *t.last_notified >= a.since;
      t.escalated = m_rules[i].severity == Severity::warning && a.severity == Severity::critical;
      break;
    }
  }
}

} // namespace mp::monitor
