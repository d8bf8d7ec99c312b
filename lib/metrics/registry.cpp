#include "metrics/registry.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace mp::metrics {

namespace {

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

/// `{a="1",b="2"` without the closing brace, so `le` can be appended; empty for none.
std::string label_prefix(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += i ? "," : "{";
    out += names[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out += '"';
  }
  return out;
}

std::string close_labels(const std::string& prefix) {
  return prefix.empty() ? "" : prefix + "}";
}

std::string number(double v) {
  return fmt::format("{}", v);
}

void write_header(std::string& out, const FamilyBase& f, std::string_view type) {
  out += "# HELP ";
  out += f.name();
  out += ' ';
  for (char c : f.help()) {
    out += c == '\n' ? ' ' : c;
  }
  out += "\n# TYPE ";
  out += f.name();
  out += ' ';
  out += type;
  out += '\n';
}

void write_labels_json(util::JsonWriter& w, const std::vector<std::string>& names,
                       const std::vector<std::string>& values) {
  util::write_key(w, "labels");
  w.StartObject();
  for (std::size_t i = 0; i < names.size(); ++i) {
    util::write_kv(w, names[i], values[i]);
  }
  w.EndObject();
}

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// Counters, fractional counters and gauges: one value a series.
std::string scalar_text(const Counter& c) {
  return std::to_string(c.value());
}
std::string scalar_text(const FloatCounter& c) {
  return number(c.value());
}
std::string scalar_text(const Gauge& g) {
  return number(g.value());
}
void scalar_json(util::JsonWriter& w, const Counter& c) {
  w.Uint64(c.value());
}
void scalar_json(util::JsonWriter& w, const FloatCounter& c) {
  w.Double(c.value());
}
void scalar_json(util::JsonWriter& w, const Gauge& g) {
  w.Double(g.value());
}

template <class M> void write_scalar_prometheus(const Family<M>& f, std::string& out, std::string_view type) {
  write_header(out, f, type);
  for (const auto& [labels, m] : f.series()) {
    out += f.name();
    out += close_labels(label_prefix(f.label_names(), labels));
    out += ' ';
    out += scalar_text(*m);
    out += '\n';
  }
}

template <class M> void write_scalar_json(const Family<M>& f, util::JsonWriter& w) {
  for (const auto& [labels, m] : f.series()) {
    w.StartObject();
    write_labels_json(w, f.label_names(), labels);
    util::write_key(w, "value");
    scalar_json(w, *m);
    w.EndObject();
  }
}

} // namespace

const std::vector<std::pair<double, std::string_view>>& bucket_bounds() {
  static const std::vector<std::pair<double, std::string_view>> b = {
      {0.0001, "0.0001"}, {0.00025, "0.00025"}, {0.0005, "0.0005"}, {0.001, "0.001"}, {0.0025, "0.0025"},
      {0.005, "0.005"},   {0.01, "0.01"},       {0.025, "0.025"},   {0.05, "0.05"},   {0.1, "0.1"},
      {0.25, "0.25"},     {0.5, "0.5"},         {1.0, "1"},         {2.5, "2.5"},     {5.0, "5"},
      {10.0, "10"},       {30.0, "30"},         {60.0, "60"}};
  return b;
}

void write_latency_summary(util::JsonWriter& w, const util::Histogram& h) {
  util::write_key(w, "count");
  w.Uint64(h.count());
  util::write_key(w, "mean_ms");
  w.Double(h.mean_ns() / 1e6);
  const std::pair<const char*, double> qs[] = {
      {"p50_ms", 0.5}, {"p90_ms", 0.9}, {"p95_ms", 0.95}, {"p99_ms", 0.99}, {"p999_ms", 0.999}};
  for (const auto& [name, q] : qs) {
    util::write_key(w, name);
    w.Double(ms(h.quantile_ns(q)));
  }
  util::write_key(w, "max_ms");
  w.Double(ms(h.max_ns()));
}

template <class M> M& Family<M>::with(const std::vector<std::string_view>& values) {
  if (values.size() != label_names().size()) {
    throw std::logic_error(
        fmt::format("metric {}: {} label values for {} labels", name(), values.size(), label_names().size()));
  }
  std::vector<std::string> key(values.begin(), values.end());
  std::lock_guard lock(m_mutex);
  auto it = m_series.find(key);
  if (it != m_series.end()) {
    return *it->second;
  }
  if (m_series.size() >= Registry::k_max_series) {
    key.assign(values.size(), "_overflow");
    it = m_series.find(key);
    if (it != m_series.end()) {
      return *it->second;
    }
  }
  auto [pos, inserted] = m_series.emplace(std::move(key), std::make_unique<M>());
  return *pos->second;
}

template <class M> std::vector<std::pair<std::vector<std::string>, const M*>> Family<M>::series() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::pair<std::vector<std::string>, const M*>> out;
  out.reserve(m_series.size());
  for (const auto& [k, v] : m_series) {
    out.emplace_back(k, v.get());
  }
  return out;
}

template <> void Family<Counter>::write_prometheus(std::string& out) const {
  write_scalar_prometheus(*this, out, "counter");
}
template <> void Family<FloatCounter>::write_prometheus(std::string& out) const {
  write_scalar_prometheus(*this, out, "counter");
}
template <> void Family<Gauge>::write_prometheus(std::string& out) const {
  write_scalar_prometheus(*this, out, "gauge");
}
template <> void Family<Counter>::write_json(util::JsonWriter& w) const {
  write_scalar_json(*this, w);
}
template <> void Family<FloatCounter>::write_json(util::JsonWriter& w) const {
  write_scalar_json(*this, w);
}
template <> void Family<Gauge>::write_json(util::JsonWriter& w) const {
  write_scalar_json(*this, w);
}

