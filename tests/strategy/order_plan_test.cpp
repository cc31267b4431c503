// From proposals to orders (strategy::plan_orders): whole shares or fractions, crypto in 1e-6, the
// minimum order, the close back-out's crossing limit, limits on the tick, deterministic client
// order ids, the kill switch, reductions first. The venue is market/'s real tick and id rules.
#define BOOST_TEST_MODULE strategy_order_plan
#include <cmath>
#include <string>

#include <boost/test/unit_test.hpp>

#include "market/order_journal.hpp"
#include "market/symbols.hpp"
#include "strategy/order_plan.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

constexpr std::int64_t bar_s = 1719878400;

const order_venue venue{[](const std::string& sym, double price, int side) {
                          return tb::market::round_limit_price(
                              sym, price, side > 0 ? tb::market::side::buy : tb::market::side::sell);
                        },
                        [](const std::string& sym, std::int64_t bar_time_s, int side, const std::string& strat) {
                          return tb::market::client_order_id_for(
                              sym, bar_time_s, side > 0 ? tb::market::side::buy : tb::market::side::sell, strat);
                        }};

// A long proposal whose Kelly-lite weight is the cap, 0.15 (edge 0.01, variance 0.0001).
symbol_proposal long_proposal(const std::string& sym, double last_close, double limit,
                              asset_class a = asset_class::equity) {
  symbol_proposal p;
  p.symbol = sym;
  p.asset = a;
  p.ok = p.has_opinion = true;
  p.bar_time_s = bar_s;
  p.strategy = "maxdiff";
  p.side = +1;
  p.score = 1;
  p.edge = 0.01;
  p.variance = 0.0001;
  p.last_close = last_close;
  p.limit_price = limit;
  return p;
}

// A proposal with an opinion (flat) or without one (error), targeting nothing.
symbol_proposal idle_proposal(const std::string& sym, double last_close, bool opinion, const std::string& why) {
  symbol_proposal p;
  p.symbol = sym;
  p.has_opinion = opinion;
  p.why = why;
  p.bar_time_s = bar_s;
  p.last_close = last_close;
  return p;
}

order_inputs inputs(std::vector<symbol_proposal> ps, std::vector<held_position> held = {}) {
  order_inputs in;
  in.proposals = std::move(ps);
  in.positions = std::move(held);
  in.equity = 100000;
  in.now_ms = bar_s * 1000;
  return in;
}

order_plan plan_of(const order_inputs& in, const order_params& p = {}) {
  auto plan = plan_orders(in, p, venue);
  BOOST_TEST_REQUIRE(plan.has_value());
  return *plan;
}

}  // namespace

BOOST_AUTO_TEST_CASE(whole_shares_unless_fractional_equity) {
  // 0.15 x 100000 = 15000 at the limit 190.07 (190.071 rounded down for a buy) = 78.918... shares
  const auto in = inputs({long_proposal("AAPL", 190.5, 190.071)});
  const auto whole = plan_of(in);
  BOOST_TEST_REQUIRE(whole.orders.size() == 1u);
  BOOST_TEST(whole.orders[0].qty == 78);
  BOOST_TEST(whole.orders[0].limit_price == 190.07);
  BOOST_TEST(whole.orders[0].side == 1);
  order_params frac;
  frac.fractional_equity = true;
  const auto f = plan_of(in, frac);
  BOOST_TEST_REQUIRE(f.orders.size() == 1u);
  BOOST_TEST(f.orders[0].qty == std::floor(15000 / 190.07 * 1e6) / 1e6);
  BOOST_TEST(f.orders[0].qty > 78.9);
}

BOOST_AUTO_TEST_CASE(crypto_in_millionths_of_a_coin) {
  const auto plan = plan_of(inputs({long_proposal("BTCUSD", 60010, 60000.123, asset_class::crypto)}));
  BOOST_TEST_REQUIRE(plan.orders.size() == 1u);
  BOOST_TEST(plan.orders[0].limit_price == 60000.12);  // 6 significant digits, buys down
  BOOST_TEST(plan.orders[0].qty == std::floor(15000 / 60000.12 * 1e6) / 1e6);
  BOOST_TEST(plan.orders[0].qty == 0.249999);
}

