// market/sim_broker: fill rule, fees, spread, cancel, duplicate client ids, day orders, feed
// catch-up; market/symbols: classification, limit-price ticks.
#define BOOST_TEST_MODULE sim_broker
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "core/calendar.hpp"
#include "market/sim_broker.hpp"
#include "market/symbols.hpp"
#include "market/synthetic_feed.hpp"

using namespace tb;
using namespace tb::market;
using namespace std::chrono_literals;
namespace tt = boost::test_tools;

namespace {

core::time_point utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return core::from_unix_seconds(core::days_from_civil({y, mo, d}) * 86400 + h * 3600 + mi * 60);
}

const bar_timing daily{std::chrono::hours(24), bar_label::period_start};

core::bar daily_bar(core::time_point day, double o, double h, double l, double c) {
  core::bar b;
  b.time_s = core::to_unix_seconds(day);
  b.open = o;
  b.high = h;
  b.low = l;
  b.close = c;
  b.volume = 1000;
  return b;
}

order_request req(const std::string& id, const std::string& sym, side s, double qty, double limit,
                  time_in_force tif = time_in_force::gtc) {
  return {id, sym, s, qty, limit, tif};
}

struct fixture {
  fixture() {
    cfg.default_spread = 0.002;  // 20 bps: half = 0.001
    clock = std::make_shared<core::sim_clock>(utc(2024, 7, 1, 14));
    broker = std::make_unique<sim_broker>(cfg, clock, nullptr);
  }
  sim_broker_config cfg;
  std::shared_ptr<core::sim_clock> clock;
  std::unique_ptr<sim_broker> broker;
};

}  // namespace

BOOST_AUTO_TEST_CASE(symbol_classification) {
  BOOST_TEST(is_crypto("BTCUSD"));
  BOOST_TEST(is_crypto("SUIUSD"));
  BOOST_TEST(is_crypto("ethusd"));
  BOOST_TEST(is_crypto("BTC/USD"));
  BOOST_TEST(!is_crypto("AAPL"));
  BOOST_TEST(!is_crypto("USD"));  // the ETF ticker
  BOOST_TEST(!is_crypto(""));
  BOOST_TEST(!is_crypto("USDC"));
}

BOOST_AUTO_TEST_CASE(limit_price_ticks) {
  BOOST_TEST(price_increment("AAPL", 190) == 0.01);
  BOOST_TEST(price_increment("AAPL", 1.0) == 0.01);
  BOOST_TEST(price_increment("PENNY", 0.5) == 0.0001);
  BOOST_TEST(price_increment("BTCUSD", 60000) == 0.01);
  BOOST_TEST(price_increment("SOLUSD", 150) == 0.001, tt::tolerance(1e-12));
  BOOST_TEST(price_increment("DOGEUSD", 0.15) == 1e-6, tt::tolerance(1e-12));
  BOOST_TEST(price_increment("SHIBUSD", 0.00002) == 1e-9, tt::tolerance(1e-15));
  BOOST_TEST(price_increment("BTCUSD", 60000, 1.0) == 1.0);
  BOOST_TEST(round_limit_price("AAPL", 190.07, side::buy) == 190.07);  // on the grid: unchanged
  BOOST_TEST(round_limit_price("AAPL", 190.071, side::buy) == 190.07);
  BOOST_TEST(round_limit_price("AAPL", 190.071, side::sell) == 190.08);
  BOOST_TEST(round_limit_price("PENNY", 0.123456, side::buy) == 0.1234);
  BOOST_TEST(round_limit_price("PENNY", 0.123456, side::sell) == 0.1235);
  BOOST_TEST(round_limit_price("BTCUSD", 60000.123, side::buy) == 60000.12);
  BOOST_TEST(round_limit_price("BTCUSD", 60000.123, side::sell) == 60000.13);
  BOOST_TEST(round_limit_price("BTCUSD", 60000.5, side::sell, 1.0) == 60001.0);
  BOOST_TEST(round_limit_price("SOLUSD", 150.12345, side::buy) == 150.123);
}