template <> void Family<Histogram>::write_prometheus(std::string& out) const {
  write_header(out, *this, "histogram");
  for (const auto& [labels, h] : series()) {
    const util::Histogram snap = h->snapshot();
    const std::string prefix = label_prefix(label_names(), labels);
    const std::string sep = prefix.empty() ? "{" : prefix + ",";
    for (const auto& [bound, text] : bucket_bounds()) {
      const auto ns = static_cast<std::uint64_t>(bound * 1e9);
      out += fmt::format("{}_bucket{}le=\"{}\"}} {}\n", name(), sep, text, snap.count_at_or_below(ns));
    }
    out += fmt::format("{}_bucket{}le=\"+Inf\"}} {}\n", name(), sep, snap.count());
    out += fmt::format("{}_sum{} {}\n", name(), close_labels(prefix),
                       number(static_cast<double>(snap.sum_ns()) / 1e9));
    out += fmt::format("{}_count{} {}\n", name(), close_labels(prefix), snap.count());
  }
}

template <> void Family<Histogram>::write_json(util::JsonWriter& w) const {
  for (const auto& [labels, h] : series()) {
    w.StartObject();
    write_labels_json(w, label_names(), labels);
    write_latency_summary(w, h->snapshot());
    w.EndObject();
  }
}

template class Family<Counter>;

template class Family<Gauge>;
template class Family<FloatCounter>;
template class Family<Histogram>;

template <class M>
Family<M>& Registry::family(std::string_view name, std::string_view help, Type type,
                            std::vector<std::string> labels) {
  std::lock_guard lock(m_mutex);
  for (const auto& f : m_families) {
    if (f->name() == name) {
      auto* typed = dynamic_cast<Family<M>*>(f.get());
      if (!typed || f->label_names() != labels) {
        throw std::logic_error(fmt::format("metric {} registered twice with different shapes", name));
      }
      return *typed;
    }
  }
  auto f = std::make_unique<Family<M>>(std::string(name), std::string(help), type, std::move(labels));
  auto& ref = *f;
  m_families.push_back(std::move(f));
  return ref;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   std::vector<std::string> labels) {
  return family<Counter>(name, help, Type::counter, std::move(labels));
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               std::vector<std::string> labels) {
  return family<Gauge>(name, help, Type::gauge, std::move(labels));
}

Family<FloatCounter>& Registry::float_counter(std::string_view name, std::string_view help,
                                              std::vector<std::string> labels) {
  return family<FloatCounter>(name, help, Type::counter, std::move(labels));
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<std::string> labels) {
  return family<Histogram>(name, help, Type::histogram, std::move(labels));
}

void Registry::on_collect(std::function<void()> hook) {
  std::lock_guard lock(m_mutex);
  m_hooks.push_back(std::move(hook));
}

void Registry::collect() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(m_mutex);
    hooks = m_hooks;
  }
  for (const auto& h : hooks) {
    h();
  }
}

std::string Registry::prometheus_text() const {
  collect();
  std::string out;
  std::lock_guard lock(m_mutex);
  for (const auto& f : m_families) {
    f->write_prometheus(out);
  }
  return out;
}

namespace {
std::string label_text(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "" : ",";
    out += names[i];
    out += '=';
    out += values[i];
  }
  return out;
}
} // namespace

std::vector<Registry::Value> Registry::values() const {
  collect();
  std::lock_guard lock(m_mutex);
  std::vector<Value> out;
  for (const auto& f : m_families) {
    const auto& names = f->label_names();
    if (const auto* c = dynamic_cast<const Family<Counter>*>(f.get())) {
      for (const auto& [labels, m] : c->series()) {
        out.push_back({f->name(), label_text(names, labels), static_cast<double>(m->value())});
      }
    } else if (const auto* fc = dynamic_cast<const Family<FloatCounter>*>(f.get())) {
      for (const auto& [labels, m] : fc->series()) {
        out.push_back({f->name(), label_text(names, labels), m->value()});
      }
    } else if (const auto* g = dynamic_cast<const Family<Gauge>*>(f.get())) {
      for (const auto& [labels, m] : g->series()) {
        out.push_back({f->name(), label_text(names, labels), m->value()});
      }
    } else if (const auto* h = dynamic_cast<const Family<Histogram>*>(f.get())) {
      for (const auto& [labels, m] : h->series()) {
        const auto snap = m->snapshot();
        const std::string l = label_text(names, labels);
        out.push_back({f->name() + "_count", l, static_cast<double>(snap.count())});
        out.push_back({f->name() + "_sum", l, static_cast<double>(snap.sum_ns()) / 1e9});
        out.push_back({f->name() + "_p50_ms", l, static_cast<double>(snap.quantile_ns(0.50)) / 1e6});
        out.push_back({f->name() + "_p99_ms", l, static_cast<double>(snap.quantile_ns(0.99)) / 1e6});
      }
    }
  }
  return out;
}

void Registry::write_json(util::JsonWriter& w) const {
  collect();
  std::lock_guard lock(m_mutex);
  w.StartObject();
  for (const auto& f : m_families) {
    util::write_key(w, f->name());
    w.StartObject();
    util::write_kv(w, "type",
                   f->type() == Type::counter ? "counter"
                   : f->type() == Type::gauge ? "gauge"
                                              : "histogram");
    util::write_kv(w, "help", f->help());
    util::write_key(w, "series");
    w.StartArray();
    f->write_json(w);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
}

} // namespace mp::metrics
