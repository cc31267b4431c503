// compare(base, new): the OK / WARN / ROLLBACK boundaries, the table and malformed reports.
#define BOOST_TEST_MODULE strategy_compare
#include <boost/test/unit_test.hpp>

#include "strategy/compare.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
using nlohmann::json;
namespace tt = boost::test_tools;

namespace {

json report(double sharpe, double win_rate) {
  return json{{"metrics", {{"sharpe", sharpe}, {"win_rate", win_rate}, {"total_return", 0.1}}}};
}

verdict v(double base_sharpe, double new_sharpe, double base_wr = 0.6, double new_wr = 0.6) {
  auto c = compare(report(base_sharpe, base_wr), report(new_sharpe, new_wr));
  BOOST_REQUIRE(c);
  return c->result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sharpe_boundaries) {
  BOOST_TEST(v(1.0, 1.0) == verdict::ok);
  BOOST_TEST(v(1.0, 1.3) == verdict::ok);      // better
  BOOST_TEST(v(1.0, 0.95) == verdict::ok);     // down exactly 5%: not more than 5%
  BOOST_TEST(v(1.0, 0.9499) == verdict::warn);
  BOOST_TEST(v(1.0, 0.90) == verdict::warn);   // down exactly 10%
  BOOST_TEST(v(1.0, 0.8999) == verdict::rollback);
  BOOST_TEST(v(2.0, 1.85) == verdict::warn);   // 7.5%
  // A negative base: down means more negative, relative to |base|.
  BOOST_TEST(v(-1.0, -1.2) == verdict::rollback);
  BOOST_TEST(v(-1.0, -1.07) == verdict::warn);
  BOOST_TEST(v(-1.0, -0.5) == verdict::ok);
  // A zero base: any negative Sharpe is a rollback, anything else is fine.
  BOOST_TEST(v(0.0, -0.01) == verdict::rollback);
  BOOST_TEST(v(0.0, 0.0) == verdict::ok);
  BOOST_TEST(v(0.0, 0.5) == verdict::ok);
}

BOOST_AUTO_TEST_CASE(win_rate_boundaries) {
  BOOST_TEST(v(1, 1, 0.60, 0.57) == verdict::ok);  // down exactly 3 points
  BOOST_TEST(v(1, 1, 0.60, 0.5699) == verdict::warn);
  BOOST_TEST(v(1, 1, 0.60, 0.55) == verdict::warn);  // exactly 5 points
  BOOST_TEST(v(1, 1, 0.60, 0.5499) == verdict::rollback);
  BOOST_TEST(v(1, 1, 0.60, 0.70) == verdict::ok);
  // Either criterion alone decides; the worse one wins.
  BOOST_TEST(v(1, 0.94, 0.60, 0.5) == verdict::rollback);
}

BOOST_AUTO_TEST_CASE(numbers_reasons_table_exit_code) {
  auto c = compare(report(1.0, 0.6), report(0.85, 0.58));
  BOOST_REQUIRE(c);
  BOOST_TEST(c->result == verdict::rollback);
  BOOST_TEST(c->sharpe_drop_pct == 15.0, tt::tolerance(1e-9));
  BOOST_TEST(c->win_rate_drop_points == 2.0, tt::tolerance(1e-9));
  BOOST_REQUIRE(c->reasons.size() == 1u);
  BOOST_TEST(c->reasons[0].find("Sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("win_rate") != std::string::npos);
  BOOST_TEST(c->table.find("60.00%") != std::string::npos);
  BOOST_TEST(c->table.find("58.00%") != std::string::npos);
  BOOST_TEST(c->table.find("verdict: ROLLBACK") != std::string::npos);
  BOOST_TEST(exit_code(verdict::rollback) == 1);
  BOOST_TEST(exit_code(verdict::warn) == 0);
  BOOST_TEST(exit_code(verdict::ok) == 0);
  BOOST_TEST(std::string(to_string(verdict::warn)) == "WARN");
}

BOOST_AUTO_TEST_CASE(reads_full_reports_with_symbols) {
  metrics m;
  m.bars = 100;
  m.sharpe = 1.5;
  m.win_rate = 0.55;
  m.total_return = 0.2;
  m.profit_factor = std::numeric_limits<double>::infinity();
  json base{{"format", "tradebot-report"}, {"version", 1}, {"metrics", to_json(m)},
            {"symbols", json::array({{{"symbol", "AAPL"}, {"strategy", "maxdiff"}, {"metrics", to_json(m)}},
                                     {{"symbol", "BTCUSD"}, {"strategy", "simple"}, {"metrics", to_json(m)}}})},
            {"equity_curve", json::array()}};
  json cand = base;
  cand["metrics"]["sharpe"] = 1.45;  // -3.3%
  cand["symbols"] = json::array({{{"symbol", "AAPL"}, {"metrics", to_json(m)}}});
  auto c = compare_text(base.dump(), cand.dump());
  BOOST_REQUIRE(c);
  BOOST_TEST(c->result == verdict::ok);
  BOOST_TEST(c->base.bars == 100);
  BOOST_TEST(c->table.find("AAPL sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("BTCUSD win_rate") != std::string::npos);
  BOOST_TEST(c->table.find("inf") != std::string::npos);  // profit factor without losses
}

BOOST_AUTO_TEST_CASE(malformed_reports) {
  auto no_metrics = compare(json::object(), report(1, 0.5));
  BOOST_REQUIRE(!no_metrics);
  BOOST_TEST(no_metrics.error().code == tb::errc::bad_data);
  BOOST_TEST(no_metrics.error().message.find("base") != std::string::npos);
  auto no_wr = compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}}}});
  BOOST_REQUIRE(!no_wr);
  BOOST_TEST(no_wr.error().message.find("new") != std::string::npos);
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", "1.0"}, {"win_rate", 0.5}}}}));
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}, {"win_rate", 0.5}, {"trades", "x"}}}}));
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}, {"win_rate", 0.5}}}, {"symbols", 3}}));
  compare_params bad;
  bad.warn_sharpe_drop_pct = 20;  // above the rollback threshold
  auto params = compare(report(1, 0.5), report(1, 0.5), bad);
  BOOST_REQUIRE(!params);
  BOOST_TEST(params.error().code == tb::errc::bad_config);
  auto text = compare_text("{", report(1, 0.5).dump());
  BOOST_REQUIRE(!text);
  BOOST_TEST(text.error().code == tb::errc::bad_data);
}
