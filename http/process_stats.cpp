#include "http/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tb::http {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses:
// the last ')' ends it); fields()[0] is the state, field N of proc(5) is fields()[N - 3].
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> out;
  for (std::string f; rest >> f;) out.push_back(f);
  return out;
}

// The "btime" line of /proc/stat: the boot time, seconds since the epoch; 0 when unreadable.
unsigned long long boot_time_s() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

nlohmann::json process_stats(std::chrono::steady_clock::time_point started_at) {
  using nlohmann::json;
  json out = json::object();
  out["pid"] = static_cast<long long>(::getpid());
  const auto up = std::chrono::steady_clock::now() - started_at;
  out["uptime_s"] = std::chrono::duration<double>(up).count();

  out["rss_bytes"] = nullptr;
  {
    std::ifstream statm("/proc/self/statm");
    unsigned long long size_pages = 0, resident_pages = 0;
    const long page = ::sysconf(_SC_PAGESIZE);
    if (statm >> size_pages >> resident_pages && page > 0)
      out["rss_bytes"] = resident_pages * static_cast<unsigned long long>(page);
  }

  out["threads"] = nullptr;
  {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Threads:", 0) == 0) {
        std::istringstream in(line.substr(8));
        unsigned long long n = 0;
        if (in >> n) out["threads"] = n;
        break;
      }
    }
  }
  out["virtual_memory_bytes"] = nullptr;
  out["cpu_seconds"] = nullptr;
  out["start_time_unix_s"] = nullptr;
  {
    const auto f = stat_fields();
    const long ticks = ::sysconf(_SC_CLK_TCK);
    if (f.size() >= 21 && ticks > 0) {  // utime 14, stime 15, starttime 22, vsize 23
      const auto tick_s = 1.0 / static_cast<double>(ticks);
      out["cpu_seconds"] = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) * tick_s;
      out["virtual_memory_bytes"] = std::stoull(f[20]);
      static const unsigned long long btime = boot_time_s();  // fixed until reboot: read once
      if (btime)
        out["start_time_unix_s"] = static_cast<double>(btime) + static_cast<double>(std::stoull(f[19])) * tick_s;
    }
  }

  out["open_fds"] = nullptr;
  {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
    if (!ec) out["open_fds"] = n;
  }

  out["max_fds"] = nullptr;
  {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
      out["max_fds"] = static_cast<unsigned long long>(lim.rlim_cur);
  }
  return out;
}

}  // namespace tb::http
