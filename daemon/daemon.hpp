#pragma once
// The tradebotd process: config, actor system, HTTP endpoint, signals and systemd notification.
#include <functional>
#include <string>

namespace tb::daemon {

struct daemon_options {
  std::string config_path;  // "" = defaults plus environment
  // The broker actor's fault seam (actors::broker_fault_hook): empty in tradebotd; the test-only
  // tradebotd_faults sets it (tests/support/broker_faults.hpp).
  std::function<void(const std::string& point, long count)> broker_fault;
};

// Runs until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean stop, non-zero after
// a start-up failure (one clear line on stderr) or a stop that overran its deadline.
// Must be called from main() before any other thread exists: it blocks the signals it handles.
int run_daemon(const daemon_options& options);

}  // namespace tb::daemon
