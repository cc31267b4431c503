#pragma once
// Secrets read from files: a systemd credential ($CREDENTIALS_DIRECTORY/NAME, `LoadCredential=`
// in the unit) or a file the config names. Callers never log or echo the values, only the paths.
#include <optional>
#include <string>

#include "core/config.hpp"

namespace tb::core {

// The trimmed content of `path`; nullopt when it cannot be opened and read.
std::optional<std::string> read_secret_file(const std::string& path);

// "$CREDENTIALS_DIRECTORY/<name>" when that variable is set and not empty, else nullopt. The
// file itself may be missing (the unit did not load that credential).
std::optional<std::string> credential_path(const std::string& name, const env_lookup& env);

// A usable secret: 1 to 512 bytes of printable ASCII, no spaces or control characters.
bool clean_secret(const std::string& s);

}  // namespace tb::core
