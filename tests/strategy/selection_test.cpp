// Strategy choice per symbol: each gate, its boundary, the ranking by Sharpe, the composite score,
// an end-to-end choice on crafted windows, and the next bar's plan.
#define BOOST_TEST_MODULE strategy_selection
#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "strategy/selection.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

strategy_result result(strategy_kind k, std::vector<double> rets, double sharpe, double reported_return,
                       double spread_cost = 0) {
  strategy_result r;
  r.kind = k;
  for (double x : rets) r.bars.push_back({x, 1, 2, 1});
  r.reported_sharpe = sharpe;
  r.reported_return = reported_return;
  r.spread_cost = spread_cost;
  return r;
}

window win(double fc, double fh, double fl, double last, double close) {
  window w;
  w.last_close = last;
  w.forecast = {fc, fh, fl};
  w.actual = {last, std::max(last, close) * 1.001, std::min(last, close) * 0.999, close};
  w.spread = 0.0002;
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(best_sharpe_among_those_passing_every_gate) {
  std::vector<strategy_result> rs{
      result(strategy_kind::simple, {0.01, 0.01, -0.005, 0.01}, 0.5, 0.025, 0.001),               // passes
      result(strategy_kind::buy_hold, {0.01, 0.01, 0.01, 0.01}, 0.29, 0.04),                      // Sharpe gate
      result(strategy_kind::maxdiff, {0.05, 0.05, -0.01, -0.01, -0.01, -0.01, -0.01}, 3.0, 0.1),  // recent gate
      result(strategy_kind::entry_takeprofit, {-0.06, 0.01, 0.01, 0.01, 0.01, 0.01}, 2.0, 0.1),   // edge gate
      result(strategy_kind::highlow, {0.02, 0.02, -0.01, 0.02}, 0.9, 0.05, 0.01)};                // passes, best
  auto rep = choose_strategy(rs);
  BOOST_REQUIRE(rep);
  BOOST_REQUIRE(rep->gates.size() == 5u);
  BOOST_TEST(rep->gates[0].passed());
  BOOST_TEST(!rep->gates[1].sharpe_ok);
  BOOST_TEST(rep->gates[1].recent_ok);
  BOOST_TEST(!rep->gates[2].recent_ok);
  BOOST_TEST(rep->gates[2].recent_sum == -0.05, tt::tolerance(1e-12));  // the last 5 windows
  BOOST_TEST(rep->gates[2].sharpe_ok);
  BOOST_TEST(!rep->gates[3].edge_ok);
  BOOST_TEST(rep->gates[3].recent_ok);
  BOOST_REQUIRE(rep->choice);
  BOOST_TEST(rep->choice->kind == strategy_kind::highlow);
  BOOST_TEST(rep->choice->score == 0.05 - 0.01, tt::tolerance(1e-12));  // return - spread penalty
  BOOST_TEST(rep->choice->sharpe == 0.9);
  BOOST_TEST(rep->choice->edge == 0.05 / 4, tt::tolerance(1e-12));
  BOOST_TEST(rep->choice->variance == population_variance({0.02, 0.02, -0.01, 0.02}), tt::tolerance(1e-12));

  selection_params p;
  p.spread_penalty_weight = 2;
  auto rep2 = choose_strategy(rs, p);
  BOOST_TEST(rep2->choice->score == 0.05 - 0.02, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(gate_boundaries) {
  // Sharpe exactly 0.3 passes (>=); edge must be strictly above min_edge; recent sum strictly > 0.
  auto at = choose_strategy({result(strategy_kind::simple, {0.01, -0.005}, 0.3, 0.005)});
  BOOST_REQUIRE(at);
  BOOST_TEST(at->choice.has_value());
  auto zero_recent = choose_strategy({result(strategy_kind::simple, {0.01, 0.01, 0.01, -0.01, 0.01, -0.01}, 1, 0.02)},
                                     selection_params{0.3, 2, 0.0, 1.0, true});
  BOOST_TEST(!zero_recent->choice);  // last two sum to 0
  selection_params p;
  p.min_edge = 0.0025;
  auto edge_eq = choose_strategy({result(strategy_kind::simple, {0.005, 0.0}, 1, 0.005)}, p);  // edge == 0.0025
  BOOST_TEST(!edge_eq->choice);
  p.min_edge = 0.0024;
  BOOST_TEST(choose_strategy({result(strategy_kind::simple, {0.005, 0.0}, 1, 0.005)}, p)->choice.has_value());
}

BOOST_AUTO_TEST_CASE(ties_none_and_buy_hold) {
  auto tie = choose_strategy(
      {result(strategy_kind::simple, {0.01}, 1, 0.01), result(strategy_kind::highlow, {0.02}, 1, 0.02)});
  BOOST_TEST(tie->choice->kind == strategy_kind::simple);  // the earlier wins a tie
  auto none = choose_strategy({result(strategy_kind::simple, {-0.01}, 1, -0.01)});
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->choice);
  auto no_windows = choose_strategy({result(strategy_kind::simple, {}, 0, 0)});
  BOOST_TEST(!no_windows->choice);
  selection_params p;
  p.allow_buy_hold = false;
  auto bh = choose_strategy({result(strategy_kind::buy_hold, {0.01, 0.02}, 2, 0.03)}, p);
  BOOST_TEST(!bh->choice);
  BOOST_TEST(!bh->gates[0].allowed);
  auto nan = choose_strategy({result(strategy_kind::simple, {0.01}, std::numeric_limits<double>::quiet_NaN(), 0.01)});
  BOOST_REQUIRE(!nan);
  BOOST_TEST(nan.error().code == tb::errc::bad_data);
  p = {};
  p.recent_windows = 0;
  BOOST_TEST(!choose_strategy({}, p));
}

BOOST_AUTO_TEST_CASE(end_to_end_simple_wins_on_a_right_direction_forecast) {
  // The forecast close always has the right sign; the forecast range is invalid (low above high),
  // so maxdiff, entry_takeprofit and highlow stay flat (Sharpe 0). buy_hold has a negative edge.
  std::vector<window> ws;
  const double moves[] = {0.01, -0.02, 0.015, -0.01, 0.02, -0.015, 0.005, -0.01};
  double last = 100;
  for (double m : moves) {
    ws.push_back(win(m > 0 ? 0.005 : -0.005, -0.001, 0.001, last, last * (1 + m)));
    last *= 1 + m;
  }
  auto all = evaluate_all(ws);
  BOOST_REQUIRE(all);
  auto rep = choose_strategy(*all);
  BOOST_REQUIRE(rep);
  BOOST_REQUIRE(rep->choice);
  BOOST_TEST(rep->choice->kind == strategy_kind::simple);
  BOOST_TEST((*all)[0].stats.win_rate == 1.0);
  BOOST_TEST(rep->choice->score == (*all)[0].stats.total_return - (*all)[0].spread_cost, tt::tolerance(1e-12));
  BOOST_TEST((*all)[0].spread_cost == 8 * 0.0002, tt::tolerance(1e-12));
  BOOST_TEST(!rep->gates[2].passed());
}

BOOST_AUTO_TEST_CASE(plan_next_bar_mirrors_the_strategies) {
  const forecast_move up{0.01, 0.02, -0.01};
  strategy_choice c;
  c.kind = strategy_kind::simple;
  auto s = plan_next_bar(c, up, 100, asset_class::equity);
  BOOST_REQUIRE(s);
  BOOST_REQUIRE(s->size() == 1u);
  BOOST_TEST((*s)[0].side == 1);
  BOOST_TEST((*s)[0].entry_price == 0);  // market
  auto crypto_down = plan_next_bar(c, {-0.01, 0.02, -0.01}, 100, asset_class::crypto);
  BOOST_TEST(crypto_down->empty());

  c.kind = strategy_kind::maxdiff;
  c.maxdiff = maxdiff_settings{0.005, -0.005, false};
  auto m = plan_next_bar(c, up, 100, asset_class::equity);
  BOOST_REQUIRE(m->size() == 1u);
  BOOST_TEST((*m)[0].side == 1);
  BOOST_TEST((*m)[0].entry_price == 98.5, tt::tolerance(1e-12));
  BOOST_TEST((*m)[0].take_profit == 102.5, tt::tolerance(1e-12));
  c.maxdiff->close_at_eod = true;
  BOOST_TEST((*plan_next_bar(c, up, 100, asset_class::equity))[0].take_profit == 0);
  auto m_short = plan_next_bar(c, {0, 0.01, -0.02}, 100, asset_class::equity);
  BOOST_TEST((*m_short)[0].side == -1);
  BOOST_TEST(plan_next_bar(c, {0, 0.01, -0.02}, 100, asset_class::crypto)->empty());

  c.kind = strategy_kind::highlow;
  auto h = plan_next_bar(c, up, 100, asset_class::equity);
  BOOST_REQUIRE(h->size() == 2u);
  BOOST_TEST((*h)[0].weight == 0.5);
  BOOST_TEST((*h)[1].side == -1);
  BOOST_TEST((*h)[1].entry_price == 102, tt::tolerance(1e-12));
  BOOST_TEST((*h)[1].take_profit == 99, tt::tolerance(1e-12));
  BOOST_TEST(plan_next_bar(c, up, 100, asset_class::crypto)->size() == 1u);
  BOOST_TEST(plan_next_bar(c, {0, -0.01, 0.01}, 100, asset_class::equity)->empty());  // invalid range

  BOOST_TEST(!plan_next_bar(c, {std::numeric_limits<double>::quiet_NaN(), 0, 0}, 100, asset_class::equity));
}
