// `tradebot backtest`, the real binary: the daemon's actors over three months of four daily files
// of tests/data/daily on simulated time. The report reads back and its trades match its order
// counts; the same backtest twice gives the same report.json (run timestamps aside) and `tradebot
// compare` passes it; the forecast cache on and off gives the same orders (the speed-ups change
// nothing); over a shared cache (--cache shared, the default) the same backtest again computes
// nothing, makes no miss, is faster (10-15x on a quiet machine, asserted >= 3x) and trades the
// same; one more trading day computes at most one window per symbol, and two backtests at once on
// one cache folder finish with the reports of runs made one after the other and leave nothing
// corrupt; bad arguments exit 2 before anything runs.
// The demo checkpoint (tiny, seed 0: the same weights in every state folder) with small windows.
#define BOOST_TEST_MODULE backtest
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <regex>
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
// `cache_dir`: where [cache] dir points (default: the decoy state's cache folder); a 1 s TTL for
// still-forming windows, so a window stored by the wrong rule would expire between runs.
// `bot_sampling`: the bot's 192 samples and 7 steps over 48 bars, so that the model's work
// dominates a cold run as it does with real models (the small windows run mostly actors and fsyncs).
std::string config_text(const std::filesystem::path& decoy_state, bool cache, const std::string& cache_dir = "",
                        bool bot_sampling = false) {
  auto text = small_trading_config(decoy_state.string(), "[market]\nfeed = \"synthetic\"\nsim_start = \"2024-01-02\"\n",
                                   "\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"", "",
                                   cache ? "enabled = true\nttl_s = 1\n" : "enabled = false\n");
  if (!cache_dir.empty())
    text = std::regex_replace(text, std::regex("dir = \"[^\"]*/cache\""), "dir = \"" + cache_dir + "\"");
  if (bot_sampling)
    text = std::regex_replace(text, std::regex("pred_len = 1\nlookback = 24\nmax_context = 24\nsample_count = 1\n"),
                              "pred_len = 7\nlookback = 48\nmax_context = 64\nsample_count = 192\n");
  if (bot_sampling && text.find("sample_count = 192") == std::string::npos)
    throw std::logic_error("small_trading_config's [forecast] changed: update config_text");
  return text;
}

struct backtest_run {
  int code = -1;
  std::string output;
  std::filesystem::path report_dir;
  std::string report_json, journal;
  std::optional<tb::strategy::backtest_report> report;
  double wall_s = 0;  // the tool's whole run, start to exit
};

const tb::strategy::cache_figures& cache_of(const backtest_run& r) { return r.report->cache; }

int run_tool(const std::vector<std::string>& args, const std::filesystem::path& log, std::string* output) {
  auto r = run_to_exit(args, log, 120s);
  if (output) *output = std::move(r.output);
  return r.code;
}

// The four files in a folder of their own (the backtest trades the files it is given).
struct fixture_data {
  temp_dir dir;
  std::filesystem::path replay = dir.path / "replay";
  std::filesystem::path decoy = dir.path / "live-state";
  fixture_data() {
    std::filesystem::create_directories(replay);
    for (const char* s : symbols)
      std::filesystem::copy_file(daily + "/" + s + ".csv", replay / (std::string(s) + ".csv"));
  }
  std::filesystem::path shared_config(const std::string& cache_folder, bool bot_sampling) const {
    return dir.write(cache_folder + ".toml",
                     config_text(decoy, true, (dir.path / cache_folder).string(), bot_sampling));
  }
  // A started backtest; finish() waits for it and reads what it wrote.
  struct started {
    backtest_run r;
    std::unique_ptr<child_process> proc;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  };
  started start(const std::string& name, const std::filesystem::path& cfg, const std::string& cache_mode,
                const std::string& to = "2025-04-01") {
    started s;
    s.r.report_dir = dir.path / name;
    std::vector<std::string> args{
        tradebot_bin, "backtest",   "--config", cfg.string(), "--data",   replay.string(),
        "--from",     "2025-01-02", "--to",     to,           "--report", s.r.report_dir.string()};
    if (!cache_mode.empty()) args.insert(args.end(), {"--cache", cache_mode});
    s.proc = std::make_unique<child_process>(args, std::map<std::string, std::string>{}, dir.path / (name + ".log"));
    return s;
  }
  static backtest_run finish(started s) {
    auto& r = s.r;
    r.code = s.proc->wait(180s);
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.t0).count();
    r.output = s.proc->output();
    r.report_json = read_file(r.report_dir / "report.json");
    r.journal = read_file(r.report_dir / ".backtest-state" / "broker" / "orders.jsonl");
    if (!r.report_json.empty())
      if (auto parsed = tb::strategy::report_from_json(json::parse(r.report_json))) r.report = *parsed;
    return std::move(r);
  }
  backtest_run run(const std::string& name, bool cache) {
    // The cache-on run keeps its cache in its own state folder (--cache fresh): the config's
    // state folder (the decoy) stays untouched.
    const auto cfg = dir.write(cache ? "cache-on.toml" : "cache-off.toml", config_text(decoy, cache));
    return finish(start(name, cfg, cache ? "fresh" : ""));
  }
  backtest_run run_shared(const std::string& name, const std::string& cache_folder,
                          const std::string& to = "2025-04-01") {
    return finish(start(name, shared_config(cache_folder, true), "shared", to));
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
// The same backtest twice over one shared cache folder (the bot's sampling): cold, then warm.
const backtest_run& shared_cold() {
  static backtest_run r = data().run_shared("shared-cold", "shared-cache");
  return r;
}
const backtest_run& shared_warm() {
  shared_cold();
  static backtest_run r = data().run_shared("shared-warm", "shared-cache");
  return r;
}

// What two runs of the same backtest share: everything but the run's wall-clock times and what
// its cache did.
json without_run_times(const std::string& text) {
  auto j = json::parse(text);
  j["run"].erase("started_s");
  j["run"].erase("finished_s");
  j.erase("timing");
  j.erase("cache");
  return j;
}

json without_config_path(json j) {
  j["run"].erase("config");  // the configs differ only in [cache]
  return j;
}

}  // namespace

