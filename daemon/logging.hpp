#pragma once
#include <string>

namespace tb::daemon {

// True when stderr is the journal's stream: JOURNAL_STREAM ("DEV:INO", set by systemd when it
// connects stderr to journald) names the device and inode of fd 2. A child whose stderr was
// redirected elsewhere inherits the variable but not the stream, and gets false.
bool stderr_is_journal();

// spdlog to stderr, as the logger "tradebotd" (replaced when called again). When stderr is the
// journal, each line starts with its sd-daemon priority (<3> error, <4> warning, <6> info,
// <7> debug; sd-daemon.h SD_ERR ...) so `journalctl -p warning` filters, and carries no
// timestamp (journald adds its own); otherwise "YYYY-mm-dd HH:MM:SS.mmm [level] message".
void setup_logging();

// Applies a level name ("info", "debug", ...) already validated by the config schema.
void set_log_level(const std::string& level);

}  // namespace tb::daemon
