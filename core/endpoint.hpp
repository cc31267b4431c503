#pragma once
// A network endpoint as the config names one: "host:port" or "[v6 literal]:port". Parsed where
// the config is validated and again where a connection is made; and what counts as loopback.
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace tb::core {

struct endpoint {
  std::string host;  // a name or an address literal, without brackets
  std::uint16_t port = 0;
};

// errc::bad_config naming the text and what is wrong with it.
tb::expected<endpoint> parse_endpoint(const std::string& text);

// A port as text: 1..65535, decimal digits only. errc::bad_config "bad port" or "port out of
// 1..65535" (the caller names the text it came from). Also parse_base_url's.
tb::expected<std::uint16_t> parse_port(const std::string& text);

// "host:port", brackets around an IPv6 literal.
std::string to_string(const endpoint& e);

// Whether `host` is this machine by its name alone: "localhost", an IPv4 literal in 127.0.0.0/8 or
// "::1". Any other name counts as remote (what it resolves to may change).
bool is_loopback_host(const std::string& host);

}  // namespace tb::core
