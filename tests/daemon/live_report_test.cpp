// `tradebot report` over a daemon's state folder, the real binaries: tradebotd trades three daily
// files of tests/data/daily on simulated time (replay feed, sim broker, sim_end set); the report
// of its period has the equity curve, trades, metrics, order counts and per-symbol rows of
// `tradebot backtest` over the same period and config. Killed (SIGKILL) and stopped (SIGTERM)
// in the middle and started again on the same state folder, the daemon's curve (STATE/broker/
// equity.jsonl) still has every instant of the backtest's curve, once. Bad input: a missing state folder, a
// period without marks and a corrupt journal line exit 2 naming what is wrong.
// The demo checkpoint (tiny, seed 0) with the small windows of the other daemon tests.
#define BOOST_TEST_MODULE live_report
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
const std::string tradebot_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebot";
const std::string daily = std::string(TRADEBOT_TEST_DATA) + "/daily";
const std::string from = "2025-01-02", to = "2025-02-03";

process_result run_tool(const std::vector<std::string>& args, const std::filesystem::path& log) {
  return run_to_exit(args, log, 180s);
}

bool finished(const json& s) { return s.contains("schedule") && s["schedule"].value("finished", false); }

int cycles(const json& s) {
  return s.contains("portfolio") && s["portfolio"].contains("cycles") ? s["portfolio"]["cycles"].get<int>() : 0;
}

// Two equities and a crypto pair (the crypto refresh adds a cycle every day), a live state folder,
// and the config both the daemon and the backtest read. sim_cycle_interval_ms paces the daemon
// (30 ms a cycle, so a test can stop it in the middle); a backtest forces 0.
struct fixture {
  temp_dir dir;
  std::filesystem::path replay = dir.path / "replay", state = dir.path / "state", config;
  std::string config_body;
  fixture() {
    std::filesystem::create_directories(replay);
    for (const char* s : {"JD", "NIO", "SUIUSD"})
      std::filesystem::copy_file(daily + "/" + s + ".csv", replay / (std::string(s) + ".csv"));
    config_body = small_trading_config(state.string(),
                                       "[market]\nfeed = \"replay\"\nreplay_dir = \"" + replay.string() +
                                           "\"\nclock = \"simulated\"\nsim_start = \"" + from + "\"\nsim_end = \"" +
                                           to + "\"\nsim_cycle_interval_ms = 30\n",
                                       "\"JD\", \"NIO\", \"SUIUSD\"");
    config = dir.write("tradebotd.toml", config_body);
  }
  json report(const std::string& name) {
    const auto out = dir.path / name;
    auto r = run_tool({tradebot_bin, "report", "--state-dir", state.string(), "--from", from, "--to", to, "--report",
                       out.string(), "--config", config.string()},
                      dir.path / (name + ".log"));
    BOOST_REQUIRE_MESSAGE(r.code == 0, "tradebot report exit " << r.code << ":\n" << r.output);
    return json::parse(read_file(out / "report.json"));
  }
  json backtest(const std::string& name) {
    const auto out = dir.path / name;
    auto r = run_tool({tradebot_bin, "backtest", "--config", config.string(), "--report", out.string()},
                      dir.path / (name + ".log"));
    BOOST_REQUIRE_MESSAGE(r.code == 0, "tradebot backtest exit " << r.code << ":\n" << r.output);
    return json::parse(read_file(out / "report.json"));
  }
};

