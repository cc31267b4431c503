// Risk limits: the daily-loss kill switch, the per-minute rate limiter and every per-order cap.
#define BOOST_TEST_MODULE strategy_risk
#include <limits>

#include <boost/test/unit_test.hpp>

#include "strategy/risk.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
namespace tt = boost::test_tools;

namespace {

const risk_limits limits{};  // 60% per symbol, 120% gross, leverage 1, 3% daily loss, 60/min, 50000 per order

order_request buy(double n, asset_class a = asset_class::equity) { return {"SYM", a, +1, n}; }
order_request sell(double n, asset_class a = asset_class::equity) { return {"SYM", a, -1, n}; }

account_state account(double pos = 0, double other_long = 0, double other_short = 0) {
  account_state s;
  s.equity = 100000;
  s.position_notional = pos;
  s.long_notional = other_long + (pos > 0 ? pos : 0);
  s.short_notional = other_short + (pos < 0 ? -pos : 0);
  return s;
}

order_check check(const order_request& o, const account_state& a, const kill_switch& ks = {}, const rate_window& r = {},
                  std::int64_t now = 0, const risk_limits& l = limits) {
  auto c = check_order(o, a, ks, r, now, l);
  BOOST_REQUIRE(c);
  return *c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_switch_latches_for_the_day) {
  auto s = update_kill_switch({}, 1, 100000, limits);
  BOOST_REQUIRE(s);
  BOOST_TEST(!s->halted);
  BOOST_TEST(s->day_start_equity == 100000);
  s = update_kill_switch(*s, 1, 98000, limits);  // -2%
  BOOST_TEST(!s->halted);
  BOOST_TEST(s->day_loss == 0.02, tt::tolerance(1e-12));
  s = update_kill_switch(*s, 1, 97000, limits);  // exactly -3%: halts (>=)
  BOOST_TEST(s->halted);
  BOOST_TEST(!s->reason.empty());
  s = update_kill_switch(*s, 1, 99500, limits);  // recovered, still the same day: stays halted
  BOOST_TEST(s->halted);
  s = update_kill_switch(*s, 2, 99500, limits);  // next day: reset
  BOOST_TEST(!s->halted);
  BOOST_TEST(s->day_start_equity == 99500);
  BOOST_TEST(s->reason.empty());
  s = update_kill_switch(*s, 2, 96500, limits);  // -3.02% of 99500
  BOOST_TEST(s->halted);
  BOOST_TEST(!update_kill_switch(*s, 1, 99500, limits));  // day went backwards
  BOOST_TEST(!update_kill_switch(*s, 2, std::numeric_limits<double>::quiet_NaN(), limits));
  // Just under the limit does not halt.
  auto t = update_kill_switch({}, 5, 100000, limits);
  t = update_kill_switch(*t, 5, 97001, limits);
  BOOST_TEST(!t->halted);
}

BOOST_AUTO_TEST_CASE(rate_limiter_over_a_sliding_minute) {
  rate_window w;
  for (std::int64_t t : {0, 10, 20}) {
    auto d = rate_limit(w, t, 3);
    BOOST_REQUIRE(d);
    BOOST_TEST(d->allowed);
    w = d->next;
  }
  auto full = rate_limit(w, 30, 3);
  BOOST_TEST(!full->allowed);
  BOOST_TEST(full->next.sent_ms.size() == 3u);
  auto later = rate_limit(w, 60000, 3);  // the order at 0 is exactly 60 s old: expired
  BOOST_TEST(later->allowed);
  w = later->next;
  BOOST_TEST(w.sent_ms.size() == 3u);  // 10, 20, 60000
  BOOST_TEST(!rate_limit(w, 60005, 3)->allowed);
  BOOST_TEST(rate_limit(w, 60010, 3)->allowed);
  BOOST_TEST(!rate_limit(w, 5, 3));  // time went backwards
}

BOOST_AUTO_TEST_CASE(accept_within_every_limit) {
  auto c = check(buy(10000), account());
  BOOST_TEST(c.verdict == order_verdict::accept);
  BOOST_TEST(c.notional == 10000);
  BOOST_TEST(c.reason.empty());
  BOOST_TEST(c.rate.sent_ms.size() == 1u);
}

BOOST_AUTO_TEST_CASE(max_order_notional_clips) {
  auto c = check(buy(55000), account());
  BOOST_TEST(c.verdict == order_verdict::clip);
  BOOST_TEST(c.notional == 50000);
  BOOST_TEST(c.reason == "max order notional");
}

BOOST_AUTO_TEST_CASE(per_symbol_cap) {
  auto c = check(buy(20000), account(50000));
  BOOST_TEST(c.verdict == order_verdict::clip);
  BOOST_TEST(c.notional == 10000, tt::tolerance(1e-9));
  BOOST_TEST(c.reason == "per-symbol cap");
  auto s = check(sell(20000), account(-55000));
  BOOST_TEST(s.notional == 5000, tt::tolerance(1e-9));
  auto at_cap = check(buy(1000), account(60000));
  BOOST_TEST(at_cap.verdict == order_verdict::reject);
  BOOST_TEST(at_cap.rate.sent_ms.empty());  // a rejected order takes no rate slot
}

BOOST_AUTO_TEST_CASE(leverage_cap_binds_longs_only) {
  auto c = check(buy(10000), account(0, 95000));
  BOOST_TEST(c.verdict == order_verdict::clip);
  BOOST_TEST(c.notional == 5000, tt::tolerance(1e-9));
  BOOST_TEST(c.reason == "leverage cap");
  auto s = check(sell(10000), account(0, 95000));  // a short adds gross exposure, not leverage
  BOOST_TEST(s.verdict == order_verdict::accept);
}

BOOST_AUTO_TEST_CASE(total_exposure_cap) {
  auto b = check(buy(10000), account(0, 90000, 25000));
  BOOST_TEST(b.verdict == order_verdict::clip);
  BOOST_TEST(b.notional == 5000, tt::tolerance(1e-9));
  BOOST_TEST(b.reason == "total exposure cap");
  auto s = check(sell(10000), account(0, 90000, 25000));
  BOOST_TEST(s.notional == 5000, tt::tolerance(1e-9));
  BOOST_TEST(s.reason == "total exposure cap");
}

BOOST_AUTO_TEST_CASE(crypto_long_only) {
  auto r = check(sell(1000, asset_class::crypto), account());
  BOOST_TEST(r.verdict == order_verdict::reject);
  BOOST_TEST(r.reason == "crypto is long only");
  auto c = check(sell(5000, asset_class::crypto), account(3000));  // may close, not go short
  BOOST_TEST(c.verdict == order_verdict::clip);
  BOOST_TEST(c.notional == 3000, tt::tolerance(1e-9));
  risk_limits l = limits;
  l.crypto_long_only = false;
  BOOST_TEST(check(sell(1000, asset_class::crypto), account(), {}, {}, 0, l).verdict == order_verdict::accept);
}

BOOST_AUTO_TEST_CASE(kill_switch_allows_only_reducing_orders) {
  kill_switch ks;
  ks.halted = true;
  auto r = check(buy(1000), account(), ks);
  BOOST_TEST(r.verdict == order_verdict::reject);
  BOOST_TEST(r.reason.find("kill switch") != std::string::npos);
  BOOST_TEST(check(sell(5000), account(20000), ks).verdict == order_verdict::accept);
  auto flip = check(sell(30000), account(20000), ks);
  BOOST_TEST(flip.verdict == order_verdict::clip);
  BOOST_TEST(flip.notional == 20000, tt::tolerance(1e-9));
  BOOST_TEST(check(buy(4000), account(-4000), ks).verdict == order_verdict::accept);
}

BOOST_AUTO_TEST_CASE(reducing_is_never_clipped_by_caps) {
  // A short beyond the per-symbol cap (equity fell) may still be covered in full.
  BOOST_TEST(check(buy(40000), account(-70000, 0, 60000)).verdict == order_verdict::accept);
}

BOOST_AUTO_TEST_CASE(rate_limit_rejects_without_consuming) {
  risk_limits l = limits;
  l.max_orders_per_minute = 2;
  rate_window w;
  auto a = check(buy(100), account(), {}, w, 0, l);
  auto b = check(buy(100), account(), {}, a.rate, 1, l);
  BOOST_TEST(b.verdict == order_verdict::accept);
  auto c = check(buy(100), account(), {}, b.rate, 2, l);
  BOOST_TEST(c.verdict == order_verdict::reject);
  BOOST_TEST(c.reason == "order rate limit");
  BOOST_TEST(c.rate.sent_ms.size() == 2u);
  auto d = check(buy(100), account(), {}, c.rate, 60001, l);
  BOOST_TEST(d.verdict == order_verdict::accept);
}

BOOST_AUTO_TEST_CASE(bad_orders_are_errors) {
  BOOST_TEST(!check_order(buy(std::numeric_limits<double>::quiet_NaN()), account(), {}, {}, 0, limits));
  BOOST_TEST(!check_order(buy(0), account(), {}, {}, 0, limits));
  BOOST_TEST(!check_order({"SYM", asset_class::equity, 0, 100}, account(), {}, {}, 0, limits));
  account_state broke = account();
  broke.equity = 0;
  BOOST_TEST(!check_order(buy(100), broke, {}, {}, 0, limits));
  risk_limits l = limits;
  l.max_order_notional = 0;
  BOOST_TEST(!validate(l));
  BOOST_TEST(!check_order(buy(100), account(), {}, {}, 0, l));
}
