#pragma once
// The `process` section of /stats, read from /proc at request time.
#include <chrono>

#include <nlohmann/json.hpp>

namespace tb::http {

// {"pid", "uptime_s", "rss_bytes", "threads", "virtual_memory_bytes", "cpu_seconds", "open_fds",
// "max_fds", "start_time_unix_s"}: pid from getpid(); uptime_s measured from `started_at` (the
// daemon's start, steady clock); rss_bytes from /proc/self/statm (resident pages x page size);
// threads from the "Threads:" line of /proc/self/status; virtual_memory_bytes (vsize), cpu_seconds
// (user + system time) and start_time_unix_s (the kernel's process start, boot time from
// /proc/stat's btime plus the starttime ticks: stable across requests) from /proc/self/stat;
// open_fds the entries of /proc/self/fd; max_fds the soft RLIMIT_NOFILE. A value that cannot be
// read is null rather than a guess. Thread-safe; reads a few small files, never blocks otherwise.
nlohmann::json process_stats(std::chrono::steady_clock::time_point started_at);

}  // namespace tb::http
