#pragma once
// Alert rules and the state machine that evaluates them. Pure logic: the caller passes
// each metric's current value and the time (`now`, Unix seconds), and stores or sends
// the events it gets back; nothing here reads a clock, a file or a socket.
//
// A rule is the seed's `metric_name condition value` plus the knobs that keep alerts
// honest (research/monitoring.md section 4: flapping, notification storms, no-data noise):
//
//   inactive --breach--> pending --breach held for_seconds--> firing --cleared--> resolved
//      ^                    |                                                   (inactive)
//      +--breach ends-------+  (event `inactive`, not notified)
//
// - A breach is `value condition threshold` (e.g. `ai_response_time_ms > 5000`). With
//   `for_seconds` 0 the first breach fires at once; otherwise the alert is `pending` and
//   fires at the first evaluation at least `for_seconds` after the breach began, provided
//   every evaluation in between breached. A pending alert whose breach ends goes back to
//   inactive without a notification.
// - Hysteresis: a firing alert resolves only when the value is past `clear_value` on the
//   other side (for `>`: value <= clear_value; `>=`: <; `<`: >=; `<=`: >). Values between
//   the clear value and the threshold keep it firing, so a metric hovering around the
//   threshold does not flap. The clear value defaults to the threshold. `==` and `!=`
//   resolve when the breach ends (a clear value makes no sense for them).
// - Escalation: a `warning` rule firing for `escalate_after_seconds` (0: never) emits a
//   `firing` event with severity `critical`, always notified: a severity change is what a
//   receiver routes on. It stays critical until it resolves.
// - Cooldown: a notification for a rule (firing, escalation or resolve) starts its
//   cooldown; a `firing` event inside it is recorded with notify=false. If the alert is
//   still firing when the cooldown has passed, the next evaluation emits a `firing` event
//   with notify=true, so an incident that began with a flap is still sent. A `resolved`
//   event is notified exactly when the receivers were told it was firing: nobody is left
//   with an alert open forever, and nobody gets a resolve for a firing they never saw.
// - No data (`value_of` returns nullopt or NaN): `keep` leaves the state as it is (a
//   pending alert does not advance, a firing one can still escalate or send its deferred
//   notification); `resolve` treats it as cleared; `alert` treats it as a breach with
//   value NaN (so `for_seconds` still applies).
//
// Events come out in rule order. `pending` and `inactive` events are for the history and
// are never notified; `notify` on `firing`/`resolved` says whether to send it.
//
// Not thread-safe: one evaluator calls evaluate(); copy active() out for readers.

#include "util/error.hpp"
#include "util/json.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::monitor {

enum class Condition { gt, lt, ge, le, eq, ne }; // ">", "<", ">=", "<=", "==", "!="

/// ">" and the others, exactly; nullopt for anything else.
std::optional<Condition> parse_condition(std::string_view text);
std::string_view condition_text(Condition c);

enum class Severity { info, warning, critical };
/// "info", "warning", "critical"; nullopt for anything else.
std::optional<Severity> parse_severity(std::string_view text);
std::string_view severity_name(Severity s);

/// What a rule does when its metric has no value: keep its state, resolve, or fire (as
/// firing with value NaN).
enum class NoData { keep, resolve, alert };
/// "keep", "resolve", "alert"; nullopt for anything else.
std::optional<NoData> parse_no_data(std::string_view text);
std::string_view no_data_name(NoData n);

/// The same parsers for config code: the error (Errc::config) names `field` and lists the
/// choices, e.g. "monitoring.alerts[2].condition: expected one of > < >= <= == !=".
Expected<Condition> parse_condition(std::string_view text, std::string_view field);
Expected<Severity> parse_severity(std::string_view text, std::string_view field);
Expected<NoData> parse_no_data(std::string_view text, std::string_view field);