BOOST_AUTO_TEST_CASE(default_time_in_force_as_the_original) {
  BOOST_TEST((default_time_in_force("BTCUSD", 0.25) == time_in_force::gtc));
  BOOST_TEST((default_time_in_force("BTCUSD", 2) == time_in_force::gtc));
  BOOST_TEST((default_time_in_force("AAPL", 3) == time_in_force::gtc));
  BOOST_TEST((default_time_in_force("AAPL", 2.5) == time_in_force::day));
}

BOOST_FIXTURE_TEST_CASE(buy_limit_fills_on_a_later_bar_through_the_ask, fixture) {
  auto o = broker->submit_limit_order(req("c1", "ACME", side::buy, 10, 100.0));
  BOOST_REQUIRE(o.has_value());
  BOOST_TEST((o->status == order_status::open));
  BOOST_TEST(o->id == "sim-00000001");

  // Day of Jul 1 (00:00 .. Jul 2 00:00, after the order): low 99.95 -> lowest ask 100.04995 > 100.
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 101, 102, 99.95, 101), daily);
  BOOST_TEST(broker->open_orders()->size() == 1u);
  BOOST_TEST(broker->fills().empty());

  // Jul 2: low 99.8 -> ask 99.8998 <= 100; opens at 100.5 (ask 100.6005) -> fills at the limit.
  clock->advance_to(utc(2024, 7, 3)).value();
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 2), 100.5, 101, 99.8, 100.2), daily);
  BOOST_REQUIRE(broker->fills().size() == 1u);
  const fill& f = broker->fills()[0];
  BOOST_TEST(f.price == 100.0, tt::tolerance(1e-12));
  BOOST_TEST(f.qty == 10.0);
  BOOST_TEST(f.fee == 0.0000278 * 1000.0, tt::tolerance(1e-12));
  BOOST_TEST((f.at == utc(2024, 7, 3)));  // the bar's close
  BOOST_TEST(f.client_order_id == "c1");

  const auto acct = broker->account().value();
  BOOST_TEST(acct.cash == 100000.0 - 1000.0 - 0.0278, tt::tolerance(1e-12));
  BOOST_TEST(acct.equity == acct.cash + 10 * 100.2, tt::tolerance(1e-12));  // marked at the close
  const auto pos = broker->positions().value();
  BOOST_REQUIRE(pos.size() == 1u);
  BOOST_TEST(pos[0].qty == 10.0);
  BOOST_TEST(pos[0].avg_entry_price == 100.0);
  BOOST_TEST(pos[0].market_price == 100.2);
  BOOST_TEST(broker->open_orders()->empty());
  BOOST_TEST((broker->order_by_client_id("c1").value()->status == order_status::filled));
}

BOOST_FIXTURE_TEST_CASE(gap_through_the_limit_fills_at_the_open_ask, fixture) {
  BOOST_REQUIRE(broker->submit_limit_order(req("g", "ACME", side::buy, 5, 100.0)).has_value());
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 98, 99, 97.5, 98.5), daily);
  BOOST_REQUIRE(broker->fills().size() == 1u);
  BOOST_TEST(broker->fills()[0].price == 98 * 1.001, tt::tolerance(1e-12));
}

BOOST_FIXTURE_TEST_CASE(sell_limit_against_the_bid_with_crypto_fees, fixture) {
  // Buy 2 BTCUSD at 50000 first (open 49000 -> ask 49049).
  BOOST_REQUIRE(broker->submit_limit_order(req("b", "BTCUSD", side::buy, 0.5, 50000)).has_value());
  broker->process_bar("BTCUSD", daily_bar(utc(2024, 7, 1), 49000, 49500, 48800, 49400), daily);
  BOOST_REQUIRE(broker->fills().size() == 1u);
  BOOST_TEST(broker->fills()[0].price == 49049.0, tt::tolerance(1e-12));
  BOOST_TEST(broker->fills()[0].fee == 0.008 * 0.5 * 49049.0, tt::tolerance(1e-12));

  clock->advance_to(utc(2024, 7, 2, 1)).value();
  BOOST_REQUIRE(broker->submit_limit_order(req("s", "BTCUSD", side::sell, 0.5, 51000)).has_value());
  // High 51040 -> highest bid 50988.96 < 51000: no fill.
  broker->process_bar("BTCUSD", daily_bar(utc(2024, 7, 2), 49400, 51040, 49300, 50500), daily);
  BOOST_TEST(broker->fills().size() == 1u);
  // High 51100 -> bid 51048.9 >= 51000; open bid 50449.5 < limit -> fills at 51000.
  clock->advance_to(utc(2024, 7, 3, 1)).value();
  broker->process_bar("BTCUSD", daily_bar(utc(2024, 7, 3), 50500, 51100, 50000, 50800), daily);
  BOOST_REQUIRE(broker->fills().size() == 2u);
  const fill& f = broker->fills()[1];
  BOOST_TEST(f.price == 51000.0, tt::tolerance(1e-12));
  BOOST_TEST(f.fee == 0.008 * 0.5 * 51000.0, tt::tolerance(1e-12));
  BOOST_TEST(broker->positions()->empty());
  const double expect_cash = 100000.0 - 0.5 * 49049.0 * 1.008 + 0.5 * 51000.0 * 0.992;
  BOOST_TEST(broker->account()->cash == expect_cash, tt::tolerance(1e-12));
  BOOST_TEST(broker->account()->equity == expect_cash, tt::tolerance(1e-12));
}