// The fields a live period and its backtest share (run, cache, inference and timing are the run's).
void require_same_trading(const json& live, const json& bt) {
  BOOST_TEST(live["equity_curve"].size() > 20u, live["equity_curve"].size());
  BOOST_TEST(live["equity_curve"] == bt["equity_curve"]);
  BOOST_TEST(!bt["trades"].empty());
  BOOST_TEST(live["trades"] == bt["trades"]);
  BOOST_TEST(live["metrics"] == bt["metrics"], live["metrics"].dump() << "\nvs " << bt["metrics"].dump());
  BOOST_TEST(live["symbols"] == bt["symbols"]);
  BOOST_TEST(live["orders"]["sent"] == bt["orders"]["sent"]);
  BOOST_TEST(live["orders"]["filled"] == bt["orders"]["filled"]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_live_period_reports_as_its_backtest) {
  fixture f;
  {
    daemon_process d(daemon_bin, f.config_body);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    auto s = d.stats_until(finished, 150s);
    BOOST_REQUIRE_MESSAGE(finished(s), s.dump().substr(0, 2000));
    BOOST_TEST(d.stop() == 0, d.proc->output());
  }
  const auto live = f.report("live");
  const auto bt = f.backtest("backtest");
  require_same_trading(live, bt);
  BOOST_TEST(read_file(f.dir.path / "live" / "report.html").find("<svg") != std::string::npos);

  // Bad input, each named: exit 2.
  auto missing = run_tool({tradebot_bin, "report", "--state-dir", (f.dir.path / "nowhere").string(), "--from", from,
                           "--to", to, "--report", (f.dir.path / "x").string()},
                          f.dir.path / "missing.log");
  BOOST_TEST(missing.code == 2);
  BOOST_TEST(missing.output.find("nowhere") != std::string::npos, missing.output);
  auto empty = run_tool({tradebot_bin, "report", "--state-dir", f.state.string(), "--from", "2030-01-01", "--to",
                         "2030-02-01", "--report", (f.dir.path / "y").string()},
                        f.dir.path / "empty.log");
  BOOST_TEST(empty.code == 2);
  BOOST_TEST(empty.output.find("no equity mark") != std::string::npos, empty.output);
  // A corrupt line in the middle of a copy of the journal.
  const auto copy = f.dir.path / "corrupt-state";
  std::filesystem::create_directories(copy / "broker");
  std::filesystem::copy_file(f.state / "broker" / "equity.jsonl", copy / "broker" / "equity.jsonl");
  const auto journal = read_file(f.state / "broker" / "orders.jsonl");
  const auto first_nl = journal.find('\n');
  BOOST_REQUIRE(first_nl != std::string::npos && first_nl + 1 < journal.size());
  std::ofstream(copy / "broker" / "orders.jsonl") << journal.substr(0, first_nl + 1) << "{\"kind\": garbage\n"
                                                  << journal.substr(first_nl + 1);
  auto corrupt = run_tool({tradebot_bin, "report", "--state-dir", copy.string(), "--from", from, "--to", to, "--report",
                           (f.dir.path / "z").string()},
                          f.dir.path / "corrupt.log");
  BOOST_TEST(corrupt.code == 2);
  BOOST_TEST(corrupt.output.find("orders.jsonl:2: ") != std::string::npos, corrupt.output);
}

BOOST_AUTO_TEST_CASE(restarts_in_the_middle_lose_no_point_of_the_curve) {
  fixture f;
  const auto marks = [&] {
    std::size_t n = 0;
    std::ifstream in(f.state / "broker" / "equity.jsonl");
    for (std::string line; std::getline(in, line);) n += !line.empty();
    return n;
  };
  // Killed after 15 cycles, stopped cleanly after 15 more, then run to the end.
  std::size_t after_kill = 0, after_stop = 0;
  {
    daemon_process d(daemon_bin, f.config_body);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    auto s = d.stats_until([](const json& s) { return cycles(s) >= 15; }, 120s);
    d.proc->signal(SIGKILL);
    BOOST_REQUIRE_EQUAL(d.proc->wait(30s), 128 + SIGKILL);
    BOOST_REQUIRE_MESSAGE(!finished(s), "the run ended before the kill");
    after_kill = marks();
  }
  {
    daemon_process d(daemon_bin, f.config_body);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    // The curve went on from the one on disk (/stats counts this run's cycles).
    auto s = d.stats_until([](const json& s) { return cycles(s) >= 15; }, 120s);
    BOOST_REQUIRE_MESSAGE(!finished(s), "the run ended before the stop");
    BOOST_TEST(d.stop() == 0, d.proc->output());
    after_stop = marks();
  }
  {
    daemon_process d(daemon_bin, f.config_body);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    auto s = d.stats_until(finished, 150s);
    BOOST_REQUIRE_MESSAGE(finished(s), s.dump().substr(0, 2000));
    BOOST_TEST(d.stop() == 0, d.proc->output());
  }
  BOOST_TEST_MESSAGE("marks after the kill " << after_kill << ", after the stop " << after_stop << ", at the end "
                                             << marks());
  BOOST_TEST(after_kill >= 10u);
  BOOST_TEST(after_stop > after_kill);
  BOOST_TEST(marks() > after_stop);
  const auto live = f.report("live");
  const auto bt = f.backtest("backtest");
  // Every instant of the backtest's curve, once, in order; the marks written before the kill are
  // the backtest's. (Later values may differ: a kill in the middle of a cycle's orders loses the
  // rest of them, as the order path documents, so the account after the restart can differ.)
  const auto& lc = live["equity_curve"];
  const auto& bc = bt["equity_curve"];
  BOOST_REQUIRE_EQUAL(lc.size(), bc.size());
  std::size_t same = 0;
  for (std::size_t i = 0; i < lc.size(); ++i) {
    BOOST_TEST(lc[i]["time_s"] == bc[i]["time_s"], i);
    if (i < after_kill) BOOST_TEST(lc[i]["equity"] == bc[i]["equity"], i);
    same += lc[i]["equity"] == bc[i]["equity"];
  }
  BOOST_TEST_MESSAGE(same << " of " << lc.size() << " marks have the backtest's equity");
}
