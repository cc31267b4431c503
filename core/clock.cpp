#include "core/clock.hpp"

#include <cstdio>
#include <ctime>

namespace tb::core {

std::string to_iso8601(time_point t) {
  const std::time_t s = static_cast<std::time_t>(to_unix_seconds(t));
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

time_point wall_clock::now() const { return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now()); }

tb::expected<time_point> sim_clock::advance(duration d) {
  if (d.count() < 0) {
    return tb::error{errc::invalid_argument,
                     "sim_clock: cannot advance by a negative duration (" + std::to_string(d.count()) + " ns)"};
  }
  const std::int64_t after = now_ns_.fetch_add(d.count(), std::memory_order_acq_rel) + d.count();
  return time_point(duration(after));
}

tb::expected<time_point> sim_clock::advance_to(time_point t) {
  const std::int64_t target = to_unix_nanoseconds(t);
  std::int64_t current = now_ns_.load(std::memory_order_acquire);
  while (current <= target) {
    if (now_ns_.compare_exchange_weak(current, target, std::memory_order_acq_rel)) return t;
  }
  return tb::error{errc::invalid_argument, "sim_clock: cannot go back in time from " +
                                               to_iso8601(time_point(duration(current))) + " to " + to_iso8601(t)};
}

}  // namespace tb::core
