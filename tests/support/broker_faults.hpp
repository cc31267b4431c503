#pragma once
// Test support: the broker actor's fault seam (actors::broker_fault_hook) from the environment,
// for tradebotd_faults, the test build of tradebotd (daemon/tradebotd_main.cpp compiled with
// TRADEBOT_TEST_SEAMS; tests/actors/CMakeLists.txt). TRADEBOTD_FAULT = "kill_after_intent:N" or
// "kill_after_submit:N" makes the process SIGKILL itself right after the N-th intent is journaled
// (before its submit), or right after the N-th submit returned (before its answer is journaled).
// Unset: no hook. Any other value: the process exits 2 at start, naming it (a typo must not run a
// crash test without its crash).
#include <signal.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

namespace tb::test {

inline std::function<void(const std::string&, long)> broker_fault_from_env() {
  const char* v = std::getenv("TRADEBOTD_FAULT");
  if (!v) return {};
  const std::string s(v);
  const auto colon = s.find(':');
  const std::string what = colon == std::string::npos ? s : s.substr(0, colon);
  const long n = colon == std::string::npos ? 0 : std::atol(s.c_str() + colon + 1);
  if ((what != "kill_after_intent" && what != "kill_after_submit") || n <= 0) {
    std::cerr << "tradebotd_faults: TRADEBOTD_FAULT=" << s << ": expected kill_after_intent:N or kill_after_submit:N\n";
    std::exit(2);
  }
  const std::string point = what == "kill_after_intent" ? "intent" : "submit";
  return [point, n](const std::string& at, long count) {
    if (at != point || count != n) return;
    spdlog::default_logger()->flush();
    ::raise(SIGKILL);
  };
}

}  // namespace tb::test
