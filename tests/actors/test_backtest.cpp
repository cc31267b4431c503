// `tradebot backtest`, the real binary: the daemon's actors over three months of four daily files
// of tests/data/daily on simulated time. The report reads back and its trades match its order
// counts; the same backtest twice gives the same report.json (run timestamps aside) and `tradebot
// compare` passes it; the forecast cache on and off gives the same orders (the speed-ups change
// nothing); bad arguments exit 2 before anything runs.
// The demo checkpoint (tiny, seed 0: the same weights in every state folder) with small windows.
#define BOOST_TEST_MODULE backtest
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/calendar.hpp"
#include "strategy/report.hpp"
#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string tradebot_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebot";
const std::string daily = std::string(TRADEBOT_TEST_DATA) + "/daily";
const char* const symbols[] = {"JD", "PDD", "NIO", "SUIUSD"};

// A config that says nothing about the feed or the clock (the backtest forces them) but points
// its state somewhere the backtest must NOT use.
std::string config_text(const std::filesystem::path& decoy_state, bool cache) {
  return small_trading_config(decoy_state.string(), "[market]\nfeed = \"synthetic\"\nsim_start = \"2024-01-02\"\n",
                              "\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"", "", cache ? "enabled = true\n" : "enabled = false\n");
}

struct backtest_run {
  int code = -1;
  std::string output;
  std::filesystem::path report_dir;
  std::string report_json, journal;
  std::optional<tb::strategy::backtest_report> report;
};

int run_tool(const std::vector<std::string>& args, const std::filesystem::path& log, std::string* output) {
  child_process p(args, {}, log);
  const int code = p.wait(120s);
  if (output) *output = p.output();
  return code;
}

// The four files in a folder of their own (the backtest trades the files it is given).
struct fixture_data {
  temp_dir dir;
  std::filesystem::path replay = dir.path / "replay";
  std::filesystem::path decoy = dir.path / "live-state";
  fixture_data() {
    std::filesystem::create_directories(replay);
    for (const char* s : symbols) std::filesystem::copy_file(daily + "/" + s + ".csv", replay / (std::string(s) + ".csv"));
  }
  backtest_run run(const std::string& name, bool cache) {
    backtest_run r;
    const auto cfg = dir.write(cache ? "cache-on.toml" : "cache-off.toml", config_text(decoy, cache));
    r.report_dir = dir.path / name;
    r.code = run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", replay.string(), "--from",
                       "2025-01-02", "--to", "2025-04-01", "--report", r.report_dir.string()},
                      dir.path / (name + ".log"), &r.output);
    r.report_json = read_file(r.report_dir / "report.json");
    r.journal = read_file(r.report_dir / ".backtest-state" / "broker" / "orders.jsonl");
    if (!r.report_json.empty())
      if (auto parsed = tb::strategy::report_from_json(json::parse(r.report_json))) r.report = *parsed;
    return r;
  }
};

fixture_data& data() {
  static fixture_data d;
  return d;
}

// Each backtest once per module (the model runs on the CPUs).
const backtest_run& cache_off() {
  static backtest_run r = data().run("cache-off", false);
  return r;
}
const backtest_run& cache_off_again() {
  static backtest_run r = data().run("cache-off-again", false);
  return r;
}
const backtest_run& cache_on() {
  static backtest_run r = data().run("cache-on", true);
  return r;
}

json without_run_times(const std::string& text) {
  auto j = json::parse(text);
  j["run"].erase("started_s");
  j["run"].erase("finished_s");
  return j;
}

json without_config_path(json j) {
  j["run"].erase("config");  // cache-on.toml and cache-off.toml differ only in [cache]
  return j;
}

}  // namespace

