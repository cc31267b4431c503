// Metrics from fills and the equity curve, against hand-computed values.
#define BOOST_TEST_MODULE strategy_fill_metrics
#include <boost/test/unit_test.hpp>

#include "strategy/fill_metrics.hpp"

using namespace tb::strategy;

namespace {
trade_record fill(std::int64_t t, const char* sym, trade_side side, double qty, double price, double fee) {
  trade_record r;
  r.time_s = t;
  r.symbol = sym;
  r.side = side;
  r.qty = qty;
  r.price = price;
  r.fee = fee;
  r.client_order_id = sym + std::to_string(t);
  return r;
}
constexpr std::int64_t day = 86400;
}  // namespace

BOOST_AUTO_TEST_CASE(a_round_trip_realises_its_pnl_net_of_both_fees) {
  const std::vector<trade_record> fills = {fill(1 * day, "AAA", trade_side::buy, 10, 100, 1.0),
                                           fill(2 * day, "AAA", trade_side::sell, 10, 110, 1.1),
                                           fill(2 * day, "BBB", trade_side::buy, 5, 50, 0.5)};
  auto m = symbol_metrics("AAA", asset_class::equity, fills, 10000, 2);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bars == 1);
  BOOST_TEST(m->total_return == (100.0 - 1.0 - 1.1) / 10000, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->trades == 1);
  BOOST_TEST(m->turnover == (1000.0 + 1100.0) / 10000 / 2, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->win_rate == 1.0);
}

BOOST_AUTO_TEST_CASE(a_flip_through_zero_is_a_new_entry) {
  // Long 10, then sell 15: 10 close (P&L 20 less fees), 5 open short at 102.
  const std::vector<trade_record> fills = {fill(day, "AAA", trade_side::buy, 10, 100, 0),
                                           fill(2 * day, "AAA", trade_side::sell, 15, 102, 0)};
  auto m = symbol_metrics("AAA", asset_class::equity, fills, 1000, 2);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->trades == 2);
  BOOST_TEST(m->total_return == 20.0 / 1000, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(portfolio_bars_are_days_and_trades_count_entries) {
  // Start 10000 on day 0 (its bar returns 0); day 1 ends at 10100 after a buy; day 2 ends at 9999
  // (a sell that reduces).
  const std::vector<equity_point> curve = {{0, 10000}, {day + 3600, 10050}, {day + 7200, 10100}, {2 * day + 60, 9999}};
  const std::vector<trade_record> fills = {fill(day + 3600, "AAA", trade_side::buy, 10, 100, 0),
                                           fill(2 * day + 60, "AAA", trade_side::sell, 4, 100, 0)};
  auto m = portfolio_metrics(curve, fills, 252);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bars == 3);
  BOOST_TEST(m->total_return == 9999.0 / 10000 - 1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m->trades == 1);  // the sell only reduces
  BOOST_TEST(m->turnover > 0);
}

BOOST_AUTO_TEST_CASE(no_fills_no_trades) {
  auto m = portfolio_metrics({{0, 100}, {day, 100}}, {}, 365);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->trades == 0);
  BOOST_TEST(m->sharpe == 0.0);
  auto s = symbol_metrics("X", asset_class::crypto, {}, 100, 1);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->trades == 0);
}
