#include "tests/support/firefox.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <map>
#include <regex>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace tb::test::firefox {

namespace net = boost::asio;
namespace beast = boost::beast;
using nlohmann::json;
using tcp = net::ip::tcp;

namespace {

// Prefs of the fresh profile: no first-run pages, telemetry, experiments, Remote Settings or
// media plugin updates fetched from the network (the BiDi server also applies its own
// recommended automation prefs). With these and MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (without which a
// release build ignores services.settings.server), Firefox 153 ESR looked up no host name in a
// test run under strace.
constexpr const char* user_js =
    "user_pref(\"browser.shell.checkDefaultBrowser\", false);\n"
    "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");\n"
    "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n"
    "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);\n"
    "user_pref(\"app.normandy.enabled\", false);\n"
    "user_pref(\"messaging-system.rsexperimentloader.enabled\", false);\n"
    "user_pref(\"network.captive-portal-service.enabled\", false);\n"
    "user_pref(\"network.connectivity-service.enabled\", false);\n"
    "user_pref(\"services.settings.server\", \"data:,#remote-settings-dummy/v1\");\n"
    "user_pref(\"media.gmp-manager.updateEnabled\", false);\n";

std::string base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) throw std::runtime_error("firefox: screenshot data is not base64");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("firefox: screenshot data is not base64");
  // EVP_DecodeBlock counts the bytes the '=' padding stands for.
  std::size_t len = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && len > 0; ++it) --len;
  out.resize(len);
  return out;
}

}  // namespace

std::string find_firefox() {
  if (const char* env = std::getenv("TRADEBOT_FIREFOX"); env && *env) return env;
  for (const char* name : {"firefox-esr", "firefox"})
    if (auto p = find_on_path(name); !p.empty()) return p;
  return {};
}

// The websocket to the BiDi server. Every operation runs on io_ under a deadline: past it the
// socket is closed, the operation ends with an error, and the caller throws.
struct browser::connection {
  net::io_context io;
  beast::websocket::stream<tcp::socket> ws{io};

  template <class Start>
  void bounded(const std::string& what, std::chrono::steady_clock::time_point deadline, Start start) {
    bool done = false;
    beast::error_code error;
    start([&](beast::error_code ec, auto&&...) {
      error = ec;
      done = true;
    });
    io.restart();
    io.run_until(deadline);
    if (!done) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws).close(ignored);
      io.restart();
      io.run();  // lets the cancelled operation finish
      throw std::runtime_error("firefox: " + what + ": no answer in time");
    }
    if (error) throw std::runtime_error("firefox: " + what + ": " + error.message());
  }
};

browser::browser(const std::string& binary, const std::filesystem::path& dir, std::chrono::milliseconds start_limit) {
  const auto profile = dir / "profile";
  std::filesystem::create_directories(profile);
  std::ofstream(profile / "user.js") << user_js;
  proc_ = std::make_unique<child_process>(
      std::vector<std::string>{binary, "--headless", "-no-remote", "--profile", profile.string(),
                               "--remote-debugging-port=0", "about:blank"},
      std::map<std::string, std::string>{{"MOZ_CRASHREPORTER_DISABLE", "1"}, {"MOZ_REMOTE_SETTINGS_DEVTOOLS", "1"}},
      dir / "firefox.log", true);

  // Its port: Firefox prints where it listens once it has started (seconds, more on a busy machine).
  const auto end = std::chrono::steady_clock::now() + start_limit;
  const std::regex listening("WebDriver BiDi listening on ws://([0-9.]+):([0-9]+)");
  std::smatch m;
  std::string out;
  for (;;) {
    out = proc_->output();
    if (std::regex_search(out, m, listening)) break;
    if (proc_->wait(std::chrono::milliseconds(0)) != -1)
      throw std::runtime_error("firefox exited before its BiDi server listened:\n" + out);
    if (std::chrono::steady_clock::now() >= end)
      throw std::runtime_error("firefox: no \"WebDriver BiDi listening\" within " +
                               std::to_string(start_limit.count()) + " ms:\n" + out);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling its output, bounded by start_limit
  }
  const std::string host = m[1], port = m[2];

  conn_ = std::make_unique<connection>();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const tcp::endpoint at(net::ip::make_address(host), static_cast<unsigned short>(std::stoi(port)));
  conn_->bounded("connect to " + host + ":" + port, deadline,
                 [&](auto handler) { beast::get_lowest_layer(conn_->ws).async_connect(at, handler); });
  conn_->bounded("websocket handshake", deadline,
                 [&](auto handler) { conn_->ws.async_handshake(host + ":" + port, "/session", handler); });
  conn_->ws.text(true);

  const json session = command("session.new", {{"capabilities", json::object()}});
  version_ = session["capabilities"].value("browserVersion", "");
  command("session.subscribe", {{"events", {"log.entryAdded"}}});
  const json tree = command("browsingContext.getTree", {{"maxDepth", 0}});
  if (tree["contexts"].empty())
    context_ = command("browsingContext.create", {{"type", "tab"}})["context"].get<std::string>();
  else
    context_ = tree["contexts"][0]["context"].get<std::string>();
}

