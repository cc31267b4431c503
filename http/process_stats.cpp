#include "http/process_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tb::http {

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
  return out;
}

}  // namespace tb::http
