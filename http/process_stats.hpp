#pragma once
// The `process` section of /stats, read from /proc/self at request time.
#include <chrono>

#include <nlohmann/json.hpp>

namespace tb::http {

// {"pid", "uptime_s", "rss_bytes", "threads"}: pid from getpid(); uptime_s measured from
// `started_at` (the daemon's start, steady clock); rss_bytes from /proc/self/statm (resident
// pages x page size); threads from the "Threads:" line of /proc/self/status. A value that cannot
// be read is null rather than a guess. Thread-safe; reads two small files, never blocks otherwise.
nlohmann::json process_stats(std::chrono::steady_clock::time_point started_at);

}  // namespace tb::http
