// `tradebot sweep` and `tradebot backtest --set`, the real binary: six combinations of strategy
// and portfolio keys over three months of four daily files of tests/data/daily, sharing the
// config's forecast cache. Only the first run computes forecasts (the five later ones have no
// miss and compute nothing); summary.json ranks the runs by Sharpe (checked against each run's own
// report.json) and names the winner's settings; a run equals a plain backtest with the same
// values given by --set. A bad --grid or --set exits 2 naming it, before anything runs.
#define BOOST_TEST_MODULE sweep
#include <boost/test/unit_test.hpp>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "strategy/report.hpp"
#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string tradebot_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebot";
const std::string daily = std::string(TRADEBOT_TEST_DATA) + "/daily";

process_result tradebot(std::vector<std::string> args, const std::filesystem::path& log) {
  args.insert(args.begin(), tradebot_bin);
  return run_to_exit(args, log, 300s);
}

// Four files in a folder of their own, and a config whose forecast cache (memory + disk) is on.
struct fixture_data {
  temp_dir dir;
  std::filesystem::path replay = dir.path / "replay";
  std::filesystem::path config;
  fixture_data() {
    std::filesystem::create_directories(replay);
    for (const char* s : {"JD", "PDD", "NIO", "SUIUSD"})
      std::filesystem::copy_file(daily + "/" + s + ".csv", replay / (std::string(s) + ".csv"));
    config =
        dir.write("sweep.toml", small_trading_config((dir.path / "state").string(), "",
                                                     "\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"", "", "enabled = true\n"));
  }
  std::vector<std::string> period() const {
    return {"--config", config.string(), "--data", replay.string(), "--from", "2025-01-02", "--to", "2025-04-01"};
  }
};

fixture_data& data() {
  static fixture_data d;
  return d;
}

const std::vector<std::string> min_sharpe = {"-10", "0", "0.5"};
const std::vector<std::string> kelly = {"0.1", "0.4"};

const process_result& sweep() {
  static process_result r = [] {
    auto args = data().period();
    args.insert(args.begin(), "sweep");
    for (std::string a :
         std::vector<std::string>{"--grid", "strategy.min_sharpe=-10,0,0.5", "--grid",
                                  "portfolio.kelly_fraction=0.1,0.4", "--report", (data().dir.path / "sweep").string()})
      args.push_back(a);
    return tradebot(args, data().dir.path / "sweep.log");
  }();
  return r;
}

std::filesystem::path run_dir(int number) {
  char name[16];
  std::snprintf(name, sizeof name, "run-%03d", number);
  return data().dir.path / "sweep" / name;
}

json read_json(const std::filesystem::path& p) {
  const auto text = read_file(p);
  BOOST_REQUIRE_MESSAGE(!text.empty(), p << " is missing or empty");
  return json::parse(text);
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_sweep_of_six_computes_forecasts_only_in_its_first_run) {
  const auto& s = sweep();
  BOOST_REQUIRE_MESSAGE(s.code == 0, s.output);
  BOOST_TEST_MESSAGE("sweep: " << s.output);
  for (int n = 1; n <= 6; ++n) {
    const auto report = read_json(run_dir(n) / "report.json");
    BOOST_REQUIRE_MESSAGE(tb::strategy::report_from_json(report), "run " << n << " report does not read back");
    BOOST_TEST(std::filesystem::exists(run_dir(n) / "report.html"));
    const auto& cache = report.at("cache");
    BOOST_TEST_MESSAGE("run " << n << " cache " << cache.dump());
    if (n == 1) {
      BOOST_TEST(cache.at("computed").get<std::int64_t>() > 0);
      BOOST_TEST(cache.at("misses").get<std::int64_t>() > 0);
    } else {
      BOOST_TEST(cache.at("computed").get<std::int64_t>() == 0, "run " << n);
      BOOST_TEST(cache.at("misses").get<std::int64_t>() == 0, "run " << n);
      BOOST_TEST(cache.at("hits").get<std::int64_t>() > 0, "run " << n);
    }
  }
  BOOST_TEST(!std::filesystem::exists(run_dir(7)));
}

BOOST_AUTO_TEST_CASE(the_summary_ranks_the_runs_by_sharpe_and_names_the_winners_settings) {
  const auto& s = sweep();
  BOOST_REQUIRE_MESSAGE(s.code == 0, s.output);
  const auto summary = read_json(data().dir.path / "sweep" / "summary.json");
  const auto& runs = summary.at("runs");
  BOOST_REQUIRE_EQUAL(runs.size(), 6u);
  double best = -1e300;
  int best_run = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& row = runs[i];
    BOOST_TEST(row.at("rank") == i + 1);
    const int n = row.at("run");
    // The row is its run's report: metrics, and the settings of combination n (first grid slowest).
    const auto report = read_json(run_dir(n) / "report.json");
    BOOST_TEST(row.at("metrics") == report.at("metrics"), "run " << n);
    BOOST_TEST(row.at("settings").at("strategy.min_sharpe").get<double>() == std::stod(min_sharpe[(n - 1) / 2]));
    BOOST_TEST(row.at("settings").at("portfolio.kelly_fraction").get<double>() == std::stod(kelly[(n - 1) % 2]));
    const double sharpe = report.at("metrics").at("sharpe");
    if (i > 0) BOOST_TEST(sharpe <= runs[i - 1].at("metrics").at("sharpe").get<double>(), "rank " << i + 1);
    if (sharpe > best) best = sharpe, best_run = n;
  }
  const auto& winner = summary.at("winner");
  BOOST_TEST(winner.at("sharpe").get<double>() == best);
  BOOST_TEST(winner.at("run").get<int>() == runs[0].at("run").get<int>());
  BOOST_TEST(read_json(run_dir(best_run) / "report.json").at("metrics").at("sharpe").get<double>() == best);
  BOOST_TEST(winner.at("settings") == runs[0].at("settings"));
  // The grids change the trading: not every run gives the same result.
  bool differ = false;
  for (const auto& row : runs) differ = differ || row.at("metrics") != runs[0].at("metrics");
  BOOST_TEST(differ);
  const auto html = read_file(data().dir.path / "sweep" / "summary.html");
  BOOST_TEST(contains(html, "id=\"winner\""));
  BOOST_TEST(contains(s.output, "winner: run-"), s.output);
}

BOOST_AUTO_TEST_CASE(a_sweep_run_is_the_backtest_with_the_same_values_set) {
  const auto& s = sweep();
  BOOST_REQUIRE_MESSAGE(s.code == 0, s.output);
  // Run 4: min_sharpe 0, kelly_fraction 0.4.
  auto args = data().period();
  args.insert(args.begin(), "backtest");
  for (std::string a :
       std::vector<std::string>{"--set", "strategy.min_sharpe=0", "--set", "portfolio.kelly_fraction=0.4", "--report",
                                (data().dir.path / "set").string()})
    args.push_back(a);
  const auto b = tradebot(args, data().dir.path / "set.log");
  BOOST_REQUIRE_MESSAGE(b.code == 0, b.output);
  auto ours = read_json(data().dir.path / "set" / "report.json");
  auto theirs = read_json(run_dir(4) / "report.json");
  for (auto* j : {&ours, &theirs}) {
    (*j)["run"].erase("started_s");
    (*j)["run"].erase("finished_s");
    j->erase("cache");
    j->erase("timing");
  }
  BOOST_TEST(ours == theirs);
  BOOST_TEST(read_file(data().dir.path / "set" / ".backtest-state" / "broker" / "orders.jsonl") ==
             read_file(run_dir(4) / ".backtest-state" / "broker" / "orders.jsonl"));
}

BOOST_AUTO_TEST_CASE(a_bad_grid_or_set_exits_2_naming_it_before_anything_runs) {
  const auto out = data().dir.path / "bad";
  auto expect_2 = [&](std::vector<std::string> extra, const std::string& command, const std::string& needle) {
    auto args = data().period();
    args.insert(args.begin(), command);
    for (auto& a : extra) args.push_back(a);
    args.push_back("--report");
    args.push_back(out.string());
    const auto r = tradebot(args, data().dir.path / "bad.log");
    BOOST_TEST(r.code == 2, needle << "\n" << r.output);
    BOOST_TEST(contains(r.output, needle), r.output);
    BOOST_TEST(!std::filesystem::exists(out));
  };
  expect_2({"--grid", "strategy.min_sharp=0,0.3"}, "sweep",
           "--grid strategy.min_sharp=0,0.3 (value 0): unknown key 'strategy.min_sharp'; did you mean "
           "'strategy.min_sharpe'?");
  expect_2({"--grid", "portfolio.max_positions=5,ten"}, "sweep",
           "--grid portfolio.max_positions=5,ten (value ten): key 'portfolio.max_positions': expected an integer in "
           "[1, 1000]");
  expect_2({"--grid", "portfolio.max_positions=5,10", "--grid", "strategy.min_sharpe=0,,1"}, "sweep",
           "--grid strategy.min_sharpe=0,,1: an empty value");
  expect_2(
      {"--grid", "portfolio.max_positions=2,10"}, "sweep",
      "the combination portfolio.max_positions=2: portfolio.min_positions (4) must be <= portfolio.max_positions (2)");
  expect_2({"--grid", "strategy.min_sharpe=0,1", "--set", "risk.max_leverage=lots"}, "sweep",
           "--set risk.max_leverage=lots: key 'risk.max_leverage': expected a number in");
  expect_2({"--set", "portfolio.max_positions=ten"}, "backtest",
           "--set portfolio.max_positions=ten: key 'portfolio.max_positions': expected an integer in [1, 1000]");
  expect_2({"--set", "strategy.min_sharpe"}, "backtest", "--set strategy.min_sharpe: expected KEY=VALUE");
  expect_2({"--set", "cache.ttl_s=5.5"}, "backtest", "--set cache.ttl_s=5.5: key 'cache.ttl_s': expected an integer");
}
