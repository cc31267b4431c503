#pragma once
// systemd's notification protocol (sd_notify): READY, RELOADING, STOPPING, STATUS, WATCHDOG.
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.
#include <chrono>
#include <optional>
#include <string>

namespace tb::daemon {

// Sends newline-separated assignments, e.g. "READY=1\nSTATUS=serving". Main thread only.
void notify(const std::string& state);

// "RELOADING=1\nMONOTONIC_USEC=<now>": the reload protocol of systemd 253+ (older ones ignore
// MONOTONIC_USEC).
void notify_reloading();

// The watchdog interval systemd expects pings within (WATCHDOG_USEC), when enabled for us.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace tb::daemon