BOOST_AUTO_TEST_CASE(backtest_writes_a_report_whose_trades_match_its_order_counts) {
  const auto& a = cache_off();
  BOOST_REQUIRE_MESSAGE(a.code == 0, a.output);
  BOOST_REQUIRE_MESSAGE(a.report, "report.json does not read back:\n" << a.report_json.substr(0, 2000));
  const auto& r = *a.report;
  BOOST_TEST_MESSAGE("backtest: " << a.output << "\nmetrics " << tb::strategy::to_json(r.metrics).dump());
  BOOST_TEST(r.equity_curve.size() > 100u);  // one point per cycle over three months
  BOOST_TEST(r.equity_curve.front().time_s >= 1735776000);  // 2025-01-02
  BOOST_TEST(r.equity_curve.back().time_s <= 1743465600);   // 2025-04-01
  BOOST_TEST(r.orders.sent > 0);
  BOOST_TEST(!r.trades.empty());
  // The sim broker fills an order in one fill: one trade per filled order, never more than sent.
  BOOST_TEST(static_cast<std::int64_t>(r.trades.size()) == r.orders.filled);
  BOOST_TEST(r.orders.filled <= r.orders.sent);
  // Every trade is an order of the journal, at most once.
  std::set<std::string> ids;
  for (const auto& t : r.trades) {
    BOOST_TEST(ids.insert(t.client_order_id).second, t.client_order_id);
    BOOST_TEST(a.journal.find("\"client_order_id\":\"" + t.client_order_id + "\"") != std::string::npos);
    BOOST_TEST(t.fee > 0);
  }
  // Trades and turnover are real: counted from the fills.
  BOOST_TEST(r.metrics.trades > 0);
  BOOST_TEST(r.metrics.trades <= static_cast<std::int64_t>(r.trades.size()));
  BOOST_TEST(r.metrics.turnover > 0);
  BOOST_TEST(r.metrics.bars > 50);  // one bar per day
  // One row per symbol, in the config's order.
  BOOST_REQUIRE_EQUAL(r.symbols.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(r.symbols[i].symbol == symbols[i]);
  BOOST_TEST((r.symbols[3].asset == tb::strategy::asset_class::crypto));
  std::int64_t symbol_trades = 0;
  for (const auto& s : r.symbols) symbol_trades += s.metrics.trades;
  BOOST_TEST(symbol_trades == r.metrics.trades);
  // The page.
  const auto html = read_file(a.report_dir / "report.html");
  BOOST_TEST(html.find("<svg") != std::string::npos);
  BOOST_TEST(html.find("SUIUSD") != std::string::npos);
  // The config's own state folder was never touched.
  BOOST_TEST(!std::filesystem::exists(data().decoy));
}

BOOST_AUTO_TEST_CASE(the_same_backtest_twice_gives_the_same_report_and_compare_passes_it) {
  const auto& a = cache_off();
  const auto& b = cache_off_again();
  BOOST_REQUIRE_MESSAGE(a.code == 0 && b.code == 0, a.output << "\n" << b.output);
  BOOST_TEST(a.journal == b.journal);
  BOOST_TEST(without_run_times(a.report_json) == without_run_times(b.report_json));
  std::string out;
  const int code = run_tool({tradebot_bin, "compare", (a.report_dir / "report.json").string(),
                             (b.report_dir / "report.json").string()},
                            data().dir.path / "compare.log", &out);
  BOOST_TEST(code == 0, out);
  BOOST_TEST(out.find("OK") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(the_forecast_cache_changes_no_order) {
  const auto& off = cache_off();
  const auto& on = cache_on();
  BOOST_REQUIRE_MESSAGE(off.code == 0 && on.code == 0, off.output << "\n" << on.output);
  BOOST_TEST(!off.journal.empty());
  BOOST_TEST(on.journal == off.journal);  // every intent, ack and fill, byte for byte
  BOOST_TEST(without_config_path(without_run_times(on.report_json)) ==
             without_config_path(without_run_times(off.report_json)));
  // The cache was really on: its disk tier holds entries.
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(on.report_dir / ".backtest-state" / "cache"))
    if (e.is_regular_file()) ++entries;
  BOOST_TEST(entries > 0u);
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_2_with_a_message) {
  temp_dir d;
  const auto cfg = d.write("c.toml", config_text(d.path / "state", false));
  std::string out;
  // No end date anywhere.
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", data().replay.string(), "--report",
                       (d.path / "r").string()},
                      d.path / "1.log", &out) == 2);
  BOOST_TEST(out.find("--to") != std::string::npos, out);
  // A date that is not one.
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", data().replay.string(), "--from",
                       "2025-13-40", "--to", "2025-04-01", "--report", (d.path / "r").string()},
                      d.path / "2.log", &out) == 2);
  BOOST_TEST(out.find("--from") != std::string::npos, out);
  // A data folder that does not exist.
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", (d.path / "nope").string(),
                       "--to", "2025-04-01", "--report", (d.path / "r").string()},
                      d.path / "3.log", &out) == 2);
  BOOST_TEST(out.find("nope") != std::string::npos, out);
  // A missing config file.
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", (d.path / "missing.toml").string(), "--to", "2025-04-01",
                       "--report", (d.path / "r").string()},
                      d.path / "4.log", &out) == 2);
}

