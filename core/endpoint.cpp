#include "core/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace tb::core {

tb::expected<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), ::isdigit))
    return tb::error{errc::bad_config, "bad port"};
  const long v = std::stol(text);
  if (v < 1 || v > 65535) return tb::error{errc::bad_config, "port out of 1..65535"};
  return static_cast<std::uint16_t>(v);
}

tb::expected<endpoint> parse_endpoint(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return tb::error{errc::bad_config, "'" + excerpt(text) + "' is not host:port: " + why};
  };
  if (text.find("://") != std::string::npos || text.find('/') != std::string::npos)
    return bad("no scheme or path allowed");
  endpoint out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("expected [IPv6]:port");
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return bad("write an IPv6 address as [address]:port");
  }
  if (out.host.empty()) return bad("empty host");
  if (!std::all_of(out.host.begin(), out.host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
      }))
    return bad("the host holds characters no host name or address has");
  auto p = parse_port(port);
  if (!p) return bad(p.error().message);
  out.port = *p;
  return out;
}

std::string to_string(const endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace tb::core
