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

// The small trading config of the daemon-level tests: the demo checkpoint with tiny windows
// (lookback = max_context 24, pred_len 1, one sample, 8 walk-forward windows), gates open, HTTP on
// a free port, state (and the disk cache) under `state_dir`; `market` and `extra` are appended
// sections, `symbols` the inside of trading.symbols, `cache` the body of [cache] before its dir,
// `inference` more lines of [inference] (e.g. remote = [...]).
inline std::string small_trading_config(const std::string& state_dir, const std::string& market,
                                        const std::string& symbols, const std::string& extra = "",
                                        const std::string& cache = "enabled = false\n",
                                        const std::string& inference = "") {
  return "[daemon]\nlog_level = \"info\"\nshutdown_deadline_s = 5\nstate_dir = \"" + state_dir + "\"\n" +
         "[forecast]\npred_len = 1\nlookback = 24\nmax_context = 24\nsample_count = 1\n" +
         "[inference]\nmax_batch_rows = 64\n" + inference + "[cache]\n" + cache + "dir = \"" + state_dir +
         "/cache\"\n" + "[http]\nport = 0\n[trading]\nsymbols = [" + symbols + "]\nwalk_forward_windows = 8\n" +
         "[strategy]\nmin_sharpe = -10\nmin_edge = -1\n" + market + extra;
}

struct daemon_process {
  temp_dir dir;
  notify_socket notify{dir.path / "notify.sock"};
  std::filesystem::path config;
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;

  // Starts `binary --config <dir>/tradebotd.toml` with `config_body` and `env` (+ NOTIFY_SOCKET).
  daemon_process(const std::string& binary, const std::string& config_body,
                 std::map<std::string, std::string> env = {}) {
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
