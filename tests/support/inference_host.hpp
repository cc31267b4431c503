#pragma once
// Test support: an inference host, the real tradebotd in a child process (daemon_process.hpp) with
// trading off and its inference actor published by the middleman on loopback (plain), in its own
// state folder. Used by tests/daemon/remote_inference_test and bench/serving/bench_remote.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"

namespace tb::test {

struct inference_host {
  temp_dir state;
  std::unique_ptr<daemon_process> d;
  std::uint16_t middleman_port = 0;  // the published port; 0 when it did not start
  std::string error;                 // why it did not start ("" when it serves)

  // Starts `binary` with daemon.log_level `log_level`, the [model] lines `model` (dir = "" or
  // missing: the demo checkpoint under its state folder), the [forecast] lines `forecast`, more
  // [inference] lines `inference`, and inference.publish_port `port` (0: a free one); waits for
  // READY=1 (60 s) and the published port in /stats (20 s).
  inference_host(const std::string& binary, const std::string& log_level, const std::string& model,
                 const std::string& forecast, const std::string& inference, std::uint16_t port = 0) {
    d = std::make_unique<daemon_process>(
        binary, "[daemon]\nlog_level = \"" + log_level + "\"\nshutdown_deadline_s = 5\nstate_dir = \"" +
                    state.path.string() + "\"\n[model]\n" + model + "[forecast]\n" + forecast + "[inference]\n" +
                    inference + "publish = true\npublish_port = " + std::to_string(port) +
                    "\n[cache]\nenabled = false\n[http]\nport = 0\n[trading]\nenabled = false\n");
    if (!d->ready()) {
      error = "inference host: no READY=1:\n" + d->proc->output();
      return;
    }
    auto s = d->stats_until(
        [](const nlohmann::json& s) {
          return s.contains("inference") && s["inference"].value("published_port", 0) > 0;
        },
        std::chrono::seconds(20));
    if (s.contains("inference")) middleman_port = static_cast<std::uint16_t>(s["inference"].value("published_port", 0));
    if (middleman_port == 0) error = "inference host: no published port: " + s.dump().substr(0, 2000);
  }
  // "127.0.0.1:<port>", as inference.remote names it.
  std::string address() const { return "127.0.0.1:" + std::to_string(middleman_port); }
};

}  // namespace tb::test
