#include "serve/router.hpp"

namespace mp::serve {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto j = path.find('/', i);
    out.push_back(path.substr(i, j - i));
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
  for (auto s : split_path(r.pattern)) {
    r.segments.emplace_back(s);
  }
  m_routes.push_back(std::move(r));
  return m_routes.size() - 1;
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  const auto segs = split_path(path);
  for (std::size_t i = 0; i < m_routes.size(); ++i) {
    const Route& r = m_routes[i];
    if (r.segments.size() != segs.size()) {
      continue;
    }
    Params params;
    bool ok = true;
    for (std::size_t s = 0; s < segs.size() && ok; ++s) {
      if (is_param(r.segments[s])) {
        params.emplace(r.segments[s].substr(1, r.segments[s].size() - 2), std::string(segs[s]));
      } else {
        ok = r.segments[s] == segs[s];
      }
    }
    if (!ok) {
      continue;
    }
    if (r.method == method) {
      m.kind = RouteMatch::Kind::found;
      m.index = i;
      m.params = std::move(params);
      return m;
    }
    m.kind = RouteMatch::Kind::wrong_method;
    m.allowed += m.allowed.empty() ? "" : ", ";
    m.allowed += r.method;
  }
  return m;
}

} // namespace mp::serve