BOOST_FIXTURE_TEST_CASE(a_bar_complete_before_the_order_never_fills_it, fixture) {
  clock->advance_to(utc(2024, 7, 2)).value();
  BOOST_REQUIRE(broker->submit_limit_order(req("late", "ACME", side::buy, 1, 100)).has_value());
  // Jul 1's bar closed at Jul 2 00:00 = the submission instant: not later.
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 90, 91, 89, 90), daily);
  BOOST_TEST(broker->fills().empty());
  BOOST_TEST(broker->open_orders()->size() == 1u);
  // A replayed duplicate of an older bar after a newer one is ignored too.
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 2), 101, 102, 100.5, 101), daily);
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 90, 91, 89, 90), daily);
  BOOST_TEST(broker->fills().empty());
}

BOOST_FIXTURE_TEST_CASE(duplicate_client_order_id_is_refused_and_never_filled_twice, fixture) {
  BOOST_REQUIRE(broker->submit_limit_order(req("dup", "ACME", side::buy, 1, 100)).has_value());
  auto again = broker->submit_limit_order(req("dup", "ACME", side::buy, 1, 100));
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST((again.error().code == errc::invalid_argument));
  BOOST_TEST(again.error().message.find("duplicate client_order_id") != std::string::npos);
  BOOST_TEST(broker->open_orders()->size() == 1u);

  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 99, 99, 98, 98.5), daily);
  BOOST_TEST(broker->fills().size() == 1u);
  // Still refused after the first one filled; a different symbol or side changes nothing.
  BOOST_TEST(!broker->submit_limit_order(req("dup", "OTHER", side::sell, 1, 10)).has_value());
  clock->advance_to(utc(2024, 7, 2, 1)).value();
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 2), 97, 98, 96, 97), daily);
  BOOST_TEST(broker->fills().size() == 1u);
  BOOST_TEST(broker->all_orders().size() == 1u);
  BOOST_TEST(broker->positions()->at(0).qty == 1.0);
  // Unknown ids are found as "none".
  BOOST_TEST(!broker->order_by_client_id("never").value().has_value());
}

