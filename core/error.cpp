#include "core/error.hpp"

namespace tb {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::bad_config:
      return "bad_config";
    case errc::bad_data:
      return "bad_data";
    case errc::bad_checkpoint:
      return "bad_checkpoint";
    case errc::io:
      return "io";
    case errc::unavailable:
      return "unavailable";
    case errc::overloaded:
      return "overloaded";
    case errc::timeout:
      return "timeout";
    case errc::out_of_memory:
      return "out_of_memory";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string excerpt(const std::string& text, std::size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace tb
