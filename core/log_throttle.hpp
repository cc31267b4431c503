#pragma once
// "Log once per interval, not per request": a gate that opens at most once per interval and
// counts what it held back. Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tb::core {

// What a throttled message appends: " (N similar messages suppressed)", or "" when none were.
inline std::string suppressed_note(std::uint64_t suppressed) {
  return suppressed ? " (" + std::to_string(suppressed) + " similar messages suppressed)" : std::string();
}

class log_throttle {
 public:
  explicit log_throttle(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  // True when a message may be logged now. *suppressed receives how many calls were refused
  // since the last allowed one (append suppressed_note(*suppressed) to the message).
  bool allow(std::uint64_t* suppressed) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (armed_ && now - last_ < interval_) {
      ++held_;
      return false;
    }
    armed_ = true;
    last_ = now;
    *suppressed = held_;
    held_ = 0;
    return true;
  }

  // Opens the gate for the next message (after a state change worth reporting at once).
  void reset() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
  }

 private:
  std::mutex mu_;
  const std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_{};
  bool armed_ = false;
  std::uint64_t held_ = 0;
};

}  // namespace tb::core
