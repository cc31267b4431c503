#pragma once
// The origin of a REST API as a config names it: "https://host[:port]" or "http://host[:port]",
// no path. Parsed where the config is validated and again where the HTTPS client is made.
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace tb::core {

struct base_url {
  std::string scheme;  // "https" or "http"
  std::string host;
  std::uint16_t port = 443;  // defaults to 443 / 80
};

// errc::bad_config naming the URL and what is wrong with it.
tb::expected<base_url> parse_base_url(const std::string& url);

}  // namespace tb::core