BOOST_AUTO_TEST_CASE(orders_below_the_minimum_fraction_are_not_sent) {
  // Target 15000; 78 held at 190 = 14820: a change of 180 < 0.002 x 100000 = 200.
  const held_position held78{"AAPL", asset_class::equity, 78, 190};
  BOOST_TEST(plan_of(inputs({long_proposal("AAPL", 190, 190)}, {held78})).orders.empty());
  // 77 held = 14630: a change of 370 is sent, the notional / limit in whole shares (370 / 190).
  const held_position held77{"AAPL", asset_class::equity, 77, 190};
  const auto plan = plan_of(inputs({long_proposal("AAPL", 190, 190)}, {held77}));
  BOOST_TEST_REQUIRE(plan.orders.size() == 1u);
  BOOST_TEST(plan.orders[0].qty == 1);
  order_params p;
  p.min_order_fraction = 0.001;  // 180 >= 100: sent, but 180 / 190 rounds to no whole share
  BOOST_TEST(plan_of(inputs({long_proposal("AAPL", 190, 190)}, {held78}), p).orders.empty());
}

BOOST_AUTO_TEST_CASE(close_backout_crosses_the_quote_and_keeps_what_has_no_opinion) {
  auto flat = idle_proposal("AAPL", 190, true, "flat");
  flat.bid = 189.5;
  flat.ask = 190.5;
  auto in = inputs({flat, idle_proposal("MSFT", 400, false, "error (timeout)")},
                   {{"AAPL", asset_class::equity, 100, 190},
                    {"MSFT", asset_class::equity, 50, 400},
                    {"IBM", asset_class::equity, 10, 150},
                    {"BTCUSD", asset_class::crypto, 0.5, 60000}});
  in.close_backout = true;
  order_params p;
  p.backout_cross_bps = 5;
  const auto plan = plan_of(in, p);
  BOOST_TEST_REQUIRE(plan.orders.size() == 1u);
  const auto& o = plan.orders[0];
  // A sell at bid x (1 - 5 bps) = 189.40525, rounded up to the cent for a sell; all 100 held.
  BOOST_TEST(o.side == -1);
  BOOST_TEST(o.limit_price == 189.41);
  BOOST_TEST(o.qty == 100);
  BOOST_TEST(o.strategy == "backout");
  BOOST_TEST(o.client_order_id == "AAPL-1719878400-sell-backout");
  // Kept overnight, with the reason; crypto is not the back-out's business.
  BOOST_TEST_REQUIRE(plan.decisions.size() == 3u);
  BOOST_TEST(plan.decisions[0] == "IBM: close back-out keeps 10.000000 held: no proposal this cycle");
  BOOST_TEST(plan.decisions[1] == "MSFT: close back-out keeps 50.000000 held: symbol error (timeout)");
  BOOST_TEST(plan.decisions[2] == "AAPL-1719878400-sell-backout qty 100.000000 limit 189.410000");
  // Without a quote: from the last close less the default spread, then the cross.
  in.proposals[0].bid = in.proposals[0].ask = 0;
  const auto noquote = plan_of(in, p);
  BOOST_TEST_REQUIRE(noquote.orders.size() == 1u);
  BOOST_TEST(noquote.orders[0].limit_price ==
             tb::market::round_limit_price("AAPL", backout_limit_price(false, 0, 0, 190, p.default_spread, 5),
                                           tb::market::side::sell));
  // Outside the back-out the same close-out trades at the last close, as a rebalance.
  in.close_backout = false;
  const auto normal = plan_of(in, p);
  BOOST_TEST_REQUIRE(normal.orders.size() == 1u);
  BOOST_TEST(normal.orders[0].limit_price == 190);
  BOOST_TEST(normal.orders[0].strategy == "rebalance");
}

