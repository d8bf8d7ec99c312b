#include "serve/router.hpp"

#include <array>

namespace mp::serve {

namespace {

// Segments of a path, on the stack: matching runs on every request and allocates nothing.
struct Segments {
  static constexpr std::size_t k_max = 16;
  std::array<std::string_view, k_max> items;
  std::size_t size = 0;
  bool overflow = false;
};

Segments split_path(std::string_view path) {
  Segments out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto j = path.find('/', i);
    if (out.size == Segments::k_max) {
      out.overflow = true;
      break;
    }
    out.items[out.size++] = path.substr(i, j - i);
    if (j == std::string_view::npos) {
      break;
    }
    i = j;
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

} // namespace

std::size_t Router::add(std::string method, std::string pattern, Access access) {
  Route r{std::move(method), std::move(pattern), {}, access};
  const Segments segs = split_path(r.pattern);
  for (std::size_t i = 0; i < segs.size; ++i) {
    r.segments.emplace_back(segs.items[i]);
  }
  m_routes.push_back(std::move(r));
  return m_routes.size() - 1;
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  const Segments segs = split_path(path);
  if (segs.overflow) {
    return m;
  }
  for (std::size_t i = 0; i < m_routes.size(); ++i) {
    const Route& r = m_routes[i];
    if (r.segments.size() != segs.size) {
      continue;
    }
    bool ok = true;
    for (std::size_t s = 0; s < segs.size && ok; ++s) {
      ok = is_param(r.segments[s]) || r.segments[s] == segs.items[s];
    }
    if (!ok) {
      continue;
    }
    if (r.method == method) {
      m.kind = RouteMatch::Kind::found;
      m.index = i;
      for (std::size_t s = 0; s < segs.size; ++s) {
        if (is_param(r.segments[s])) {
          m.params.emplace(r.segments[s].substr(1, r.segments[s].size() - 2), std::string(segs.items[s]));
        }
      }
      return m;
    }
    m.kind = RouteMatch::Kind::wrong_method;
    m.allowed += m.allowed.empty() ? "" : ", ";
    m.allowed += r.method;
  }
  return m;
}

} // namespace mp::serve
