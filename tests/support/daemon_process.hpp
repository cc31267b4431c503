#pragma once
// Test support: the real tradebotd binary in a child process with its own temp folder, config
// file and systemd notify socket; READY=1 gives the HTTP port; /stats polled under a bound.
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace tb::test {

struct daemon_process {
  temp_dir dir;
  notify_socket notify{dir.path / "notify.sock"};
  std::filesystem::path config;
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;

  // Starts `binary --config <dir>/tradebotd.toml` with `config_body` and `env` (+ NOTIFY_SOCKET).
  daemon_process(const std::string& binary, const std::string& config_body, std::map<std::string, std::string> env = {}) {
    config = dir.write("tradebotd.toml", config_body);
    env["NOTIFY_SOCKET"] = notify.path();
    proc = std::make_unique<child_process>(std::vector<std::string>{binary, "--config", config.string()}, env,
                                           dir.path / "out.log");
  }
  // Waits for READY=1 and reads the port from its STATUS; false when the process died or stayed
  // silent for `limit`.
  bool ready(std::chrono::milliseconds limit = 60s) {
    auto msg = notify.wait_for("READY=1", limit);
    if (!msg) return false;
    std::smatch m;
    if (!std::regex_search(*msg, m, std::regex("STATUS=serving http on [0-9.]+:([0-9]+)"))) return false;
    port = static_cast<std::uint16_t>(std::stoi(m[1]));
    return true;
  }
  // GET `path` as JSON; null when the daemon did not answer.
  nlohmann::json get(const std::string& path) {
    auto r = http_get(port, path);
    if (r.status == 0) return nlohmann::json();
    return nlohmann::json::parse(r.body);
  }
  // Polls /stats until `pred` holds (bounded by `limit`); the last /stats seen.
  nlohmann::json stats_until(const std::function<bool(const nlohmann::json&)>& pred, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    nlohmann::json s;
    while (std::chrono::steady_clock::now() < end) {
      s = get("/stats");
      if (s.is_object() && pred(s)) return s;
      std::this_thread::sleep_for(100ms);  // polling a condition, bounded by `limit`
    }
    return s;
  }
  // SIGTERM and the exit status (bounded).
  int stop() {
    proc->signal(SIGTERM);
    return proc->wait(30s);
  }
};

}  // namespace tb::test
