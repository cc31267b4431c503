#pragma once
// The injected clock: every component that needs "now" reads it from a `clock` it was given, never
// from std::chrono::system_clock directly, so replays and backtests run on simulated time.
//
// Unit: `time_point` is a UTC instant with nanosecond resolution on the system clock's epoch (the
// Unix epoch, 1970-01-01T00:00:00Z, leap seconds not counted, as POSIX time). Bars carry whole
// seconds (core/bar.hpp `time_s`); from_unix_seconds/to_unix_seconds convert.
//
// Elapsed-time measurements (latency, backoff) are about real time and use steady_clock instead.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace tb::core {

using duration = std::chrono::nanoseconds;
using time_point = std::chrono::time_point<std::chrono::system_clock, duration>;

inline time_point from_unix_seconds(std::int64_t s) { return time_point(std::chrono::seconds(s)); }
// Whole seconds since the epoch, rounded towards negative infinity.
inline std::int64_t to_unix_seconds(time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline std::int64_t to_unix_nanoseconds(time_point t) { return t.time_since_epoch().count(); }

// "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds truncated towards negative infinity). For logs and messages.
std::string to_iso8601(time_point t);

// What every component reads. Implementations are safe to call from any thread.
class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

// The wall clock: std::chrono::system_clock.
class wall_clock final : public clock {
 public:
  time_point now() const override;
};

// Simulated time: stands still until its owner advances it. Never sleeps. Time never goes back:
// advance() and advance_to() refuse to move it backwards (errc::invalid_argument) and leave it
// unchanged. now() may be read from any thread; advancing is meant for one owner (the scheduler
// of a replay or backtest, or a test), but concurrent advances are still safe (each is atomic).
class sim_clock final : public clock {
 public:
  explicit sim_clock(time_point start) : now_ns_(to_unix_nanoseconds(start)) {}

  time_point now() const override { return time_point(duration(now_ns_.load(std::memory_order_acquire))); }

  // Moves time forward by `d` (>= 0). Returns the new now().
  tb::expected<time_point> advance(duration d);
  // Moves time forward to `t` (>= now()). Returns the new now().
  tb::expected<time_point> advance_to(time_point t);

 private:
  std::atomic<std::int64_t> now_ns_;
};

}  // namespace tb::core
