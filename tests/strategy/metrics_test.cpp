// Trading metrics against hand-computed values, edge cases included (no bars, no trades, one bar,
// zero variance, all losses), NaN rejection and the report.json "metrics" object.
#define BOOST_TEST_MODULE strategy_metrics
#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "strategy/metrics.hpp"
#include "test_support.hpp"

using namespace tb::strategy;

namespace {

bar_result traded(double r) { return {r, 1, 2.0, 1.0}; }
bar_result flat() { return {0, 0, 0, 0}; }

}  // namespace

BOOST_AUTO_TEST_CASE(hand_computed_four_bars) {
  // r = 1%, -2%, 3% (each a full round trip), then a flat bar.
  auto m = compute_metrics({traded(0.01), traded(-0.02), traded(0.03), flat()}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bars == 4);
  BOOST_TEST(m->periods_per_year == 252);
  BOOST_TEST(m->total_return == 1.01 * 0.98 * 1.03 - 1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->avg_return == 0.005, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->annualized_return == 0.005 * 252, boost::test_tools::tolerance(1e-12));
  // Population std: sqrt(((.005)^2 + (.025)^2 + (.025)^2 + (.005)^2) / 4) = sqrt(3.25e-4).
  BOOST_TEST(m->volatility == std::sqrt(3.25e-4), boost::test_tools::tolerance(1e-12));
  // Sharpe = mean / population std x sqrt(252) = 4.4028; the sample std would give 3.8129.
  BOOST_TEST(m->sharpe == 4.402796314232056, boost::test_tools::tolerance(1e-9));
  // Downside deviation = sqrt(0.02^2 / 4) = 0.01 -> 0.005 / 0.01 x sqrt(252).
  BOOST_TEST(m->sortino == 0.5 * std::sqrt(252.0), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->win_rate == 2.0 / 3.0, boost::test_tools::tolerance(1e-12));  // the flat bar is not counted
  // Equity 1.01, 0.9898, ...: drawdown from the 1.01 peak = 0.0202 / 1.01 = 2%.
  BOOST_TEST(m->max_drawdown == 0.02, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->profit_factor == 2.0, boost::test_tools::tolerance(1e-12));  // 0.04 / 0.02
  BOOST_TEST(m->trades == 3);
  BOOST_TEST(m->turnover == 1.5, boost::test_tools::tolerance(1e-12));  // 6 / 4
}

