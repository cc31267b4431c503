// Portfolio selection (up to 10, at least 4 when enough qualify) and Kelly-lite sizing under every
// cap: per symbol, leverage, total exposure, crypto long only.
#define BOOST_TEST_MODULE strategy_portfolio
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include <boost/test/unit_test.hpp>

#include "strategy/portfolio.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

// edge 0.01, variance 0.0001: Kelly-lite 0.2 x 100 = 20, capped at 0.15.
candidate cand(const std::string& s, double score, int side = 1, asset_class a = asset_class::equity,
               double edge = 0.01, double variance = 0.0001) {
  return {s, a, side, score, edge, variance};
}

double weight_of(const std::vector<target_position>& ts, const std::string& s) {
  for (const auto& t : ts)
    if (t.symbol == s) return t.weight;
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

BOOST_AUTO_TEST_CASE(kelly_lite) {
  const portfolio_params p;
  BOOST_TEST(kelly_weight(0.001, 0.0004, p) == 0.15);                         // 0.5 capped
  BOOST_TEST(kelly_weight(0.0001, 0.0004, p) == 0.05, tt::tolerance(1e-12));  // 0.2 x 0.25
  BOOST_TEST(kelly_weight(0.0, 0.0004, p) == 0);
  BOOST_TEST(kelly_weight(-0.001, 0.0004, p) == 0);
  BOOST_TEST(kelly_weight(0.001, 0.0, p) == 0.15);  // no variance: the cap
  BOOST_TEST(kelly_weight(std::numeric_limits<double>::quiet_NaN(), 0.0004, p) == 0);
}

BOOST_AUTO_TEST_CASE(top_ten_by_score) {
  std::vector<candidate> cs;
  for (int i = 0; i < 12; ++i) cs.push_back(cand("S" + std::to_string(i), 0.01 * (i + 1)));
  auto sel = select_candidates(cs, {}, {});
  BOOST_REQUIRE(sel);
  BOOST_REQUIRE(sel->selected.size() == 10u);
  BOOST_TEST(sel->selected.front().symbol == "S11");
  BOOST_TEST(sel->selected.back().symbol == "S2");
  BOOST_TEST(sel->skipped.size() == 2u);
}

BOOST_AUTO_TEST_CASE(at_least_four_when_enough_qualify) {
  // Two score >= 0; two more are topped up from the best below 0; the fifth stays out.
  std::vector<candidate> cs{cand("A", 0.5), cand("B", 0.2), cand("C", -0.1), cand("D", -0.2), cand("E", -0.3)};
  auto sel = select_candidates(cs, {}, {});
  BOOST_REQUIRE(sel);
  BOOST_REQUIRE(sel->selected.size() == 4u);
  BOOST_TEST(sel->selected[2].symbol == "C");
  BOOST_TEST(sel->selected[3].symbol == "D");
  // Only three qualify (flat, crypto short and no-edge candidates do not): three are selected.
  std::vector<candidate> few{cand("A", 0.5),
                             cand("B", -0.2),
                             cand("C", -0.3),
                             cand("F", 0.9, 0),
                             cand("X", 0.9, -1, asset_class::crypto),
                             cand("N", 0.9, 1, asset_class::equity, 0.0)};
  auto sel2 = select_candidates(few, {}, {});
  BOOST_REQUIRE(sel2);
  BOOST_TEST(sel2->selected.size() == 3u);
  BOOST_TEST(sel2->skipped.size() == 3u);
  // Ties in score rank by symbol.
  auto tie = select_candidates({cand("ZZ", 0.1), cand("AA", 0.1)}, {}, {});
  BOOST_TEST(tie->selected[0].symbol == "AA");
  // Crypto shorts are allowed when long-only is off.
  risk_limits l;
  l.crypto_long_only = false;
  BOOST_TEST(select_candidates({cand("X", 0.9, -1, asset_class::crypto)}, {}, l)->selected.size() == 1u);
}

BOOST_AUTO_TEST_CASE(sizing_and_caps) {
  // Per-symbol cap: Kelly cap raised to 1, the 60% cap binds.
  portfolio_params big;
  big.kelly_cap = 1.0;
  auto one = build_portfolio({cand("A", 1)}, 100000, big, {});
  BOOST_REQUIRE(one);
  BOOST_TEST(weight_of(*one, "A") == 0.6, tt::tolerance(1e-12));
  BOOST_TEST((*one)[0].notional == 60000, tt::tolerance(1e-9));

  // Leverage: 10 longs x 0.15 = 1.5 > 1.0: each scaled to 0.1.
  std::vector<candidate> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(cand("L" + std::to_string(i), 1 + i));
  auto lev = build_portfolio(ten, 100000, {}, {});
  BOOST_REQUIRE(lev);
  BOOST_TEST(lev->size() == 10u);
  for (const auto& t : *lev) BOOST_TEST(t.weight == 0.1, tt::tolerance(1e-12));

  // Total exposure: 6 longs (0.9) + 4 shorts (0.6) = 1.5 gross > 1.2: everything x 0.8.
  std::vector<candidate> mixed;
  for (int i = 0; i < 6; ++i) mixed.push_back(cand("L" + std::to_string(i), 1 + i));
  for (int i = 0; i < 4; ++i) mixed.push_back(cand("S" + std::to_string(i), 1 + i, -1));
  auto gross = build_portfolio(mixed, 100000, {}, {});
  BOOST_REQUIRE(gross);
  BOOST_TEST(weight_of(*gross, "L0") == 0.12, tt::tolerance(1e-12));
  BOOST_TEST(weight_of(*gross, "S0") == -0.12, tt::tolerance(1e-12));
  BOOST_TEST(gross->front().notional / gross->front().weight == 100000, tt::tolerance(1e-9));

  // Both: 8 longs (1.2 -> 1.0 by leverage) + 2 shorts (0.3): gross 1.3 -> x 1.2/1.3.
  std::vector<candidate> both;
  for (int i = 0; i < 8; ++i) both.push_back(cand("L" + std::to_string(i), 1 + i));
  for (int i = 0; i < 2; ++i) both.push_back(cand("S" + std::to_string(i), 1 + i, -1));
  auto b = build_portfolio(both, 100000, {}, {});
  BOOST_REQUIRE(b);
  BOOST_TEST(weight_of(*b, "L0") == 0.125 * 1.2 / 1.3, tt::tolerance(1e-12));
  BOOST_TEST(weight_of(*b, "S1") == -0.15 * 1.2 / 1.3, tt::tolerance(1e-12));
  double g = 0, longs = 0;
  for (const auto& t : *b) {
    g += std::fabs(t.weight);
    if (t.weight > 0) longs += t.weight;
  }
  BOOST_TEST(g == 1.2, tt::tolerance(1e-12));
  BOOST_TEST(longs <= 1.0 + 1e-12);

  // A small Kelly weight is kept as is (0.2 x 0.0001 / 0.0004 = 0.05).
  auto small = build_portfolio({cand("A", 1, 1, asset_class::equity, 0.0001, 0.0004)}, 50000, {}, {});
  BOOST_TEST(weight_of(*small, "A") == 0.05, tt::tolerance(1e-12));
  // Crypto shorts are never sized under long-only.
  auto cr = build_portfolio({cand("BTCUSD", 1, -1, asset_class::crypto)}, 50000, {}, {});
  BOOST_TEST(cr->empty());
}

BOOST_AUTO_TEST_CASE(backout_limit_crosses_the_quote) {
  // A sell at the bid less 5 bps, a buy-to-cover at the ask plus 5 bps.
  BOOST_TEST(backout_limit_price(false, 100.0, 100.2, 99.0, 0.0005, 5) == 99.95, tt::tolerance(1e-12));
  BOOST_TEST(backout_limit_price(true, 100.0, 100.2, 99.0, 0.0005, 5) == 100.2 * 1.0005, tt::tolerance(1e-12));
  BOOST_TEST(backout_limit_price(false, 100.0, 100.2, 99.0, 0.0005, 0) == 100.0);
  // No quote (or a crossed one): the last close crossed by the default spread, then the cross.
  for (const auto& [bid, ask] : {std::pair{0.0, 0.0}, std::pair{101.0, 100.0}}) {
    BOOST_TEST(backout_limit_price(false, bid, ask, 99.0, 0.0005, 5) == 99.0 * 0.9995 * 0.9995, tt::tolerance(1e-12));
    BOOST_TEST(backout_limit_price(true, bid, ask, 99.0, 0.0005, 5) == 99.0 * 1.0005 * 1.0005, tt::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(bad_inputs) {
  BOOST_TEST(!build_portfolio({cand("A", 1)}, 0, {}, {}));
  BOOST_TEST(!build_portfolio({cand("A", 1)}, std::numeric_limits<double>::quiet_NaN(), {}, {}));
  BOOST_TEST(!build_portfolio({cand("A", std::numeric_limits<double>::quiet_NaN())}, 1000, {}, {}));
  portfolio_params p;
  p.min_positions = 11;
  BOOST_TEST(!validate(p));
  p = {};
  p.kelly_cap = 0;
  BOOST_TEST(!validate(p));
  risk_limits l;
  l.max_leverage = -1;
  BOOST_TEST(!select_candidates({}, {}, l));
}
