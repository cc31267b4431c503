#pragma once
#include <string>

namespace tb::daemon {

// spdlog to stderr. Under systemd (JOURNAL_STREAM set) lines carry no timestamp: journald adds
// its own.
void setup_logging();

// Applies a level name ("info", "debug", ...) already validated by the config schema.
void set_log_level(const std::string& level);

}  // namespace tb::daemon