BOOST_AUTO_TEST_CASE(crypto_annualises_with_365) {
  auto m = compute_metrics({traded(0.01), traded(-0.02), traded(0.03), flat()}, asset_class::crypto);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->periods_per_year == 365);
  BOOST_TEST(m->annualized_return == 0.005 * 365, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->sharpe == 5.298766184398313, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(no_bars_is_all_zero) {
  auto m = compute_metrics({}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bars == 0);
  BOOST_TEST(m->total_return == 0);
  BOOST_TEST(m->sharpe == 0);
  BOOST_TEST(m->sortino == 0);
  BOOST_TEST(m->win_rate == 0);
  BOOST_TEST(m->max_drawdown == 0);
  BOOST_TEST(m->profit_factor == 0);
  BOOST_TEST(m->trades == 0);
  BOOST_TEST(m->turnover == 0);
}

BOOST_AUTO_TEST_CASE(no_trades) {
  auto m = compute_metrics({flat(), flat(), flat()}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bars == 3);
  BOOST_TEST(m->trades == 0);
  BOOST_TEST(m->win_rate == 0);
  BOOST_TEST(m->sharpe == 0);
  BOOST_TEST(m->profit_factor == 0);
  BOOST_TEST(m->total_return == 0);
  BOOST_TEST(m->turnover == 0);
}

BOOST_AUTO_TEST_CASE(one_bar) {
  auto m = compute_metrics({traded(0.02)}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->total_return == 0.02, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->annualized_return == 0.02 * 252, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->sharpe == 0);  // std of one value is 0
  BOOST_TEST(m->sortino == 0);
  BOOST_TEST(m->win_rate == 1.0);
  BOOST_TEST(m->max_drawdown == 0);
  BOOST_TEST(std::isinf(m->profit_factor));  // gains, no losses
  BOOST_TEST(m->turnover == 2.0);
}

BOOST_AUTO_TEST_CASE(zero_variance) {
  auto m = compute_metrics({traded(0.01), traded(0.01), traded(0.01)}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->sharpe == 0);
  BOOST_TEST(m->sortino == 0);
  BOOST_TEST(m->volatility == 0, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(m->total_return == std::pow(1.01, 3) - 1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->win_rate == 1.0);
}

BOOST_AUTO_TEST_CASE(all_losses) {
  auto m = compute_metrics({traded(-0.01), traded(-0.02)}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->win_rate == 0);
  BOOST_TEST(m->profit_factor == 0);
  BOOST_TEST(m->max_drawdown == 1 - 0.99 * 0.98, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->sharpe == -47.62352359916263, boost::test_tools::tolerance(1e-9));    // -0.015/0.005 x sqrt(252)
  BOOST_TEST(m->sortino == -15.059880477613362, boost::test_tools::tolerance(1e-9));  // dd = sqrt(2.5e-4)
  BOOST_TEST(m->total_return == 0.99 * 0.98 - 1, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(drawdown_after_a_new_peak) {
  // 1 -> 1.1 -> 0.88 -> 1.144 -> 0.9152: the worst fall is from 1.144, 20%.
  auto m = compute_metrics({traded(0.1), traded(-0.2), traded(0.3), traded(-0.2)}, asset_class::equity);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->max_drawdown == 0.2, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(nan_is_rejected_with_the_bar_index) {
  auto m = compute_metrics({traded(0.01), traded(std::numeric_limits<double>::quiet_NaN())}, asset_class::equity);
  BOOST_REQUIRE(!m);
  BOOST_TEST(m.error().code == tb::errc::bad_data);
  BOOST_TEST(m.error().message.find("bar 1") != std::string::npos);
  auto inf = compute_metrics({{0.01, 1, std::numeric_limits<double>::infinity(), 1}}, asset_class::equity);
  BOOST_TEST(!inf);
  auto neg = compute_metrics({{0.01, -1, 0, 0}}, asset_class::equity);
  BOOST_TEST(!neg);
  BOOST_TEST(!compute_metrics({traded(0.01)}, 0));
}

BOOST_AUTO_TEST_CASE(helpers) {
  BOOST_TEST(mean({}) == 0);
  BOOST_TEST(mean({1, 2, 3}) == 2);
  BOOST_TEST(population_variance({1, 2, 3}) == 2.0 / 3.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(population_variance({5}) == 0);
  BOOST_TEST(compounded({0.1, 0.1}) == 0.21, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(compounded({}) == 0);
  BOOST_TEST(sharpe_of({0.01, 0.01}, 252) == 0);
}

BOOST_AUTO_TEST_CASE(json_round_trip) {
  auto m = compute_metrics({traded(0.01), traded(-0.02), traded(0.03), flat()}, asset_class::equity);
  BOOST_REQUIRE(m);
  const auto j = to_json(*m);
  for (const char* k : {"bars", "periods_per_year", "total_return", "avg_return", "annualized_return", "sharpe",
                        "sortino", "win_rate", "max_drawdown", "profit_factor", "trades", "turnover", "volatility"})
    BOOST_TEST(j.contains(k), k);
  auto back = metrics_from_json(nlohmann::json::parse(j.dump()));
  BOOST_REQUIRE(back);
  BOOST_TEST(back->sharpe == m->sharpe, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(back->win_rate == m->win_rate, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(back->trades == 3);

  auto one = compute_metrics({traded(0.02)}, asset_class::equity);
  const auto jo = to_json(*one);
  BOOST_TEST(jo["profit_factor"].is_null());  // +inf is written as null
  auto one_back = metrics_from_json(jo);
  BOOST_REQUIRE(one_back);
  BOOST_TEST(std::isinf(one_back->profit_factor));

  auto bad = metrics_from_json(nlohmann::json{{"sharpe", "high"}});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code == tb::errc::bad_data);
  BOOST_TEST(!metrics_from_json(nlohmann::json::array()));
}
