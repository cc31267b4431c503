#include "core/bar.hpp"

#include <ctime>

namespace tb::core {

bar_stamp stamp_of(const bar& b) {
  const std::time_t local = static_cast<std::time_t>(b.time_s + b.utc_offset_s);
  std::tm tm{};
  gmtime_r(&local, &tm);
  return bar_stamp{tm.tm_min, tm.tm_hour, (tm.tm_wday + 6) % 7, tm.tm_mday, tm.tm_mon + 1};
}

}  // namespace tb::core
