// The real tradebotd binary under a notify socket this test owns: READY, /health, /stats,
// /metrics, /health/live and /health/ready, SIGHUP with a valid and an invalid file, the watchdog, SIGTERM; start-up
// failures.
#define BOOST_TEST_MODULE lifecycle
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";

// The daemon under test runs the demo checkpoint (tiny, made on first use in the state folder)
// with small warm-up shapes.
std::string config_text(const std::string& log_level, const std::string& extra = "", int port = 0) {
  static temp_dir state;
  return "[daemon]\nlog_level = \"" + log_level + "\"\nshutdown_deadline_s = 5\nstate_dir = \"" + state.path.string() +
         "\"\n[forecast]\nsample_count = 4\nlookback = 64\n[inference]\nmax_batch_rows = 16\n" + "[cache]\ndir = \"" +
         (state.path / "cache").string() + "\"\n" + "[http]\nport = " + std::to_string(port) + "\n" + extra;
}

// The daemon, READY (the test stops when it is not).
struct running_daemon : daemon_process {
  explicit running_daemon(const std::string& config_body, std::map<std::string, std::string> env = {})
      : daemon_process(daemon_bin, config_body, std::move(env)) {
    BOOST_REQUIRE_MESSAGE(ready(20s), "no READY=1; output:\n" << proc->output());
  }