BOOST_FIXTURE_TEST_CASE(cancel, fixture) {
  auto o = broker->submit_limit_order(req("x", "ACME", side::buy, 1, 100)).value();
  BOOST_TEST(broker->account()->buying_power == 100000.0 - 100 * (1 + 0.0000278), tt::tolerance(1e-12));
  auto c = broker->cancel_order(o.id);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST((c->status == order_status::canceled));
  BOOST_TEST(broker->account()->buying_power == 100000.0);
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 1), 99, 99, 98, 98.5), daily);
  BOOST_TEST(broker->fills().empty());
  BOOST_TEST(!broker->cancel_order(o.id).has_value());  // already canceled
  BOOST_TEST(!broker->cancel_order("sim-99999999").has_value());
  // A filled order cannot be canceled.
  auto f = broker->submit_limit_order(req("y", "ACME", side::buy, 1, 100)).value();
  clock->advance_to(utc(2024, 7, 2, 1)).value();
  broker->process_bar("ACME", daily_bar(utc(2024, 7, 2), 99, 99, 98, 98.5), daily);
  auto cf = broker->cancel_order(f.id);
  BOOST_REQUIRE(!cf.has_value());
  BOOST_TEST(cf.error().message.find("filled") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(acceptance_rules, fixture) {
  BOOST_TEST(!broker->submit_limit_order(req("", "ACME", side::buy, 1, 100)).has_value());
  BOOST_TEST(!broker->submit_limit_order(req(std::string(129, 'a'), "ACME", side::buy, 1, 100)).has_value());
  BOOST_TEST(!broker->submit_limit_order(req("q0", "ACME", side::buy, 0, 100)).has_value());
  BOOST_TEST(!broker->submit_limit_order(req("qn", "ACME", side::buy, NAN, 100)).has_value());
  BOOST_TEST(!broker->submit_limit_order(req("p0", "ACME", side::buy, 1, -1)).has_value());
  // Buying power: 900 x 100 fits, another 200 x 100 does not (reserved by the first).
  BOOST_TEST(broker->submit_limit_order(req("b1", "ACME", side::buy, 900, 100)).has_value());
  auto too_much = broker->submit_limit_order(req("b2", "ACME", side::buy, 200, 100));
  BOOST_REQUIRE(!too_much.has_value());
  BOOST_TEST(too_much.error().message.find("buying power") != std::string::npos);
  // A refused request leaves its client id free.
  BOOST_TEST(broker->submit_limit_order(req("b2", "ACME", side::buy, 10, 100)).has_value());
  // Crypto: no short, gtc only.
  BOOST_TEST(!broker->submit_limit_order(req("cs", "BTCUSD", side::sell, 0.1, 60000)).has_value());
  BOOST_TEST(!broker->submit_limit_order(req("cd", "BTCUSD", side::buy, 0.01, 60000, time_in_force::day)).has_value());
  // Equity short is allowed by default...
  BOOST_TEST(broker->submit_limit_order(req("short", "SHRT", side::sell, 10, 50)).has_value());
  // ...and refused when disabled.
  sim_broker_config no_short = cfg;
  no_short.allow_short_equity = false;
  sim_broker strict(no_short, clock, nullptr);
  BOOST_TEST(!strict.submit_limit_order(req("short", "SHRT", side::sell, 10, 50)).has_value());
}

BOOST_FIXTURE_TEST_CASE(short_position_and_crossing_zero, fixture) {
  BOOST_REQUIRE(broker->submit_limit_order(req("s1", "SHRT", side::sell, 10, 50)).has_value());
  broker->process_bar("SHRT", daily_bar(utc(2024, 7, 1), 49, 51, 48, 50), daily);  // bid high 50.949
  BOOST_REQUIRE(broker->fills().size() == 1u);
  BOOST_TEST(broker->fills()[0].price == 50.0);
  auto p = broker->positions().value();
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0].qty == -10.0);
  BOOST_TEST(p[0].avg_entry_price == 50.0);
  // Buy 15 at 45: covers 10, opens 5 long at the fill price.
  clock->advance_to(utc(2024, 7, 2, 1)).value();
  BOOST_REQUIRE(broker->submit_limit_order(req("b1", "SHRT", side::buy, 15, 45)).has_value());
  broker->process_bar("SHRT", daily_bar(utc(2024, 7, 2), 46, 47, 44, 45), daily);  // ask low 44.044
  BOOST_REQUIRE(broker->fills().size() == 2u);
  p = broker->positions().value();
  BOOST_TEST(p[0].qty == 5.0);
  BOOST_TEST(p[0].avg_entry_price == 45.0);
  const double fees = 0.0000278 * (500.0 + 675.0);
  BOOST_TEST(broker->account()->cash == 100000.0 + 500.0 - 675.0 - fees, tt::tolerance(1e-12));
  BOOST_TEST(broker->account()->equity == 100000.0 + 500.0 - 675.0 - fees + 5 * 45.0, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(day_orders_expire_at_their_session_close) {
  sim_broker_config cfg;
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 7, 3, 14));  // 10:00 EDT, early close day
  sim_broker b(cfg, clock, nullptr);
  BOOST_REQUIRE(b.submit_limit_order(req("d1", "ACME", side::buy, 1, 100, time_in_force::day)).has_value());
  BOOST_REQUIRE(b.submit_limit_order(req("d2", "ACME", side::buy, 1, 100, time_in_force::day)).has_value());
  // Jul 3's bar (opens before the 13:00 close) does not reach 100.
  b.process_bar("ACME", daily_bar(utc(2024, 7, 3), 101, 102, 100.9, 101), daily);
  BOOST_TEST(b.open_orders()->size() == 2u);
  // Jul 5's bar would fill, but it opens after Jul 3's close: both expire instead.
  clock->advance_to(utc(2024, 7, 6)).value();
  b.process_bar("ACME", daily_bar(utc(2024, 7, 5), 99, 99, 98, 98), daily);
  BOOST_TEST(b.fills().empty());
  const auto all = b.all_orders();
  BOOST_TEST((all[0].status == order_status::expired));
  BOOST_TEST((all[0].updated_at == utc(2024, 7, 3, 17)));  // 13:00 EDT
  // Without bars, the clock passing the close expires them (no feed: period 0).
  BOOST_REQUIRE(b.submit_limit_order(req("d3", "ACME", side::buy, 1, 100, time_in_force::day)).has_value());
  clock->advance_to(utc(2024, 7, 8, 19, 59)).value();  // Monday 15:59 EDT... submitted Saturday
  BOOST_TEST(b.open_orders()->size() == 1u);
  clock->advance_to(utc(2024, 7, 8, 20)).value();
  BOOST_TEST(b.open_orders()->empty());
  // Outside the calendar a day order is refused, not guessed.
  clock->advance_to(utc(2100, 1, 4, 15)).value();
  BOOST_TEST(!b.submit_limit_order(req("d4", "ACME", side::buy, 1, 100, time_in_force::day)).has_value());
  BOOST_TEST(b.submit_limit_order(req("g4", "ACME", side::buy, 1, 100, time_in_force::gtc)).has_value());
}

