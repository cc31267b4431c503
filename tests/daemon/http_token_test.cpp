// The bearer token in the real tradebotd: 401 without it or with a wrong one (counted in /stats
// and logged), 200 with it, the probes and the dashboard page open; the token from
// http.auth_token_file or from the systemd credential http_token ($CREDENTIALS_DIRECTORY); a
// non-loopback http.address without a token, or an empty token file, refused at start and by
// --check with exit 2 and one line.
#define BOOST_TEST_MODULE http_token
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
const std::string token = "dashboard-token-4f1c9e";

// The demo checkpoint with small warm-up shapes; `http` is the body of [http] after the port.
std::string config_text(const temp_dir& state, const std::string& http) {
  return "[daemon]\nlog_level = \"info\"\nshutdown_deadline_s = 5\nstate_dir = \"" + state.path.string() +
         "\"\n[forecast]\nsample_count = 4\nlookback = 64\n[inference]\nmax_batch_rows = 16\n[cache]\ndir = \"" +
         (state.path / "cache").string() + "\"\n[http]\nport = 0\n" + http;
}

// GET `path` on 127.0.0.1, with `Authorization: <authorization>` unless it is empty.
http_response get(std::uint16_t port, const std::string& path, const std::string& authorization = "") {
  return http_request(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                (authorization.empty() ? "" : "Authorization: " + authorization + "\r\n") +
                                "Connection: close\r\n\r\n");
}

bool has_header(const http_response& r, const std::string& line) {
  return (r.headers + "\r\n").find("\r\n" + line + "\r\n") != std::string::npos;
}

// Runs `tradebotd --config FILE [--check]` to its end: exit code and output.
std::pair<int, std::string> run_to_end(const temp_dir& dir, const std::filesystem::path& cfg, bool check,
                                       std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {daemon_bin, "--config", cfg.string()};
  if (check) argv.push_back("--check");
  static int n = 0;
  child_process p(argv, std::move(env), dir.path / ("run" + std::to_string(n++) + ".log"));
  const int code = p.wait(30s);
  return {code, p.output()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_token_file_guards_every_path_but_the_page_and_the_probes) {
  temp_dir state;
  const auto file = state.write("http_token", token + "\n");
  ::chmod(file.c_str(), 0600);
  daemon_process d(daemon_bin, config_text(state, "auth_token_file = \"" + file.string() + "\"\n"));
  BOOST_REQUIRE_MESSAGE(d.ready(30s), "no READY=1:\n" << d.proc->output());

  int refused = 0;
  for (const char* path : {"/stats", "/metrics", "/health"}) {
    const auto missing = get(d.port, path);
    BOOST_TEST(missing.status == 401, path);
    BOOST_TEST(has_header(missing, "WWW-Authenticate: Bearer realm=\"tradebotd\""), missing.headers);
    const auto wrong = get(d.port, path, "Bearer not-" + token);
    BOOST_TEST(wrong.status == 401, path);
    refused += 2;
  }
  // Open: the probes, answered from the board, and the page (it holds no data).
  BOOST_TEST(get(d.port, "/health/live").status == 200);
  BOOST_TEST(get(d.port, "/health/ready").status == 200);
  const auto page = get(d.port, "/");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("<title>tradebotd</title>") != std::string::npos);

  const auto stats = get(d.port, "/stats", "Bearer " + token);
  BOOST_REQUIRE(stats.status == 200);
  const json doc = json::parse(stats.body);
  BOOST_TEST(doc["http"]["unauthorized_total"] == refused, doc["http"].dump());
  BOOST_TEST(doc["config"]["values"]["http.auth_token_file"]["value"] == file.string());
  BOOST_TEST(doc.dump().find(token) == std::string::npos);  // the value is never shown
  BOOST_TEST(get(d.port, "/metrics", "Bearer " + token).status == 200);
  BOOST_TEST(get(d.port, "/health", "Bearer " + token).status == 200);

  BOOST_TEST(d.stop() == 0);
  const std::string out = d.proc->output();
  // One warning for the burst of 401s (throttled), naming the path and the client, never the token.
  BOOST_TEST(out.find("http: 401 for /stats from 127.0.0.1: missing or wrong bearer token") != std::string::npos, out);
  BOOST_TEST(out.find(token) == std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(the_systemd_credential_guards_an_address_off_loopback) {
  temp_dir state;
  std::filesystem::create_directory(state.path / "credentials");
  state.write("credentials/http_token", token);
  daemon_process d(daemon_bin, config_text(state, "address = \"0.0.0.0\"\n"),
                   {{"CREDENTIALS_DIRECTORY", (state.path / "credentials").string()}});
  BOOST_REQUIRE_MESSAGE(d.ready(30s), "no READY=1:\n" << d.proc->output());
  BOOST_TEST(get(d.port, "/stats").status == 401);
  BOOST_TEST(get(d.port, "/stats", "Bearer " + token).status == 200);
  BOOST_TEST(get(d.port, "/health/live").status == 200);
  BOOST_TEST(d.stop() == 0);
  BOOST_TEST(
      d.proc->output().find("bearer token of " + (state.path / "credentials/http_token").string()) != std::string::npos,
      d.proc->output());
}

BOOST_AUTO_TEST_CASE(no_token_off_loopback_or_an_empty_token_file_refuses_to_start) {
  temp_dir dir;
  const auto exposed = dir.write("exposed.toml", config_text(dir, "address = \"0.0.0.0\"\n"));
  for (const bool check : {false, true}) {
    const auto [code, out] = run_to_end(dir, exposed, check);
    BOOST_TEST(code == 2, (check ? "--check: " : "start: ") << out);
    BOOST_TEST(out.find("tradebotd: http.address = \"0.0.0.0\" is not a loopback address, and no token guards it: "
                        "set http.auth_token_file or the systemd credential http_token (LoadCredential=), or bind "
                        "127.0.0.1\n") != std::string::npos,
               out);
    BOOST_TEST(out.find("] ready") == std::string::npos, out);
  }
  // A credential directory that lacks http_token guards nothing either.
  const auto [code, out] = run_to_end(dir, exposed, false, {{"CREDENTIALS_DIRECTORY", dir.path.string()}});
  BOOST_TEST(code == 2, out);

  const auto empty = dir.write("empty_token", "\n");
  const auto cfg = dir.write("empty.toml", config_text(dir, "auth_token_file = \"" + empty.string() + "\"\n"));
  for (const bool check : {false, true}) {
    const auto [code, out] = run_to_end(dir, cfg, check);
    BOOST_TEST(code == 2, out);
    BOOST_TEST(out.find("tradebotd: http.auth_token_file " + empty.string() + " is empty") != std::string::npos, out);
  }
}
