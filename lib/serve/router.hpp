#pragma once
// Method + path routing with `{name}` segments, and the access each route needs.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mp::serve {

/// Who may call a route.
enum class Access { open, user, admin };

/// Path parameters of a matched route (`{id}` -> value).
using Params = std::map<std::string, std::string, std::less<>>;

struct RouteMatch {
  enum class Kind { found, no_path, wrong_method } kind = Kind::no_path;
  std::size_t index = 0; ///< the route, when found
  Params params;
  std::string allowed; ///< "GET, POST" when wrong_method
};

class Router {
public:
  /// Adds a route; returns its index. `pattern` is like "/api/ai/requests/{id}".
  std::size_t add(std::string method, std::string pattern, Access access);

  [[nodiscard]] RouteMatch match(std::string_view method, std::string_view path) const;
  [[nodiscard]] const std::string& pattern(std::size_t index) const { return m_routes[index].pattern; }
  [[nodiscard]] Access access(std::size_t index) const { return m_routes[index].access; }
  [[nodiscard]] std::size_t size() const { return m_routes.size(); }

private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
  };
  std::vector<Route> m_routes;
};

} // namespace mp::serve