BOOST_AUTO_TEST_CASE(feed_driven_fills_use_the_quote_spread_and_are_deterministic) {
  auto run = [](std::vector<fill>& fills, double& equity) {
    auto clock = std::make_shared<core::sim_clock>(utc(2024, 9, 3, 13, 30));
    synthetic_config scfg;
    scfg.seed = 11;
    auto feed = synthetic_feed::create(scfg, clock).value();
    sim_broker b(sim_broker_config{}, clock, feed);
    const auto q = feed->latest_quote("DEMO05").value();
    // A buy above the market fills on the next bar at its open's ask.
    auto o = b.submit_limit_order(req("f1", "DEMO05", side::buy, 10, q.ask * 1.2));
    BOOST_REQUIRE(o.has_value());
    BOOST_TEST(b.fills().empty());
    clock->advance(24h).value();
    equity = b.account().value().equity;  // catches up
    BOOST_REQUIRE(b.fills().size() == 1u);
    bar_query bq;
    bq.symbol = "DEMO05";
    bq.until = clock->now();
    bq.max_bars = 1;
    const core::bar next = feed->bars(bq)->bars.at(0);
    BOOST_TEST(next.time_s == core::to_unix_seconds(utc(2024, 9, 3)));
    BOOST_TEST(b.fills()[0].price == next.open * (1 + 0.5 * q.relative_spread()), tt::tolerance(1e-12));
    BOOST_TEST(b.positions()->at(0).market_price == next.close);
    fills = b.fills();
  };
  std::vector<fill> f1, f2;
  double e1 = 0, e2 = 0;
  run(f1, e1);
  run(f2, e2);
  BOOST_REQUIRE(f1.size() == f2.size());
  BOOST_TEST(f1[0].price == f2[0].price);
  BOOST_TEST(e1 == e2);
}

namespace {
// A feed that fails for one symbol while `broken` is set, and otherwise asks the synthetic feed;
// it counts the bars queries.
class flaky_feed final : public feed {
 public:
  explicit flaky_feed(std::shared_ptr<feed> inner) : inner_(std::move(inner)) {}
  std::string broken;
  int bar_queries = 0;
  std::vector<std::string> symbols() const override { return inner_->symbols(); }
  tb::expected<bar_timing> timing(const std::string& s) const override { return inner_->timing(s); }
  tb::expected<core::bar_series> bars(const bar_query& q) override {
    ++bar_queries;
    if (q.symbol == broken) return tb::error{errc::unavailable, "feed down for " + q.symbol};
    return inner_->bars(q);
  }
  tb::expected<quote> latest_quote(const std::string& s) override { return inner_->latest_quote(s); }

