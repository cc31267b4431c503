#include "core/error.hpp"

namespace tb {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::bad_config: return "bad_config";
    case errc::bad_data: return "bad_data";
    case errc::bad_checkpoint: return "bad_checkpoint";
    case errc::io: return "io";
    case errc::unavailable: return "unavailable";
    case errc::overloaded: return "overloaded";
    case errc::timeout: return "timeout";
    case errc::out_of_memory: return "out_of_memory";
    case errc::internal: return "internal";
  }
  return "unknown";
}

}  // namespace tb