BOOST_AUTO_TEST_CASE(limits_on_the_tick_buys_down_sells_up) {
  // Sub-dollar equity: 1/100 of a cent. A buy entry rounds down.
  const auto buy = plan_of(inputs({long_proposal("PENNY", 0.13, 0.123456)}));
  BOOST_TEST_REQUIRE(buy.orders.size() == 1u);
  BOOST_TEST(buy.orders[0].limit_price == 0.1234);
  // A short entry (a sell) rounds up.
  auto s = long_proposal("PENNY", 0.13, 0.123456);
  s.side = -1;
  const auto sell = plan_of(inputs({s}));
  BOOST_TEST_REQUIRE(sell.orders.size() == 1u);
  BOOST_TEST(sell.orders[0].side == -1);
  BOOST_TEST(sell.orders[0].limit_price == 0.1235);
}

BOOST_AUTO_TEST_CASE(client_order_ids_are_deterministic) {
  const auto in =
      inputs({long_proposal("AAPL", 190, 190), long_proposal("BTC/USD", 60000, 60000, asset_class::crypto)});
  const auto a = plan_of(in), b = plan_of(in);
  BOOST_TEST_REQUIRE(a.orders.size() == 2u);
  BOOST_TEST_REQUIRE(b.orders.size() == 2u);
  BOOST_TEST(a.orders[0].client_order_id == "AAPL-1719878400-buy-maxdiff");
  BOOST_TEST(a.orders[1].client_order_id == "BTC_USD-1719878400-buy-maxdiff");
  for (std::size_t i = 0; i < 2; ++i) BOOST_TEST(a.orders[i].client_order_id == b.orders[i].client_order_id);
  // No strategy named: the order is a rebalance.
  auto unnamed = in;
  unnamed.proposals[0].strategy.clear();
  BOOST_TEST(plan_of(unnamed).orders[0].client_order_id == "AAPL-1719878400-buy-rebalance");
}

BOOST_AUTO_TEST_CASE(halted_kill_switch_refuses_entries_and_lets_exits_through) {
  auto in = inputs({long_proposal("AAPL", 190, 190), idle_proposal("MSFT", 400, true, "flat")},
                   {{"MSFT", asset_class::equity, 50, 400}});
  in.ks.day = 1;
  in.ks.day_start_equity = 104000;
  in.ks.day_loss = (104000.0 - 100000) / 104000;
  in.ks.halted = true;
  in.ks.reason = "daily loss";
  const auto plan = plan_of(in);
  BOOST_TEST(plan.risk_rejected == 1u);
  BOOST_TEST_REQUIRE(plan.orders.size() == 1u);
  BOOST_TEST(plan.orders[0].symbol == "MSFT");
  BOOST_TEST(plan.orders[0].side == -1);
  BOOST_TEST(plan.orders[0].qty == 50);
  BOOST_TEST_REQUIRE(plan.decisions.size() == 2u);
  BOOST_TEST(plan.decisions[0].rfind("AAPL: refused by risk: ", 0) == 0);
  // Not halted: both go, the exit first (it frees the buying power the entry needs).
  in.ks = {};
  const auto open = plan_of(in);
  BOOST_TEST(open.risk_rejected == 0u);
  BOOST_TEST_REQUIRE(open.orders.size() == 2u);
  BOOST_TEST(open.orders[0].symbol == "MSFT");
  BOOST_TEST(open.orders[1].symbol == "AAPL");
}

BOOST_AUTO_TEST_CASE(the_rate_limiter_state_is_kept) {
  order_params p;
  p.limits.max_orders_per_minute = 1;
  auto in = inputs({long_proposal("AAPL", 190, 190), long_proposal("MSFT", 400, 400)});
  const auto plan = plan_of(in, p);
  BOOST_TEST(plan.orders.size() == 1u);
  BOOST_TEST(plan.risk_rejected == 1u);
  BOOST_TEST(plan.rate.sent_ms.size() == 1u);
  in.rate = plan.rate;  // the same minute: nothing more
  BOOST_TEST(plan_of(in, p).orders.empty());
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_an_error_naming_build_portfolio) {
  order_params p;
  p.portfolio.max_positions = 0;
  auto plan = plan_orders(inputs({long_proposal("AAPL", 190, 190)}), p, venue);
  BOOST_TEST_REQUIRE(!plan.has_value());
  BOOST_TEST(plan.error().code == tb::errc::bad_config);
  BOOST_TEST(plan.error().message.rfind("build_portfolio: ", 0) == 0);
}
