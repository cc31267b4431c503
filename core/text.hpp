#pragma once
// ASCII text helpers shared by the readers of configs, CSV files, secrets and URLs.
#include <string>
#include <string_view>

namespace tb::core {

// `s` without leading and trailing whitespace (std::isspace: space, \t, \n, \v, \f, \r).
std::string trim(std::string_view s);

// `s` with A-Z turned into a-z; other bytes as they are.
std::string to_lower(std::string s);

}  // namespace tb::core
