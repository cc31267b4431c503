// The sweep summary (report/sweep.hpp): ranking by Sharpe with its tie rules, summary.json
// (runs in rank order, the winner's settings), summary.html (escaped, the winner and every run
// linked), write_summary.
#define BOOST_TEST_MODULE report_sweep
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/sweep.hpp"

using namespace tb::strategy;
using namespace tb::report;
using nlohmann::json;

namespace {

sweep_run run_of(int number, double sharpe, double total_return, double min_sharpe, std::int64_t max_positions) {
  sweep_run r;
  r.number = number;
  char dir[16];
  std::snprintf(dir, sizeof dir, "run-%03d", number);
  r.report_dir = dir;
  r.settings = {{"strategy.min_sharpe", min_sharpe}, {"portfolio.max_positions", max_positions}};
  r.metrics.sharpe = sharpe;
  r.metrics.total_return = total_return;
  r.metrics.win_rate = 0.5;
  r.metrics.max_drawdown = 0.04;
  r.metrics.trades = 10 + number;
  r.orders = {20, 18, 2};
  r.fills = 18;
  r.cache.computed = number == 1 ? 96 : 0;
  r.cache.hits = number == 1 ? 0 : 96;
  r.cache.misses = number == 1 ? 96 : 0;
  r.cache.hit_rate_percent = number == 1 ? 0 : 100;
  r.timing.elapsed_s = 1.5;
  return r;
}

sweep_summary sample() {
  sweep_summary s;
  s.config_path = "/etc/tradebotd/tradebotd.toml";
  s.data_dir = "data/<daily>";
  s.from_date = "2025-01-02";
  s.to_date = "2025-04-01";
  s.sets = {"--set risk.max_leverage=0.5"};
  s.grid = {{"strategy.min_sharpe", {"0", "0.3", "0.6"}}, {"portfolio.max_positions", {"5", "10"}}};
  s.runs = {run_of(1, 0.8, 0.02, 0, 5),    run_of(2, 1.9, 0.05, 0, 10),    run_of(3, -2.0, 0.09, 0.3, 5),
            run_of(4, 1.9, 0.07, 0.3, 10), run_of(5, -0.4, -0.01, 0.6, 5), run_of(6, 0.8, 0.02, 0.6, 10)};
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(runs_rank_by_sharpe_then_total_return_then_run_number_nan_as_minus_infinity) {
  auto runs = sample().runs;
  // sharpe 1.9 (return 0.07: run 4) before 1.9 (0.05: run 2); 0.8/0.02 twice: run 1 before 6; -2 last.
  BOOST_TEST((rank_by_sharpe(runs) == std::vector<std::size_t>{3, 1, 0, 5, 4, 2}));
  runs[2].metrics.sharpe = NAN;  // NaN ranks below every number
  BOOST_TEST((rank_by_sharpe(runs) == std::vector<std::size_t>{3, 1, 0, 5, 4, 2}));
  runs[4].metrics.sharpe = -INFINITY;  // NaN counts as -inf: then total return decides (0.09 > -0.01)
  BOOST_TEST((rank_by_sharpe(runs) == std::vector<std::size_t>{3, 1, 0, 5, 2, 4}));
  BOOST_TEST(rank_by_sharpe({}).empty());
}

BOOST_AUTO_TEST_CASE(summary_json_lists_runs_in_rank_order_and_names_the_winners_settings) {
  const auto j = to_json(sample());
  BOOST_TEST(j["format"] == "tradebot-sweep");
  BOOST_TEST(j["ranked_by"] == "sharpe");
  BOOST_TEST(j["winner"]["run"] == 4);
  BOOST_TEST(j["winner"]["report"] == "run-004/report.json");
  BOOST_TEST(j["winner"]["settings"]["strategy.min_sharpe"] == 0.3);
  BOOST_TEST(j["winner"]["settings"]["portfolio.max_positions"] == 10);
  BOOST_TEST(j["winner"]["sharpe"] == 1.9);
  BOOST_REQUIRE_EQUAL(j["runs"].size(), 6u);
  const int runs[] = {4, 2, 1, 6, 5, 3};
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(j["runs"][i]["rank"] == i + 1);
    BOOST_TEST(j["runs"][i]["run"] == runs[i]);
  }
  const auto& first = j["runs"][0];
  BOOST_TEST(first["metrics"]["total_return"] == 0.07);
  BOOST_TEST(first["metrics"]["win_rate"] == 0.5);
  BOOST_TEST(first["metrics"]["max_drawdown"] == 0.04);
  BOOST_TEST(first["metrics"]["trades"] == 14);
  BOOST_TEST(first["orders"]["sent"] == 20);
  BOOST_TEST(first["cache"]["computed"] == 0);
  BOOST_TEST(first["timing"]["elapsed_s"] == 1.5);
  BOOST_TEST(first["cache"]["hit_rate_percent"] == 100.0);
  BOOST_TEST(j["runs"][2]["cache"]["computed"] == 96);  // run 1
  BOOST_TEST(j["runs"][5]["metrics"]["sharpe"] == -2.0);
  BOOST_TEST(j["grid"][1]["key"] == "portfolio.max_positions");
  BOOST_TEST(to_json(sweep_summary{})["winner"].is_null());
}

BOOST_AUTO_TEST_CASE(summary_html_shows_the_winner_and_links_every_run_escaped) {
  const auto s = sample();
  const auto html = render_html(s);
  BOOST_TEST(html == render_html(s));  // deterministic
  BOOST_TEST(html.find("<script") == std::string::npos);
  const auto winner = html.find("id=\"winner\"");
  BOOST_REQUIRE(winner != std::string::npos);
  const auto winner_line = html.substr(winner, html.find("</p>", winner) - winner);
  BOOST_TEST(winner_line.find("run 4") != std::string::npos, winner_line);
  BOOST_TEST(winner_line.find("strategy.min_sharpe = <b>0.3</b>") != std::string::npos, winner_line);
  BOOST_TEST(winner_line.find("portfolio.max_positions = <b>10</b>") != std::string::npos, winner_line);
  // Rows in rank order, each linking its report page.
  std::size_t at = 0;
  for (const char* dir : {"run-004", "run-002", "run-001", "run-006", "run-005", "run-003"}) {
    const auto next = html.find(std::string("<a href=\"") + dir + "/report.html\">", at);
    BOOST_TEST(next != std::string::npos, dir);
    at = next;
  }
  BOOST_TEST(html.find("data/&lt;daily&gt;") != std::string::npos);
  BOOST_TEST(html.find("data/<daily>") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(write_summary_writes_both_files) {
  const auto dir = std::filesystem::temp_directory_path() / ("tb_sweep_" + std::to_string(::getpid())) / "out";
  auto paths = write_summary(sample(), dir.string());
  BOOST_REQUIRE_MESSAGE(paths, (paths ? "" : paths.error().message));
  std::ifstream in(paths->json);
  std::stringstream ss;
  ss << in.rdbuf();
  BOOST_TEST(json::parse(ss.str()) == to_json(sample()));
  BOOST_TEST(std::filesystem::file_size(paths->html) > 1000u);
  std::filesystem::remove_all(dir.parent_path());
  auto bad = write_summary(sample(), "");
  BOOST_TEST(!bad);
}
