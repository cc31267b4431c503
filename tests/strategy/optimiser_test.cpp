// The staged grid (33, 17, 9 points; range x0.6 per stage) and maxdiff's fit: known optima of
// constructed cases, the tie rule, the close_at_eod choice and the reported return.
#define BOOST_TEST_MODULE strategy_optimiser
#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "strategy/optimiser.hpp"
#include "strategy/strategies.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

constexpr double eq_fee = 0.0000278;
constexpr double step1 = 0.06 / 32;  // stage-1 spacing: 0.001875

window win(double fc, double fh, double fl, double o, double h, double l, double c) {
  window w;
  w.last_close = 100;
  w.forecast = {fc, fh, fl};
  w.actual = {o, h, l, c};
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(stage_axes) {
  const grid_params p;
  auto s0 = stage_axis(p, 0, 0.0);
  BOOST_REQUIRE(s0.size() == 33u);
  BOOST_TEST(s0.front() == -0.03, tt::tolerance(1e-12));
  BOOST_TEST(s0.back() == 0.03, tt::tolerance(1e-12));
  BOOST_TEST(s0[1] - s0[0] == step1, tt::tolerance(1e-9));
  BOOST_TEST(s0[16] == 0.0);
  // Stage 1: half-width 0.03 x 0.6 = 0.018 around the centre.
  auto s1 = stage_axis(p, 1, 0.01);
  BOOST_REQUIRE(s1.size() == 17u);
  BOOST_TEST(s1.front() == -0.008, tt::tolerance(1e-9));
  BOOST_TEST(s1.back() == 0.028, tt::tolerance(1e-9));
  // Stage 2: half-width 0.0108, clipped to the bound.
  auto s2 = stage_axis(p, 2, 0.025);
  BOOST_REQUIRE(s2.size() == 9u);
  BOOST_TEST(s2.front() == 0.0142, tt::tolerance(1e-9));
  BOOST_TEST(s2.back() == 0.03, tt::tolerance(1e-12));
  auto s1_edge = stage_axis(p, 1, -0.03);
  BOOST_TEST(s1_edge.front() == -0.03, tt::tolerance(1e-12));
  BOOST_TEST(s1_edge.back() == -0.012, tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(finds_an_on_grid_optimum_exactly) {
  long calls = 0;
  auto f = [&](double x, double y) {
    ++calls;
    return -(x - 0.015) * (x - 0.015) - (y + 0.015) * (y + 0.015);
  };
  auto best = staged_grid_maximise(f, grid_params{});
  BOOST_REQUIRE(best);
  BOOST_TEST(best->x == 0.015, tt::tolerance(1e-9));
  BOOST_TEST(best->y == -0.015, tt::tolerance(1e-9));
  BOOST_TEST(best->evaluations == 33 * 33 + 17 * 17 + 9 * 9);
  BOOST_TEST(calls == best->evaluations);
}

BOOST_AUTO_TEST_CASE(off_grid_optimum_within_half_a_step) {
  const double x0 = 0.0105, y0 = -0.0201;
  auto f = [&](double x, double y) { return -(x - x0) * (x - x0) - (y - y0) * (y - y0); };
  auto best = staged_grid_maximise(f, grid_params{});
  BOOST_REQUIRE(best);
  // Never worse than the best stage-1 point, which is within half a step on each axis.
  BOOST_TEST(best->value >= -2 * (step1 / 2) * (step1 / 2));
  BOOST_TEST(std::fabs(best->x - x0) <= step1 / 2 + 1e-12);
  BOOST_TEST(std::fabs(best->y - y0) <= step1 / 2 + 1e-12);
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_origin_and_nan_is_never_chosen) {
  auto flat = staged_grid_maximise([](double, double) { return 1.0; }, grid_params{});
  BOOST_REQUIRE(flat);
  BOOST_TEST(flat->x == 0.0);
  BOOST_TEST(flat->y == 0.0);
  auto nan = staged_grid_maximise([](double x, double) { return x > 0 ? std::numeric_limits<double>::quiet_NaN() : x; },
                                  grid_params{});
  BOOST_REQUIRE(nan);
  BOOST_TEST(nan->x <= 0.0);
  BOOST_TEST(std::isfinite(nan->value));
}

BOOST_AUTO_TEST_CASE(bad_grid_params) {
  grid_params p;
  p.bound = 0;
  BOOST_TEST(!staged_grid_maximise([](double, double) { return 0.0; }, p));
  p = {};
  p.shrink = 1.5;
  BOOST_TEST(!validate(p));
  p = {};
  p.stage_points = {33, 0};
  BOOST_TEST(!validate(p));
}

BOOST_AUTO_TEST_CASE(maxdiff_known_optimum_take_profit) {
  // Long window (forecast high +2% > |low -1%|). Actual low 98.5, high 103, close 100.5.
  // The buy fills while 100 x (0.99 + low_offset) >= 98.5, i.e. low_offset >= -0.005; the take
  // profit is reached while 100 x (1.02 + high_offset) <= 103, i.e. high_offset <= 0.01. The
  // optimum is the corner (0.01, -0.005): buy 98.5, sell 103, close_at_eod false; selling at the
  // close (100.5) is worse everywhere.
  const std::vector<window> ws{win(0.005, 0.02, -0.01, 100, 103, 98.5, 100.5)};
  auto fit = optimise_maxdiff(ws, strategy_params{});
  BOOST_REQUIRE(fit);
  const double optimum = 103 / 98.5 - 1 - eq_fee;
  // The best stage-1 point: low -0.00375 (buy 98.625), high 0.009375 (sell 102.9375).
  const double stage1 = 102.9375 / 98.625 - 1 - eq_fee;
  BOOST_TEST(!fit->settings.close_at_eod);
  BOOST_TEST(fit->settings.low_offset >= -0.005 - 1e-12);
  BOOST_TEST(fit->settings.low_offset <= -0.00375 + 1e-12);
  BOOST_TEST(fit->settings.high_offset >= 0.009375 - 1e-12);
  BOOST_TEST(fit->settings.high_offset <= 0.01 + 1e-12);
  BOOST_TEST(fit->objective <= optimum + 1e-12);
  BOOST_TEST(fit->objective >= stage1 - 1e-12);
  BOOST_TEST(fit->evaluations == 2 * (33 * 33 + 17 * 17 + 9 * 9));
  // Baseline: zero offsets, same policy: buy 99, sell 102.
  BOOST_TEST(fit->baseline_return == 102.0 / 99 - 1 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(fit->optimised_return == fit->objective, tt::tolerance(1e-12));

  // The reported return is baseline + 0.3 x optimised; the bars are the optimised ones.
  auto r = evaluate(strategy_kind::maxdiff, ws);
  BOOST_REQUIRE(r);
  BOOST_REQUIRE(r->maxdiff);
  BOOST_TEST(r->reported_return == fit->baseline_return + 0.3 * fit->optimised_return, tt::tolerance(1e-12));
  BOOST_TEST(r->stats.total_return == fit->optimised_return, tt::tolerance(1e-12));
  BOOST_TEST(r->reported_sharpe == 0.0);  // one window: both Sharpes are 0
}

BOOST_AUTO_TEST_CASE(maxdiff_known_optimum_close_at_eod) {
  // The bar closes at its high, 106, above any reachable take profit (at most 100 x (1.012 +
  // 0.03) = 104.2): exiting at the close wins. The buy fills while low_offset >= -0.01. With
  // close_at_eod the high offset changes nothing, so the tie rule puts it at 0.
  const std::vector<window> ws{win(0.01, 0.012, -0.01, 100, 106, 98, 106)};
  auto fit = optimise_maxdiff(ws, strategy_params{});
  BOOST_REQUIRE(fit);
  BOOST_TEST(fit->settings.close_at_eod);
  BOOST_TEST(fit->settings.high_offset == 0.0, tt::tolerance(1e-12));
  BOOST_TEST(fit->settings.low_offset >= -0.01 - 1e-12);
  BOOST_TEST(fit->settings.low_offset <= -0.01 + step1 + 1e-12);
  BOOST_TEST(fit->objective <= 106.0 / 98 - 1 - eq_fee + 1e-12);
  BOOST_TEST(fit->objective > 104.2 / 98 - 1);  // better than any take profit
}

BOOST_AUTO_TEST_CASE(maxdiff_fit_over_several_windows) {
  // Two long windows (forecast high +2%, low -1%), lows 98.8 and 98.2, highs 101, closes 100.8.
  // A low offset >= -0.002 fills both (buy >= 98.8); a high offset <= -0.01 puts the take profit
  // at or under 101, above the close. Known optimum: (-0.01, -0.002), buy 98.8, sell 101, twice.
  const std::vector<window> ws{win(0.0, 0.02, -0.01, 100, 101, 98.8, 100.8),
                               win(0.0, 0.02, -0.01, 100, 101, 98.2, 100.8)};
  auto fit = optimise_maxdiff(ws, strategy_params{});
  BOOST_REQUIRE(fit);
  const double optimum = 2 * (101 / 98.8 - 1 - eq_fee);
  const double stage1 = 2 * (100.875 / 98.8125 - 1 - eq_fee);  // (-0.01125, -0.001875)
  BOOST_TEST(!fit->settings.close_at_eod);
  BOOST_TEST(fit->settings.low_offset >= -0.002 - 1e-12);
  BOOST_TEST(fit->settings.low_offset <= -0.002 + step1 + 1e-12);
  BOOST_TEST(fit->settings.high_offset <= -0.01 + 1e-12);
  BOOST_TEST(fit->settings.high_offset >= -0.01 - step1 - 1e-12);
  BOOST_TEST(fit->objective <= optimum + 1e-12);
  BOOST_TEST(fit->objective >= stage1 - 1e-12);
  const double buy = 100 * (0.99 + fit->settings.low_offset);
  const double sell = 100 * (1.02 + fit->settings.high_offset);
  BOOST_TEST(fit->objective == 2 * (sell / buy - 1 - eq_fee), tt::tolerance(1e-9));
}
