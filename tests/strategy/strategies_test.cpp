// Each strategy on crafted forecasts and bars: fills, take-profits, exits at the close, fees,
// crypto long only, invalid forecasts, and the window builder's NaN rejection.
#define BOOST_TEST_MODULE strategy_strategies
#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "strategy/strategies.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

constexpr double eq_fee = 0.0000278;
constexpr double cr_fee = 0.008;
const strategy_params params{};

// last close 100 unless given; forecast moves (close, high, low); actual bar o, h, l, c.
window win(double fc, double fh, double fl, double o, double h, double l, double c, asset_class a = asset_class::equity,
           double spread = 0, double last_close = 100) {
  window w;
  w.last_close = last_close;
  w.forecast = {fc, fh, fl};
  w.actual = {o, h, l, c};
  w.asset = a;
  w.spread = spread;
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(make_window_from_a_forecast) {
  tb::core::forecast f;
  tb::core::feature_row row{};
  row[tb::core::f_open] = 100;
  row[tb::core::f_high] = 103;
  row[tb::core::f_low] = 99;
  row[tb::core::f_close] = 101;
  f.rows.push_back(row);
  tb::core::bar actual;
  actual.open = 100.5;
  actual.high = 102;
  actual.low = 98;
  actual.close = 101.5;
  auto w = make_window(f, 100, actual, asset_class::crypto, 0.001);
  BOOST_REQUIRE(w);
  BOOST_TEST(w->forecast.close == 0.01, tt::tolerance(1e-12));
  BOOST_TEST(w->forecast.high == 0.03, tt::tolerance(1e-12));
  BOOST_TEST(w->forecast.low == -0.01, tt::tolerance(1e-12));
  BOOST_TEST(w->actual.open == 100.5);
  BOOST_TEST(w->actual.close == 101.5);
  BOOST_TEST(w->asset == asset_class::crypto);
  BOOST_TEST(w->spread == 0.001);

  auto nan_f = f;
  nan_f.rows[0][tb::core::f_high] = std::numeric_limits<double>::quiet_NaN();
  auto e1 = make_window(nan_f, 100, actual, asset_class::equity, 0);
  BOOST_REQUIRE(!e1);
  BOOST_TEST(e1.error().code == tb::errc::bad_data);
  BOOST_TEST(!make_window(tb::core::forecast{}, 100, actual, asset_class::equity, 0));  // no rows
  BOOST_TEST(!make_window(f, 0, actual, asset_class::equity, 0));                       // last close 0
  BOOST_TEST(!make_window(f, 100, actual, asset_class::equity, -0.1));                  // negative spread
  auto bad_bar = actual;
  bad_bar.low = 101;  // above the open
  BOOST_TEST(!make_window(f, 100, bad_bar, asset_class::equity, 0));
  bad_bar = actual;
  bad_bar.close = std::numeric_limits<double>::infinity();
  BOOST_TEST(!make_window(f, 100, bad_bar, asset_class::equity, 0));
}

BOOST_AUTO_TEST_CASE(validate_rejects_mixed_assets_and_nan) {
  std::vector<window> ws{win(0.01, 0.02, -0.01, 100, 101, 99, 100),
                         win(0.01, 0.02, -0.01, 100, 101, 99, 100, asset_class::crypto)};
  auto v = validate(ws);
  BOOST_REQUIRE(!v);
  BOOST_TEST(v.error().code == tb::errc::invalid_argument);
  ws[1].asset = asset_class::equity;
  ws[1].forecast.close = std::numeric_limits<double>::quiet_NaN();
  auto e = evaluate(strategy_kind::simple, ws);
  BOOST_REQUIRE(!e);
  BOOST_TEST(e.error().code == tb::errc::bad_data);
  BOOST_TEST(e.error().message.find("window 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(simple_follows_the_forecast_close) {
  auto up = simple_window(win(0.01, 0.02, -0.01, 100, 103, 99, 102), params);
  BOOST_TEST(up.ret == 0.02 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(up.trades == 1);
  BOOST_TEST(up.exposure == 1);
  BOOST_TEST(up.traded_notional == 2);
  auto down = simple_window(win(-0.01, 0.02, -0.01, 100, 103, 99, 102), params);  // short, market rose
  BOOST_TEST(down.ret == -0.02 - eq_fee, tt::tolerance(1e-12));
  auto zero = simple_window(win(0.0, 0.02, -0.01, 100, 103, 99, 102), params);
  BOOST_TEST(zero.trades == 0);
  BOOST_TEST(zero.ret == 0);
  auto crypto_down = simple_window(win(-0.01, 0.02, -0.01, 100, 103, 97, 98, asset_class::crypto), params);
  BOOST_TEST(crypto_down.trades == 0);  // flat, not short
  BOOST_TEST(crypto_down.ret == 0);
  auto crypto_up = simple_window(win(0.01, 0.02, -0.01, 100, 103, 97, 98, asset_class::crypto), params);
  BOOST_TEST(crypto_up.ret == -0.02 - cr_fee, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(buy_hold_pays_one_entry_fee) {
  std::vector<window> ws{win(0, 0.01, -0.01, 100, 101.5, 99.5, 101, asset_class::equity, 0, 100),
                         win(0, 0.01, -0.01, 101, 101.5, 98.5, 99, asset_class::equity, 0, 101),
                         win(0, 0.01, -0.01, 99, 100.5, 98.5, 100, asset_class::equity, 0, 99)};
  auto bars = buy_hold_bars(ws, params);
  BOOST_REQUIRE(bars.size() == 3u);
  BOOST_TEST(bars[0].ret == 0.01 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(bars[1].ret == 99.0 / 101 - 1, tt::tolerance(1e-12));
  BOOST_TEST(bars[2].ret == 100.0 / 99 - 1, tt::tolerance(1e-12));
  BOOST_TEST(bars[0].trades == 1);
  BOOST_TEST(bars[1].trades == 0);
  BOOST_TEST(bars[2].trades == 0);
  BOOST_TEST(bars[0].traded_notional == 1);
  BOOST_TEST(bars[1].traded_notional == 0);
  BOOST_TEST(bars[2].traded_notional == 1);
  for (const auto& b : bars) BOOST_TEST(b.exposure == 1);
  auto r = evaluate(strategy_kind::buy_hold, ws);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->stats.total_return == (1.01 - eq_fee) * (99.0 / 101) * (100.0 / 99) - 1, tt::tolerance(1e-12));
  BOOST_TEST(r->stats.trades == 1);
}

BOOST_AUTO_TEST_CASE(maxdiff_long_buys_the_low_sells_the_high) {
  // |high| 0.02 > |low| 0.01: long. Buy limit 99, take profit 102.
  const auto w = win(0.005, 0.02, -0.01, 100, 103, 98.5, 100.5);
  auto tp = maxdiff_window(w, {}, params);
  BOOST_TEST(tp.ret == 102.0 / 99 - 1 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(tp.trades == 1);
  auto eod = maxdiff_window(w, {0, 0, true}, params);  // exit always at the close
  BOOST_TEST(eod.ret == 100.5 / 99 - 1 - eq_fee, tt::tolerance(1e-12));
  auto no_tp = maxdiff_window(win(0.005, 0.02, -0.01, 100, 101.5, 98.5, 100.5), {}, params);
  BOOST_TEST(no_tp.ret == 100.5 / 99 - 1 - eq_fee, tt::tolerance(1e-12));
  auto no_fill = maxdiff_window(win(0.005, 0.02, -0.01, 100, 103, 99.5, 100.5), {}, params);
  BOOST_TEST(no_fill.trades == 0);
  BOOST_TEST(no_fill.ret == 0);
  BOOST_TEST(no_fill.exposure == 0);
  // Offsets move both prices: buy at 98.5 (filled exactly at the low), target 102.5.
  auto off = maxdiff_window(w, {0.005, -0.005, false}, params);
  BOOST_TEST(off.ret == 102.5 / 98.5 - 1 - eq_fee, tt::tolerance(1e-12));
  // Crypto longs trade, with the crypto fee.
  auto c = maxdiff_window(win(0.005, 0.02, -0.01, 100, 103, 98.5, 100.5, asset_class::crypto), {}, params);
  BOOST_TEST(c.ret == 102.0 / 99 - 1 - cr_fee, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(maxdiff_short_mirrors) {
  // |low| 0.02 > |high| 0.01: short. Sell limit 101, cover at 98.
  auto s = maxdiff_window(win(-0.005, 0.01, -0.02, 100, 101.5, 97.5, 99), {}, params);
  BOOST_TEST(s.ret == (101.0 - 98) / 101 - eq_fee, tt::tolerance(1e-12));
  auto to_close = maxdiff_window(win(-0.005, 0.01, -0.02, 100, 101.5, 98.5, 99), {}, params);
  BOOST_TEST(to_close.ret == (101.0 - 99) / 101 - eq_fee, tt::tolerance(1e-12));
  auto eod = maxdiff_window(win(-0.005, 0.01, -0.02, 100, 101.5, 97.5, 99), {0, 0, true}, params);
  BOOST_TEST(eod.ret == (101.0 - 99) / 101 - eq_fee, tt::tolerance(1e-12));
  auto no_fill = maxdiff_window(win(-0.005, 0.01, -0.02, 100, 100.5, 97.5, 99), {}, params);
  BOOST_TEST(no_fill.trades == 0);
  // A tie in size goes short ("else short").
  auto tie = maxdiff_window(win(0, 0.01, -0.01, 100, 101.5, 98.5, 99.5), {}, params);
  BOOST_TEST(tie.ret == (101.0 - 99) / 101 - eq_fee, tt::tolerance(1e-12));
  // Crypto never shorts.
  auto c = maxdiff_window(win(-0.005, 0.01, -0.02, 100, 101.5, 97.5, 99, asset_class::crypto), {}, params);
  BOOST_TEST(c.trades == 0);
  BOOST_TEST(c.ret == 0);
}

BOOST_AUTO_TEST_CASE(invalid_forecast_range_stays_flat) {
  const auto w = win(0.0, -0.01, 0.01, 100, 103, 97, 100);  // forecast low above forecast high
  BOOST_TEST(maxdiff_window(w, {}, params).trades == 0);
  BOOST_TEST(entry_takeprofit_window(w, params).trades == 0);
  BOOST_TEST(highlow_window(w, params).trades == 0);
}

BOOST_AUTO_TEST_CASE(entry_takeprofit_is_long_only) {
  // Even with the low move larger (maxdiff would short), it buys the low and takes profit at the high.
  auto tp = entry_takeprofit_window(win(-0.005, 0.01, -0.02, 100, 101.5, 97.5, 99), params);
  BOOST_TEST(tp.ret == 101.0 / 98 - 1 - eq_fee, tt::tolerance(1e-12));
  auto to_close = entry_takeprofit_window(win(-0.005, 0.01, -0.02, 100, 100.5, 97.5, 99), params);
  BOOST_TEST(to_close.ret == 99.0 / 98 - 1 - eq_fee, tt::tolerance(1e-12));
  auto no_fill = entry_takeprofit_window(win(-0.005, 0.01, -0.02, 100, 101.5, 98.5, 99), params);
  BOOST_TEST(no_fill.trades == 0);
}

BOOST_AUTO_TEST_CASE(highlow_trades_both_sides) {
  // Limits: buy 98, sell short 102, half the capital each.
  // Both fill on a bar closing above its open: path open-low-high-close, the long takes profit at
  // 102, the short (entered at 102) exits at the close.
  auto up = highlow_window(win(0, 0.02, -0.02, 100, 103, 97, 101), params);
  BOOST_TEST(up.ret == 0.5 * (102.0 / 98 - 1 - eq_fee) + 0.5 * ((102.0 - 101) / 102 - eq_fee), tt::tolerance(1e-12));
  BOOST_TEST(up.trades == 2);
  BOOST_TEST(up.exposure == 1);
  BOOST_TEST(up.traded_notional == 2);
  // Both fill on a bar closing below its open: the short covers at 98, the long exits at the close.
  auto down = highlow_window(win(0, 0.02, -0.02, 100, 103, 97, 99), params);
  BOOST_TEST(down.ret == 0.5 * ((102.0 - 98) / 102 - eq_fee) + 0.5 * (99.0 / 98 - 1 - eq_fee), tt::tolerance(1e-12));
  // Only the long fills: exits at the close with half the capital.
  auto long_only = highlow_window(win(0, 0.02, -0.02, 100, 101, 97, 100), params);
  BOOST_TEST(long_only.ret == 0.5 * (100.0 / 98 - 1 - eq_fee), tt::tolerance(1e-12));
  BOOST_TEST(long_only.trades == 1);
  BOOST_TEST(long_only.exposure == 0.5);
  // Only the short fills.
  auto short_only = highlow_window(win(0, 0.02, -0.02, 100, 102.5, 99, 101), params);
  BOOST_TEST(short_only.ret == 0.5 * ((102.0 - 101) / 102 - eq_fee), tt::tolerance(1e-12));
  // Crypto: the long leg alone, full capital (= entry_takeprofit).
  const auto cw = win(0, 0.02, -0.02, 100, 103, 97, 101, asset_class::crypto);
  auto c = highlow_window(cw, params);
  BOOST_TEST(c.ret == 102.0 / 98 - 1 - cr_fee, tt::tolerance(1e-12));
  BOOST_TEST(c.trades == 1);
}

BOOST_AUTO_TEST_CASE(evaluate_reports_metrics_and_spread_cost) {
  std::vector<window> ws{win(0.01, 0.02, -0.01, 100, 103, 99, 102, asset_class::equity, 0.001),
                         win(-0.01, 0.02, -0.01, 100, 101, 98, 99, asset_class::equity, 0.002),
                         win(0.0, 0.02, -0.01, 100, 101, 98, 99, asset_class::equity, 0.004)};
  auto r = evaluate(strategy_kind::simple, ws);
  BOOST_REQUIRE(r);
  BOOST_REQUIRE(r->bars.size() == 3u);
  BOOST_TEST(r->bars[0].ret == 0.02 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(r->bars[1].ret == 0.01 - eq_fee, tt::tolerance(1e-12));
  BOOST_TEST(r->bars[2].trades == 0);
  BOOST_TEST(r->stats.trades == 2);
  BOOST_TEST(r->reported_return == r->stats.total_return);
  BOOST_TEST(r->reported_sharpe == r->stats.sharpe);
  // Half the spread on each side of each round trip: 0.001 + 0.002; the flat window costs nothing.
  BOOST_TEST(r->spread_cost == 0.003, tt::tolerance(1e-12));
  BOOST_TEST(!r->maxdiff);

  auto all = evaluate_all(ws);
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 5u);
  BOOST_TEST((*all)[0].kind == strategy_kind::simple);
  BOOST_TEST((*all)[2].kind == strategy_kind::maxdiff);
  BOOST_TEST((*all)[4].kind == strategy_kind::highlow);
  auto empty = evaluate_all({});
  BOOST_REQUIRE(empty);
  for (const auto& e : *empty) BOOST_TEST(e.stats.bars == 0);
}

BOOST_AUTO_TEST_CASE(names_and_params) {
  for (auto k : all_strategies) BOOST_TEST(strategy_from_string(to_string(k)).value() == k);
  BOOST_TEST(!strategy_from_string("martingale"));
  strategy_params p;
  BOOST_TEST(p.fee(asset_class::equity) == eq_fee);
  BOOST_TEST(p.fee(asset_class::crypto) == cr_fee);
  p.crypto_fee = -1;
  BOOST_TEST(!validate(p));
  p = {};
  p.optimiser.stage_points.clear();
  BOOST_TEST(!evaluate(strategy_kind::maxdiff, {}, p));
}