  json get_json(const std::string& path, int expected_status = 200) {
    auto r = http_get(port, path);
    BOOST_TEST(r.status == expected_status, path);
    return json::parse(r.body);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(ready_reload_and_stop) {
  running_daemon d(config_text("info"));

  // The probes, from READY on: the actors answered a heartbeat, the model is warm.
  auto live = d.get_json("/health/live");
  BOOST_TEST(live["live"] == true, live.dump());
  BOOST_TEST(live["stale_after_ms"] == 3000);  // three 1 s ticks without a watchdog
  auto ready = d.get_json("/health/ready");
  BOOST_TEST(ready["ready"] == true, ready.dump());
  BOOST_TEST(ready["failing_checks"] == json::array());

  auto health = d.get_json("/health");
  BOOST_TEST(health["status"] == "ok");
  BOOST_TEST(health["config"]["generation"] == 1);
  BOOST_TEST(health["config"]["last_reload"].is_null());
  BOOST_TEST(health["version"].is_string());

  auto stats = d.get_json("/stats");
  for (const char* section : {"process", "config", "cache", "inference", "symbols", "portfolio"})
    BOOST_TEST(stats.contains(section), section);
  BOOST_TEST(stats["process"]["pid"] == d.proc->pid());
  BOOST_TEST(stats["process"]["rss_bytes"].get<long>() > 0);
  BOOST_TEST(stats["config"]["values"]["http.port"]["source"] == "file");
  BOOST_TEST(stats["config"]["values"]["cache.ttl_s"]["source"] == "default");
  // The cache actor publishes its section and check once its thread has started
  // (bounded poll); the password is never shown.
  for (int i = 0; i < 250 && !stats["cache"].contains("enabled"); ++i) {
    std::this_thread::sleep_for(20ms);  // polling a condition, bounded
    stats = d.get_json("/stats");
  }
  health = d.get_json("/health");
  BOOST_TEST(stats["cache"]["enabled"] == true, stats["cache"].dump());
  BOOST_TEST(stats["cache"]["ttl_seconds"] == 300);
  BOOST_TEST(stats["cache"]["history_ttl_seconds"] == 604800);
  BOOST_TEST(stats["cache"]["redis_state"] == "disabled");
  BOOST_TEST(stats["config"]["values"]["cache.redis_password"]["value"] == "***");
  BOOST_TEST(health["checks"]["cache"]["status"] == "ok", health.dump());

  auto metrics = http_get(d.port, "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.body.find("tradebotd_config_generation 1") != std::string::npos, metrics.body.substr(0, 400));

  // SIGHUP with a valid, changed file: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
  std::ofstream(d.config) << config_text("debug");
  d.proc->signal(SIGHUP);
  auto reloading = d.notify.wait_for("RELOADING=1", 10s);
  BOOST_REQUIRE(reloading);
  BOOST_TEST(reloading->find("MONOTONIC_USEC=") != std::string::npos);
  BOOST_REQUIRE(d.notify.wait_for("READY=1", 10s));
  health = d.get_json("/health");
  BOOST_TEST(health["config"]["generation"] == 2);
  BOOST_TEST(health["config"]["last_reload"]["ok"] == true);
  BOOST_TEST(d.get_json("/stats")["config"]["values"]["daemon.log_level"]["value"] == "debug");

  // SIGHUP with an invalid file: the old config stays, the error shows in /health.
  std::ofstream(d.config) << config_text("debug", "bogus_key = 1\n");
  d.proc->signal(SIGHUP);
  BOOST_REQUIRE(d.notify.wait_for("RELOADING=1", 10s));
  BOOST_REQUIRE(d.notify.wait_for("READY=1", 10s));
  health = d.get_json("/health");
  BOOST_TEST(health["status"] == "degraded");
  BOOST_TEST(health["config"]["generation"] == 2);
  BOOST_TEST(health["config"]["last_reload"]["ok"] == false);
  BOOST_TEST(health["config"]["last_reload"]["error"].get<std::string>().find("unknown key 'http.bogus_key'") !=
             std::string::npos);
  BOOST_TEST(d.get_json("/stats")["config"]["values"]["daemon.log_level"]["value"] == "debug");

  // SIGTERM: STOPPING=1, exit 0, the cache's summary line in the log.
  d.proc->signal(SIGTERM);
  BOOST_REQUIRE(d.notify.wait_for("STOPPING=1", 10s));
  BOOST_TEST(d.proc->wait(15s) == 0, d.proc->output());
  BOOST_TEST(
      std::regex_search(d.proc->output(),
                        std::regex("Kronos Prediction Cache Stats: hits=[0-9]+ misses=[0-9]+ hit_rate=[0-9.]+%")),
      d.proc->output());
}

BOOST_AUTO_TEST_CASE(http_errors_from_the_running_daemon) {
  running_daemon d(config_text("warn"));
  BOOST_TEST(http_get(d.port, "/nope").status == 404);
  BOOST_TEST(http_request(d.port, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                 .status == 405);
  BOOST_TEST(http_request(d.port, "\x01\x02garbage\r\n\r\n").status == 400);
  BOOST_TEST(http_get(d.port, "/health").status == 200);  // still serving
  d.proc->signal(SIGINT);
  BOOST_TEST(d.proc->wait(15s) == 0);
}

BOOST_AUTO_TEST_CASE(watchdog_is_fed_while_actors_answer) {
  running_daemon d(config_text("warn"), {{"WATCHDOG_USEC", "200000"}});
  // Two pings within a few intervals (100 ms apart).
  BOOST_REQUIRE_MESSAGE(d.notify.wait_for("WATCHDOG=1", 5s), d.proc->output());
  BOOST_REQUIRE(d.notify.wait_for("WATCHDOG=1", 5s));
  d.proc->signal(SIGTERM);
  BOOST_TEST(d.proc->wait(15s) == 0);
}

BOOST_AUTO_TEST_CASE(bad_config_fails_start_with_a_clear_error) {
  temp_dir dir;
  auto cfg = dir.write("bad.toml", "[http]\nport = 99999\n");
  child_process p({daemon_bin, "--config", cfg.string()}, {}, dir.path / "out.log");
  BOOST_TEST(p.wait(15s) == 2);
  BOOST_TEST(p.output().find(cfg.string() + ":2: key 'http.port': 99999 is out of range") != std::string::npos,
             p.output());

  child_process check({daemon_bin, "--config", cfg.string(), "--check"}, {}, dir.path / "check.log");
  BOOST_TEST(check.wait(15s) == 2);
  auto good = dir.write("good.toml", "[http]\nport = 0\n");
  child_process check_ok({daemon_bin, "--config", good.string(), "--check"}, {}, dir.path / "check_ok.log");
  BOOST_TEST(check_ok.wait(15s) == 0);
  child_process live({daemon_bin, "--config", good.string(), "--check"}, {{"PAPER", "0"}}, dir.path / "live.log");
  BOOST_TEST(live.wait(15s) == 2);
  BOOST_TEST(live.output().find("refusing to start") != std::string::npos, live.output());
}

BOOST_AUTO_TEST_CASE(an_empty_file_or_a_directory_is_refused_on_reload) {
  running_daemon d(config_text("info", "[trading]\nsymbols = [\"DEMO01\", \"DEMO02\"]\n"));
  const auto refused = [&](const std::string& words) {
    d.proc->signal(SIGHUP);
    BOOST_REQUIRE(d.notify.wait_for("RELOADING=1", 10s));
    BOOST_REQUIRE(d.notify.wait_for("READY=1", 10s));
    auto health = d.get_json("/health");
    BOOST_TEST(health["status"] == "degraded", health.dump());
    BOOST_TEST(health["config"]["generation"] == 1);
    BOOST_TEST(health["config"]["last_reload"]["ok"] == false);
    BOOST_TEST(health["config"]["last_reload"]["error"].get<std::string>().find(words) != std::string::npos,
               health.dump());
    BOOST_TEST(d.get_json("/stats")["config"]["values"]["trading.symbols"]["value"].size() == 2u);
  };
  std::ofstream(d.config, std::ios::trunc).close();  // empty: a truncated copy, a failed deploy
  refused(d.config.string() + ": the file is empty; refusing it");
  std::filesystem::remove(d.config);
  std::filesystem::create_directory(d.config);
  refused(d.config.string() + ": is a directory, not a config file");
  BOOST_TEST(d.proc->output().find("reload rejected") != std::string::npos, d.proc->output());
  d.proc->signal(SIGTERM);
  BOOST_TEST(d.proc->wait(15s) == 0, d.proc->output());
}

BOOST_AUTO_TEST_CASE(check_refuses_what_start_refuses_with_exit_2) {
  temp_dir dir;
  const auto bad_date = dir.write("date.toml", "[market]\nsim_start = \"2025-02-30\"\n");
  const auto empty = dir.write("empty.toml", "");
  const auto folder = dir.path / "folder.toml";
  std::filesystem::create_directory(folder);
  const std::pair<std::filesystem::path, std::string> cases[] = {
      {bad_date, "market.sim_start = \"2025-02-30\" is not a real date"},
      {empty, "the file is empty"},
      {folder, "is a directory"},
      {dir.path / "missing.toml", "missing.toml: cannot read the config file"}};
  int n = 0;
  for (const auto& [cfg, words] : cases) {
    for (const bool check : {true, false}) {
      std::vector<std::string> argv = {daemon_bin, "--config", cfg.string()};
      if (check) argv.push_back("--check");
      child_process p(argv, {}, dir.path / ("out" + std::to_string(n++) + ".log"));
      BOOST_TEST(p.wait(15s) == 2, cfg.string() << (check ? " --check" : ""));
      BOOST_TEST(p.output().find(words) != std::string::npos, p.output());
    }
  }
}

BOOST_AUTO_TEST_CASE(the_largest_universe_gets_ready_and_stops_within_its_deadline) {
  // trading.symbols at its bound (500): READY, and a SIGTERM while the first cycle floods the feed
  // and the model still stops within daemon.shutdown_deadline_s (the default 10 s; exit 1 if not).
  std::string symbols;
  for (int i = 0; i < 500; ++i) symbols += (i ? ", \"S" : "\"S") + std::to_string(i) + "\"";
  auto text = config_text("warn", "[trading]\nsymbols = [" + symbols + "]\n");
  text.replace(text.find("shutdown_deadline_s = 5"), 23, "shutdown_deadline_s = 10");
  running_daemon d(text);
  auto stats =
      d.stats_until([](const json& s) { return s.contains("feed") && s["feed"]["requests"].get<int>() > 0; }, 20s);
  BOOST_REQUIRE_MESSAGE(stats.contains("feed") && stats["feed"]["requests"].get<int>() > 0,
                        stats.dump().substr(0, 400));
  const auto t0 = std::chrono::steady_clock::now();
  d.proc->signal(SIGTERM);
  const int code = d.proc->wait(20s);
  const std::string out = d.proc->output();
  BOOST_TEST(code == 0, out.substr(out.size() > 4000 ? out.size() - 4000 : 0));
  BOOST_TEST_MESSAGE("stop took " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                                  << " s");
}

BOOST_AUTO_TEST_CASE(port_in_use_fails_start_with_one_line) {
  running_daemon first(config_text("warn"));
  temp_dir dir;
  auto cfg = dir.write("second.toml", config_text("warn", "", first.port));
  child_process second({daemon_bin, "--config", cfg.string()}, {}, dir.path / "out.log");
  BOOST_TEST(second.wait(15s) == 1);
  BOOST_TEST(second.output().find("Address already in use") != std::string::npos, second.output());
  first.proc->signal(SIGTERM);
  BOOST_TEST(first.proc->wait(15s) == 0);
}

BOOST_AUTO_TEST_CASE(version_and_example_config) {
  temp_dir dir;
  child_process v({daemon_bin, "--version"}, {}, dir.path / "v.log");
  BOOST_TEST(v.wait(10s) == 0);
  BOOST_TEST(v.output().find("tradebotd ") == 0, v.output());
  child_process p({daemon_bin, "--print-config"}, {}, dir.path / "p.log");
  BOOST_TEST(p.wait(10s) == 0);
  BOOST_TEST(p.output() == read_file(std::string(TRADEBOT_SOURCE_DIR) + "/config/tradebotd.toml"));
}
