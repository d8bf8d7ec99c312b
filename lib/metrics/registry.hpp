#pragma once
// The metric registry: counters, gauges and latency histograms in labelled families,
// written out as Prometheus text exposition (format 0.0.4) and as JSON.
//
// Label sets are fixed per family and bounded: a family holds at most
// `Registry::k_max_series` series; past that, new label sets share one series whose
// labels all read "_overflow", so a bug can never explode cardinality. Never use user,
// email or request ids as label values.
//
// Thread-safety: every method may be called from any thread. `with()` takes the
// family's lock; hold on to the returned reference (it is stable for the registry's
// lifetime) rather than calling it on a hot path.

#include "util/histogram.hpp"
#include "util/json.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mp::metrics {

class Counter {
public:
  void inc(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }
  /// Mirrors a monotonic count kept elsewhere (set it only from a collect hook).
  void set(std::uint64_t total) noexcept { m_value.store(total, std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> m_value{0};
};

/// A counter of fractional amounts (dollars, seconds): exposed as a Prometheus counter.
class FloatCounter {
public:
  void add(double d) noexcept {
    if (d > 0) {
      m_value.fetch_add(d, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<double> m_value{0.0};
};

class Gauge {
public:
  void set(double v) noexcept { m_value.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { m_value.fetch_add(d, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<double> m_value{0.0};
};

/// A latency histogram; exposed in seconds.
class Histogram {
public:
  void observe(std::chrono::nanoseconds d) noexcept { m_hist.record(d); }
  void observe_ns(std::uint64_t ns) noexcept { m_hist.record_ns(ns); }
  [[nodiscard]] util::Histogram snapshot() const noexcept { return m_hist.snapshot(); }
  /// The samples themselves, for a layer below metrics to record into (net's WebSocket
  /// delivery latency).
  [[nodiscard]] util::AtomicHistogram& samples() noexcept { return m_hist; }

private:
  util::AtomicHistogram m_hist;
};

enum class Type { counter, gauge, histogram };

class FamilyBase {
public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
      : m_name(std::move(name)), m_help(std::move(help)), m_type(type), m_labels(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::string& help() const { return m_help; }
  [[nodiscard]] Type type() const { return m_type; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return m_labels; }

  virtual void write_prometheus(std::string& out) const = 0;
  virtual void write_json(util::JsonWriter& w) const = 0;

private:
  std::string m_name;
  std::string m_help;
  Type m_type;
  std::vector<std::string> m_labels;
};

template <class M> class Family final : public FamilyBase {
public:
  using FamilyBase::FamilyBase;

  /// The series for these label values (one per label name, in order).
  M& with(const std::vector<std::string_view>& values);
  /// A copy of every (label values, series) pair, for exposition.
  std::vector<std::pair<std::vector<std::string>, const M*>> series() const;

  void write_prometheus(std::string& out) const override;
  void write_json(util::JsonWriter& w) const override;

private:
  mutable std::mutex m_mutex;
  std::map<std::vector<std::string>, std::unique_ptr<M>, std::less<>> m_series;
};

class Registry {
public:
  static constexpr std::size_t k_max_series = 1000;

  /// Returns the family `name`, creating it on first use. Names follow Prometheus'
  /// conventions: `mp_` prefix, base units, `_total` on counters, `_seconds` on histograms.
  Family<Counter>& counter(std::string_view name, std::string_view help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help, std::vector<std::string> labels = {});
  Family<FloatCounter>& float_counter(std::string_view name, std::string_view help,
                                      std::vector<std::string> labels = {});
  Family<Histogram>& histogram(std::string_view name, std::string_view help,
                               std::vector<std::string> labels = {});

  /// Runs before every exposition: the place to refresh gauges computed on demand.
  void on_collect(std::function<void()> hook);

  /// Prometheus text exposition format 0.0.4.
  [[nodiscard]] std::string prometheus_text() const;
  /// `{"<name>":{"type","help","series":[...]}, ...}`; histograms carry count, sum and
  /// percentiles in milliseconds.
  void write_json(util::JsonWriter& w) const;

  /// One value of every series, for the history: counters and gauges as they are, a
  /// histogram as `<name>_count`, `<name>_sum` (seconds), `<name>_p50_ms`, `<name>_p99_ms`.
  /// `labels` is canonical: `k=v,k2=v2` in label order, "" for none.
  struct Value {
    std::string name;
    std::string labels;
    double value;
  };
  [[nodiscard]] std::vector<Value> values() const;

private:
  template <class M>
  Family<M>& family(std::string_view name, std::string_view help, Type type, std::vector<std::string> labels);
  void collect() const;

  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<FamilyBase>> m_families;
  std::vector<std::function<void()>> m_hooks;
};

/// The `le` bounds, in seconds, of exposed histograms: 100 us to 60 s.
const std::vector<std::pair<double, std::string_view>>& bucket_bounds();

/// Writes a latency summary (count, mean, p50..p99.9, max in ms) into an open object.
void write_latency_summary(util::JsonWriter& w, const util::Histogram& h);

} // namespace mp::metrics