 private:
  std::shared_ptr<feed> inner_;
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_failing_symbol_does_not_block_the_others) {
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 9, 4, 13, 30));
  auto flaky = std::make_shared<flaky_feed>(synthetic_feed::create(synthetic_config{}, clock).value());
  sim_broker b(sim_broker_config{}, clock, flaky);
  BOOST_TEST(!b.submit_limit_order(req("u", "NOT-IN-FEED", side::buy, 1, 10)).has_value());
  const double p1 = flaky->latest_quote("DEMO01").value().ask * 1.2;
  const double p2 = flaky->latest_quote("DEMO02").value().ask * 1.2;
  BOOST_REQUIRE(b.submit_limit_order(req("a", "DEMO01", side::buy, 1, p1)).has_value());
  BOOST_REQUIRE(b.submit_limit_order(req("b", "DEMO02", side::buy, 1, p2)).has_value());
  flaky->broken = "DEMO02";
  clock->advance(24h).value();
  auto open = b.open_orders();
  BOOST_REQUIRE(open.has_value());  // the call works
  BOOST_REQUIRE(open->size() == 1u);
  BOOST_TEST(open->at(0).symbol == "DEMO02");
  BOOST_REQUIRE(b.last_feed_error().has_value());
  BOOST_TEST((b.last_feed_error()->code == errc::unavailable));
  BOOST_TEST(b.fills().size() == 1u);
  flaky->broken.clear();
  BOOST_TEST(b.open_orders()->empty());  // caught up once the feed is back
  BOOST_TEST(!b.last_feed_error().has_value());
  BOOST_TEST(b.fills().size() == 2u);
}

BOOST_AUTO_TEST_CASE(calls_at_one_instant_ask_the_feed_once) {
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 9, 4, 13, 30));
  auto counted = std::make_shared<flaky_feed>(synthetic_feed::create(synthetic_config{}, clock).value());
  sim_broker b(sim_broker_config{}, clock, counted);
  const double limit = counted->latest_quote("DEMO01").value().bid * 0.5;  // never fills
  BOOST_REQUIRE(b.submit_limit_order(req("a", "DEMO01", side::buy, 1, limit)).has_value());
  clock->advance(24h).value();
  BOOST_REQUIRE(b.open_orders().has_value());
  const int after_first = counted->bar_queries;
  BOOST_TEST(after_first == 1);
  // The same instant: nothing new can have closed, the feed is not asked again.
  BOOST_REQUIRE(b.account().has_value());
  BOOST_REQUIRE(b.positions().has_value());
  BOOST_REQUIRE(b.submit_limit_order(req("b", "DEMO02", side::buy, 1, limit)).has_value());
  BOOST_REQUIRE(b.open_orders()->size() == 2u);
  BOOST_TEST(counted->bar_queries == after_first);
  // A failed catch-up is retried at the same instant.
  counted->broken = "DEMO01";
  clock->advance(24h).value();
  BOOST_REQUIRE(b.open_orders().has_value());
  BOOST_REQUIRE(b.last_feed_error().has_value());
  const int after_failure = counted->bar_queries;
  counted->broken.clear();
  BOOST_REQUIRE(b.open_orders().has_value());
  BOOST_TEST(counted->bar_queries > after_failure);
  BOOST_TEST(!b.last_feed_error().has_value());
}

BOOST_AUTO_TEST_CASE(config_validation) {
  BOOST_TEST(!validate(sim_broker_config{}).has_value());
  sim_broker_config c;
  c.initial_cash = 0.5;  // the bounds are the config rows' ([1, 1e12]), not a second set
  BOOST_TEST(validate(c).has_value());
  c.initial_cash = std::nan("");
  BOOST_TEST(validate(c).has_value());
  c = sim_broker_config{};
  c.crypto_fee_rate = 0.2;
  auto e = validate(c);
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST((e->code == errc::bad_config));
  BOOST_TEST(e->message.rfind("broker.crypto_fee_rate: 0.2 is out of range", 0) == 0u, e->message);
}
