#pragma once
// Test support: headless Firefox driven over WebDriver BiDi (a websocket; Boost.Beast), for the
// pages we serve: find it, start it with a fresh profile, navigate, evaluate script in the page
// until it has rendered what a test waits for, take screenshots (PNG; png.hpp decodes them).
// Tests skip their browser check, saying so, when no Firefox is installed (scripts/setup.sh
// installs firefox-esr). Link tb_test_firefox.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace tb::test::firefox {

// The Firefox binary: $TRADEBOT_FIREFOX, else firefox-esr or firefox on PATH; "" when there is
// none (the caller skips its check and says so).
std::string find_firefox();

// One headless Firefox process and one BiDi session on it, with its top-level browsing context.
// Not thread-safe: one thread drives it. Every call is bounded and throws std::runtime_error
// naming the command, with Firefox's own error text, when the browser refuses it or does not
// answer in time. The destructor kills the browser's whole process group.
class browser {
 public:
  // Starts `binary` headless with a new profile in `dir` (created; the caller removes it), BiDi
  // on a loopback port the browser picks, waits up to `start_limit` for "WebDriver BiDi
  // listening on ws://..." in its output, connects, and opens a session that records the
  // page's console and JavaScript errors (log()).
  browser(const std::string& binary, const std::filesystem::path& dir,
          std::chrono::milliseconds start_limit = std::chrono::seconds(90));
  ~browser();
  browser(const browser&) = delete;
  browser& operator=(const browser&) = delete;

  // A BiDi command: its `result`, or throws on an error response or after `limit`.
  nlohmann::json command(const std::string& method, const nlohmann::json& params,
                         std::chrono::milliseconds limit = std::chrono::seconds(30));

  // The page's viewport in CSS pixels (device pixel ratio 1).
  void set_viewport(unsigned width, unsigned height);
  // Loads `url` and returns once its load event fired (scripts have started, fetches may not
  // have answered yet).
  void navigate(const std::string& url);
  // The value of a JavaScript expression in the page, as BiDi serialises it ({"type", "value"});
  // throws with the exception's text when it throws.
  nlohmann::json evaluate(const std::string& expression);
  // evaluate() of an expression giving a string: the string.
  std::string evaluate_string(const std::string& expression);
  // Polls the expression (a boolean) every 50 ms until it is true (true) or `limit` passed (false).
  bool wait_until(const std::string& condition, std::chrono::milliseconds limit);
  // A PNG of the viewport.
  std::string screenshot();

  // "level: text" of every console message and uncaught error the page logged so far.
  const std::vector<std::string>& log() const { return log_; }
  // What the browser process printed (stdout and stderr).
  std::string output() const { return proc_->output(); }
  // Firefox's version, as the session reports it.
  const std::string& version() const { return version_; }

 private:
  struct connection;
  void take_event(const nlohmann::json& message);

  std::unique_ptr<child_process> proc_;
  std::unique_ptr<connection> conn_;
  std::string context_, version_;
  std::vector<std::string> log_;
  long next_id_ = 1;
};

}  // namespace tb::test::firefox
