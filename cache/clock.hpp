#pragma once
// Time as the cache sees it: milliseconds since the Unix epoch (UTC), from an injected clock.
//
// Entry creation and expiry (TTL) read ONLY the injected clock, so tests and replays control
// them. Latency measurements and the Redis reconnect backoff read std::chrono::steady_clock:
// they are about real elapsed time, not about the data's time.
#include <chrono>
#include <cstdint>
#include <functional>

namespace tb::cache {

// Returns milliseconds since the Unix epoch. Must be callable from any thread the cache uses
// (the owner thread and the write-behind thread).
using clock_fn = std::function<std::int64_t()>;

// The wall clock (std::chrono::system_clock) in ms since the epoch.
inline std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline clock_fn system_clock() { return &system_now_ms; }

}  // namespace tb::cache
