#pragma once
// Test support: headless Chromium for the pages we serve or write (the backtest's report.html,
// the daemon's dashboard): find it and run it (--dump-dom, --screenshot); png.hpp decodes its
// screenshots. Tests skip their browser check, saying so, when no chromium is installed
// (scripts/setup.sh installs it). Link ZLIB::ZLIB (decode_png inflates with it).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/png.hpp"
#include "tests/support/process.hpp"

namespace tb::test::chromium {

// The chromium binary: $TRADEBOT_CHROMIUM, else chromium or chromium-browser on PATH; "" when
// there is none (the caller skips its check and says so).
inline std::string find_chromium() {
  if (const char* env = std::getenv("TRADEBOT_CHROMIUM"); env && *env) return env;
  for (const char* name : {"chromium", "chromium-browser"})
    if (auto p = find_on_path(name); !p.empty()) return p;
  return {};
}

inline std::string shell_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// Runs headless Chromium on `url` with `extra` arguments (--dump-dom, --screenshot=FILE,
// --window-size=W,H, --virtual-time-budget=MS), its own profile folder, stdout to `out` and
// stderr to `log`, bounded by 120 s. The exit status (124 on the bound), -1 when killed.
inline int run_chromium(const std::string& chromium, const std::filesystem::path& profile, const std::string& extra,
                        const std::string& url, const std::filesystem::path& out, const std::filesystem::path& log) {
  const std::string cmd = "timeout 120 " + shell_quote(chromium) +
                          " --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir=" +
                          shell_quote(profile.string()) + " " + extra + " " + shell_quote(url) + " > " +
                          shell_quote(out.string()) + " 2> " + shell_quote(log.string());
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace tb::test::chromium