struct AlertRule {
  std::string name; ///< empty: "metric_name condition value", e.g. "error_rate_percent > 5"
  std::string metric_name;
  Condition condition = Condition::gt;
  double value = 0;
  Severity severity = Severity::warning;
  std::string description;
  double for_seconds = 0;        ///< breach must hold this long before firing
  double cooldown_seconds = 300; ///< no repeated notification within it
  /// Hysteresis: a firing alert resolves only when the metric is back past this (default:
  /// value). Must be on the non-breaching side of `value` (for `>`: clear_value <= value).
  std::optional<double> clear_value;
  double escalate_after_seconds = 0; ///< 0 = never; a warning firing longer becomes critical
  NoData no_data = NoData::keep;
};

/// The name a rule is known by: `name`, or "metric_name condition value" when it is empty.
std::string rule_name(const AlertRule& rule);

/// Checks one rule. Errors (Errc::config) name the field under `prefix`, e.g.
/// "monitoring.alerts[2].for_seconds: must be a finite number >= 0".
Expected<void> validate(const AlertRule& rule, std::string_view prefix = "alert");
/// Checks every rule (prefix "monitoring.alerts" gives "monitoring.alerts[0].value") and
/// that no two share a name, since alerts are reported and stored by rule name.
Expected<void> validate(const std::vector<AlertRule>& rules, std::string_view prefix = "monitoring.alerts");

enum class AlertState { inactive, pending, firing, resolved };
std::string_view state_name(AlertState s);

struct AlertEvent {
  std::string rule;
  AlertState state = AlertState::inactive;
  Severity severity = Severity::warning;
  double value = 0; ///< the metric's value; NaN when it had none
  double ts = 0;
  std::string description;
  bool notify = false; ///< false when inside cooldown (or pending/inactive): recorded, not sent
};

struct ActiveAlert {
  std::string rule;
  AlertState state = AlertState::pending; ///< pending or firing
  Severity severity = Severity::warning;  ///< critical once escalated
  double value = 0;                       ///< the last value seen; NaN for no data
  double since = 0;                       ///< when it became pending, or firing
  double last_notified = 0;               ///< 0: never
  std::string description;
};

/// `{"rule":..,"state":..,"severity":..,"value":..|null,"ts":..,"description":..,"notify":..}`
void write_json(util::JsonWriter& w, const AlertEvent& e);
/// `{"rule":..,"state":..,"severity":..,"value":..|null,"since":..,"last_notified":..|null,
/// "description":..}`
void write_json(util::JsonWriter& w, const ActiveAlert& a);

class AlertEngine {
public:
  /// `rules` should have passed validate(); rules without a name get rule_name().
  explicit AlertEngine(std::vector<AlertRule> rules);

  /// Evaluates every rule once at `now`; returns the state changes (and deferred
  /// notifications), in rule order. `value_of` is called once per rule.
  std::vector<AlertEvent>
  evaluate(const std::function<std::optional<double>(std::string_view metric)>& value_of, double now);

  /// The pending and firing alerts, in rule order.
  [[nodiscard]] std::vector<ActiveAlert> active() const;
  [[nodiscard]] const std::vector<AlertRule>& rules() const { return m_rules; }

  /// Restores states saved from active() (after a restart), matched by rule name; alerts
  /// of rules that no longer exist are ignored. A firing alert notified at or after its
  /// `since` counts as sent; a critical one of a warning rule as escalated.
  void restore(const std::vector<ActiveAlert>& saved);

private:
  struct Track {
    AlertState state = AlertState::inactive;
    Severity severity = Severity::warning;
    double value = 0;
    double since = 0;
    std::optional<double> last_notified;
    bool sent = false; ///< receivers were told it is firing
    bool escalated = false;
  };
  void step(std::size_t i, std::optional<double> value, double now, std::vector<AlertEvent>& out);
  void fire(std::size_t i, double value, double now, std::vector<AlertEvent>& out);
  void on_firing_tick(std::size_t i, double now, std::vector<AlertEvent>& out);
  void resolve(std::size_t i, double value, double now, std::vector<AlertEvent>& out);
  bool may_notify(std::size_t i, double now) const;
  void emit(std::size_t i, AlertState state, double value, double now, bool notify,
            std::vector<AlertEvent>& out);

  std::vector<AlertRule> m_rules;
  std::vector<Track> m_tracks;
};

} // namespace mp::monitor