BOOST_AUTO_TEST_CASE(backtest_writes_a_report_whose_trades_match_its_order_counts) {
  const auto& a = cache_off();
  BOOST_REQUIRE_MESSAGE(a.code == 0, a.output);
  BOOST_REQUIRE_MESSAGE(a.report, "report.json does not read back:\n" << a.report_json.substr(0, 2000));
  const auto& r = *a.report;
  BOOST_TEST_MESSAGE("backtest: " << a.output << "\nmetrics " << tb::strategy::to_json(r.metrics).dump());
  BOOST_TEST(r.equity_curve.size() > 100u);                 // one point per cycle over three months
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
  // What each run computed: everything (no cache), with the figures in report.json.
  BOOST_TEST(a.report->cache.hits == 0);
  BOOST_TEST(a.report->cache.computed > 0);
  BOOST_TEST(a.report->cache.computed == b.report->cache.computed);
  BOOST_TEST(a.report->timing.cycles > 100);
  BOOST_TEST(a.report->timing.elapsed_s > 0);
  BOOST_TEST(a.report->timing.inference_s > 0);
  BOOST_TEST(a.report->inference.errors == 0);
  BOOST_TEST(a.report->inference.oom_splits == 0);
  const int code = run_tool(
      {tradebot_bin, "compare", (a.report_dir / "report.json").string(), (b.report_dir / "report.json").string()},
      data().dir.path / "compare.log", &out);
  BOOST_TEST(code == 0, out);
  BOOST_TEST(out.find("verdict: OK") != std::string::npos, out);
  BOOST_TEST(out.find("OK       inference_errors: 0 -> 0") != std::string::npos, out);
  BOOST_TEST(out.find("not judged: cache_hit_rate") != std::string::npos, out);  // the cache was off
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

BOOST_AUTO_TEST_CASE(the_same_backtest_again_over_a_shared_cache_computes_nothing_and_trades_the_same) {
  const auto& cold = shared_cold();
  const auto& warm = shared_warm();
  BOOST_REQUIRE_MESSAGE(cold.code == 0 && warm.code == 0, cold.output << "\n" << warm.output);
  BOOST_REQUIRE(cold.report && warm.report);
  const auto &c = cache_of(cold), &w = cache_of(warm);
  BOOST_TEST_MESSAGE("cold: " << cold.report->timing.elapsed_s << " s in the run (" << cold.wall_s << " s with the "
                              << "process), inference " << cold.report->timing.inference_s << " s, " << c.computed
                              << " windows computed, " << c.hits << " hits, " << c.misses
                              << " misses\nwarm: " << warm.report->timing.elapsed_s << " s in the run (" << warm.wall_s
                              << " s with the process), inference " << warm.report->timing.inference_s << " s, "
                              << w.computed << " computed, " << w.hits << " hits, " << w.misses << " misses; "
                              << cold.report->timing.elapsed_s / warm.report->timing.elapsed_s << "x faster");
  BOOST_TEST(c.computed > 0);
  BOOST_TEST(c.misses == c.computed);
  BOOST_TEST(c.stored == c.computed);
  // The second run: every window from the cache, none computed.
  BOOST_TEST(w.misses == 0);
  BOOST_TEST(w.computed == 0);
  BOOST_TEST(w.hits == c.hits + c.misses);
  BOOST_TEST(w.hit_rate_percent == 100.0);
  BOOST_TEST(warm.report->timing.inference_s == 0.0);
  // The same trades: the journal byte for byte, the report but for times and cache figures.
  BOOST_TEST(!cold.journal.empty());
  BOOST_TEST(warm.journal == cold.journal);
  BOOST_TEST(without_run_times(warm.report_json) == without_run_times(cold.report_json));
  BOOST_TEST(cold.report->timing.inference_s > 0.5 * cold.report->timing.elapsed_s);  // the model's work dominates
  // Faster: the run (model start to report). Measured 10-15x on a quiet 2-core machine; the bound
  // is generous because other processes sharing the cores slow the warm run's actors and fsyncs.
  BOOST_TEST(cold.report->timing.elapsed_s >= 3 * warm.report->timing.elapsed_s);
  // The last line keeps the original bot's form.
  const std::string last =
      "Kronos Prediction Cache Stats: hits=" + std::to_string(w.hits) + " misses=0 hit_rate=100.0%\n";
  BOOST_TEST(warm.output.size() >= last.size());
  BOOST_TEST(warm.output.compare(warm.output.size() - last.size(), last.size(), last) == 0, warm.output);
}

BOOST_AUTO_TEST_CASE(one_more_trading_day_computes_at_most_one_window_per_symbol) {
  const auto& cold = shared_cold();
  BOOST_REQUIRE_MESSAGE(cold.code == 0, cold.output);
  const auto next = data().run_shared("shared-next-day", "shared-cache", "2025-04-02");
  BOOST_REQUIRE_MESSAGE(next.code == 0 && next.report, next.output);
  BOOST_TEST_MESSAGE("one more day: " << cache_of(next).computed << " windows computed, " << cache_of(next).misses
                                      << " misses, " << cache_of(next).hits << " hits");
  BOOST_TEST(next.report->timing.cycles > cold.report->timing.cycles);
  BOOST_TEST(cache_of(next).computed >= 1);
  BOOST_TEST(cache_of(next).computed <= 4);  // one window per symbol at most
  BOOST_TEST(cache_of(next).misses == cache_of(next).computed);
}

BOOST_AUTO_TEST_CASE(two_backtests_at_once_on_one_cache_equal_runs_one_after_the_other) {
  const auto& cold = cache_on();  // the same backtest alone, on a cache of its own
  BOOST_REQUIRE_MESSAGE(cold.code == 0, cold.output);
  // Both cold, on one new cache folder: they compute and write the same keys at the same time.
  auto& d = data();
  const auto cfg = d.shared_config("racing-cache", false);
  auto started_a = d.start("racing-a", cfg, "shared");
  auto started_b = d.start("racing-b", cfg, "shared");
  const auto a = fixture_data::finish(std::move(started_a));
  const auto b = fixture_data::finish(std::move(started_b));
  BOOST_REQUIRE_MESSAGE(a.code == 0 && b.code == 0, a.output << "\n" << b.output);
  BOOST_TEST_MESSAGE("at once: " << cache_of(a).computed << " and " << cache_of(b).computed << " windows computed, "
                                 << cache_of(a).hits << " and " << cache_of(b).hits << " hits");
  for (const auto* r : {&a, &b}) {
    BOOST_TEST(r->journal == cold.journal);
    BOOST_TEST(without_config_path(without_run_times(r->report_json)) ==
               without_config_path(without_run_times(cold.report_json)));
  }
  // Nothing in the shared folder is corrupt.
  std::string out;
  const int code =
      run_tool({tradebot_bin, "cache", "verify", "--config", cfg.string()}, d.dir.path / "verify.log", &out);
  BOOST_TEST(code == 0, out);
  BOOST_TEST(out.find(" 0 corrupt") != std::string::npos, out);
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
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", (d.path / "nope").string(), "--to",
                       "2025-04-01", "--report", (d.path / "r").string()},
                      d.path / "3.log", &out) == 2);
  BOOST_TEST(out.find("nope") != std::string::npos, out);
  // An unknown cache mode.
  BOOST_TEST(run_tool({tradebot_bin, "backtest", "--config", cfg.string(), "--data", data().replay.string(), "--to",
                       "2025-04-01", "--cache", "sometimes", "--report", (d.path / "r").string()},
                      d.path / "5.log", &out) == 2);
  BOOST_TEST(out.find("--cache sometimes") != std::string::npos, out);
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
  r.code = run_tool(
      {tradebot_bin, "backtest", "--config", cfg.string(), "--data", std::string(TRADEBOT_TEST_DATA) + "/quandl",
       "--from", from, "--to", to, "--report", report_dir.string()},
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
  BOOST_TEST(std::any_of(r.report->trades.begin(), r.report->trades.end(),
                         [&](const auto& t) { return t.time_s >= reopened && t.time_s < reopened + 14 * 86400; }));
}

BOOST_AUTO_TEST_CASE(a_quandl_file_over_hurricane_sandy_follows_the_nyse_calendar) {
  const auto r = run_quandl("2012-10-01", "2012-11-30");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_REQUIRE_MESSAGE(r.report, r.output);
  for (const char* closed : {"2012-10-29", "2012-10-30", "2012-11-22"})
    BOOST_TEST(r.cycle_days.count(closed) == 0u, closed);
  for (const char* open : {"2012-10-26", "2012-10-31", "2012-11-23"}) BOOST_TEST(r.cycle_days.count(open) == 1u, open);
  BOOST_TEST(r.report->orders.sent > 0);
  BOOST_TEST(!r.report->trades.empty());
}