browser::~browser() {
  conn_.reset();
  proc_->signal(SIGKILL);  // the whole group: the parent and its content processes
  proc_->wait(std::chrono::seconds(10));
}

json browser::command(const std::string& method, const json& params, std::chrono::milliseconds limit) {
  const long id = next_id_++;
  const std::string text = json{{"id", id}, {"method", method}, {"params", params}}.dump();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  conn_->bounded(method, deadline, [&](auto handler) { conn_->ws.async_write(net::buffer(text), handler); });
  for (;;) {
    beast::flat_buffer buffer;
    conn_->bounded(method, deadline, [&](auto handler) { conn_->ws.async_read(buffer, handler); });
    const json message = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (message.is_discarded()) throw std::runtime_error("firefox: " + method + ": an answer that is not JSON");
    if (message.value("type", "") == "event") {
      take_event(message);
      continue;
    }
    if (!message.contains("id") || message["id"] != id) continue;  // an answer to no command of ours
    if (message.value("type", "") != "success")
      throw std::runtime_error("firefox: " + method + " " + params.dump().substr(0, 300) + ": " +
                               message.value("error", "?") + ": " + message.value("message", ""));
    return message["result"];
  }
}

void browser::take_event(const json& message) {
  if (message.value("method", "") != "log.entryAdded") return;
  const json& p = message["params"];
  log_.push_back(p.value("level", "?") + ": " +
                 (p.contains("text") && p["text"].is_string() ? p["text"].get<std::string>() : ""));
}

void browser::set_viewport(unsigned width, unsigned height) {
  command("browsingContext.setViewport",
          {{"context", context_}, {"viewport", {{"width", width}, {"height", height}}}, {"devicePixelRatio", 1}});
}

void browser::navigate(const std::string& url) {
  command("browsingContext.navigate", {{"context", context_}, {"url", url}, {"wait", "complete"}});
}

json browser::evaluate(const std::string& expression) {
  const json r = command("script.evaluate",
                         {{"expression", expression}, {"target", {{"context", context_}}}, {"awaitPromise", false}});
  if (r.value("type", "") != "success")
    throw std::runtime_error("firefox: script threw: " + r["exceptionDetails"].value("text", r.dump()) +
                             " (evaluating " + expression.substr(0, 200) + ")");
  return r["result"];
}

std::string browser::evaluate_string(const std::string& expression) {
  const json v = evaluate(expression);
  if (v.value("type", "") != "string")
    throw std::runtime_error("firefox: " + expression.substr(0, 200) + " gave " + v.dump().substr(0, 200) +
                             ", not a string");
  return v["value"].get<std::string>();
}

bool browser::wait_until(const std::string& condition, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const json v = evaluate(condition);
    if (v.value("type", "") == "boolean" && v["value"] == true) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the page, bounded by `limit`
  }
}

std::string browser::screenshot() {
  return base64_decode(
      command("browsingContext.captureScreenshot", {{"context", context_}})["data"].get<std::string>());
}

}  // namespace tb::test::firefox