// A descending, Quandl-layout daily file (tests/data/quandl/AAPL.csv: synthetic prices, see
// tests/data/README.md) over 2001-08..11 and 2012-10..11: the backtest runs on the NYSE calendar of
// those years, so no cycle falls on a day NYSE was closed (2001-09-11..14, Hurricane Sandy,
// Thanksgiving), cycles resume on the next session, and it trades.
namespace {

struct quandl_run {
  int code = -1;
  std::string output;
  std::optional<tb::strategy::backtest_report> report;
  std::set<std::string> cycle_days;  // New York dates of the equity curve's points (one per cycle)
};

quandl_run run_quandl(const std::string& from, const std::string& to) {
  auto& d = data();
  quandl_run r;
  const auto cfg = d.dir.write("quandl.toml", small_trading_config((d.dir.path / "quandl-decoy").string(),
                                                                   "[market]\nfeed = \"synthetic\"\n", "\"AAPL\""));
  const auto report_dir = d.dir.path / ("quandl-" + from);
  r.code = run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data",
                     std::string(TRADEBOT_TEST_DATA) + "/quandl", "--from", from, "--to", to, "--report",
                     report_dir.string()},
                    d.dir.path / ("quandl-" + from + ".log"), &r.output);
  const auto text = read_file(report_dir / "report.json");
  if (!text.empty())
    if (auto parsed = tb::strategy::report_from_json(json::parse(text))) r.report = *parsed;
  if (r.report)
    for (const auto& p : r.report->equity_curve)
      r.cycle_days.insert(tb::core::to_string(tb::core::to_new_york(tb::core::from_unix_seconds(p.time_s)).date));
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_quandl_file_over_september_2001_follows_the_nyse_calendar) {
  const auto r = run_quandl("2001-08-01", "2001-11-30");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_REQUIRE_MESSAGE(r.report, r.output);
  BOOST_TEST_MESSAGE("2001: " << r.output);
  for (const char* closed : {"2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14", "2001-11-22", "2001-09-03"})
    BOOST_TEST(r.cycle_days.count(closed) == 0u, closed);
  for (const char* open : {"2001-08-01", "2001-09-10", "2001-09-17", "2001-11-21", "2001-11-23", "2001-11-29"})
    BOOST_TEST(r.cycle_days.count(open) == 1u, open);
  // The NYSE sessions from 2001-08-01 to 2001-11-29 (the run ends at 2001-11-30T00:00:00Z).
  BOOST_TEST(r.cycle_days.size() == 81u);
  // It trades, also in the days after the market reopened (the 2001-09-17 cycles are the first to
  // see the 2001-09-10 bar; whether the random-weight demo model acts on it is its own affair).
  BOOST_TEST(r.report->orders.sent > 0);
  BOOST_TEST(!r.report->trades.empty());
  const std::int64_t reopened = 1000733400;  // 2001-09-17T13:30:00Z, the open
  BOOST_TEST(std::any_of(r.report->trades.begin(), r.report->trades.end(), [&](const auto& t) {
    return t.time_s >= reopened && t.time_s < reopened + 14 * 86400;
  }));
}

BOOST_AUTO_TEST_CASE(a_quandl_file_over_hurricane_sandy_follows_the_nyse_calendar) {
  const auto r = run_quandl("2012-10-01", "2012-11-30");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_REQUIRE_MESSAGE(r.report, r.output);
  for (const char* closed : {"2012-10-29", "2012-10-30", "2012-11-22"}) BOOST_TEST(r.cycle_days.count(closed) == 0u, closed);
  for (const char* open : {"2012-10-26", "2012-10-31", "2012-11-23"}) BOOST_TEST(r.cycle_days.count(open) == 1u, open);
  BOOST_TEST(r.report->orders.sent > 0);
  BOOST_TEST(!r.report->trades.empty());
}
