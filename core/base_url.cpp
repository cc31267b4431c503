#include "core/base_url.hpp"

#include "core/endpoint.hpp"
#include "core/text.hpp"

namespace tb::core {

tb::expected<base_url> parse_base_url(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return tb::error{errc::bad_config, "URL '" + excerpt(url) + "': " + why};
  };
  base_url out;
  const auto sep = url.find("://");
  if (sep == std::string::npos) return bad("expected scheme://host[:port]");
  out.scheme = to_lower(url.substr(0, sep));
  if (out.scheme != "https" && out.scheme != "http") return bad("scheme must be https or http");
  std::string rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos || rest.find('?') != std::string::npos)
    return bad("no path allowed, only scheme://host[:port]");
  if (rest.find('@') != std::string::npos) return bad("user info is not allowed");
  out.port = out.scheme == "https" ? 443 : 80;
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    auto port = parse_port(rest.substr(colon + 1));
    if (!port) return bad(port.error().message);
    out.port = *port;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("empty host");
  out.host = rest;
  return out;
}

}  // namespace tb::core
