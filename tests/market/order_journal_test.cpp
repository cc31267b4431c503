// market/order_journal and market/durable_sim_broker, the library pieces of the crash-safe order
// path: records survive a reopen, a torn last line is dropped, an intent is never journaled twice,
// client_order_id is a function of (symbol, bar, side, strategy); the durable sim broker comes
// back with the same orders, fills and cash, and still refuses a client_order_id it already took;
// over the synthetic feed its replay is the account it had, bit for bit, whatever the restart time.
// market/equity_log, the daemon's equity curve: marks survive a reopen, a re-run cycle's mark is
// not written twice, a torn last line is dropped (left in place when read-only), a corrupt line is
// an error naming file and line.
#define BOOST_TEST_MODULE order_journal
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>

#include "market/durable_sim_broker.hpp"
#include "market/equity_log.hpp"
#include "market/order_journal.hpp"
#include "market/symbols.hpp"
#include "market/synthetic_feed.hpp"
#include "tests/support/process.hpp"

using namespace tb;

namespace {

market::journal_record intent(const std::string& id, const std::string& sym) {
  market::journal_record r;
  r.kind = market::journal_kind::intent;
  r.client_order_id = id;
  r.order = {id, sym, market::side::buy, 3, 10.5, market::time_in_force::gtc};
  r.strategy = "simple";
  r.bar_time_s = 1719878400;
  r.at_unix_ns = 42;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_whole_record_without_its_newline_is_torn_too) {
  // The write stopped just before the newline: the record parses, but its append never returned.
  test::temp_dir dir;
  const auto path = (dir.path / "orders.jsonl").string();
  {
    auto j = market::order_journal::open(path);
    BOOST_REQUIRE(j);
    BOOST_TEST(!j->append(intent("A-1-buy-simple", "AAPL")));
  }
  std::ofstream(path, std::ios::app) << market::to_json_line(intent("B-1-buy-simple", "MSFT"));
  {
    auto j = market::order_journal::open(path);
    BOOST_REQUIRE_MESSAGE(j, (j ? "" : j.error().message));
    BOOST_TEST(j->warnings().size() == 1u);
    BOOST_TEST(!j->contains("B-1-buy-simple"));
    BOOST_TEST(!j->append(intent("C-1-buy-simple", "NVDA")));
  }
  // The next record started on a line of its own: the file reads back whole.
  auto again = market::order_journal::open(path);
  BOOST_REQUIRE_MESSAGE(again, (again ? "" : again.error().message));
  BOOST_TEST(again->warnings().empty());
  BOOST_TEST((again->order_of_intents() == std::vector<std::string>{"A-1-buy-simple", "C-1-buy-simple"}));
}

BOOST_AUTO_TEST_CASE(client_order_id_is_a_function_of_symbol_bar_side_strategy) {
  const auto a = market::client_order_id_for("BTC/USD", 1719878400, market::side::buy, "maxdiff");
  BOOST_TEST(a == "BTC_USD-1719878400-buy-maxdiff");
  BOOST_TEST(a == market::client_order_id_for("BTC/USD", 1719878400, market::side::buy, "maxdiff"));
  BOOST_TEST(a != market::client_order_id_for("BTC/USD", 1719878400, market::side::sell, "maxdiff"));
  BOOST_TEST(a != market::client_order_id_for("BTC/USD", 1719964800, market::side::buy, "maxdiff"));
  BOOST_TEST(a != market::client_order_id_for("BTC/USD", 1719878400, market::side::buy, "simple"));
}

BOOST_AUTO_TEST_CASE(records_survive_a_reopen_and_a_torn_line_is_dropped) {
  test::temp_dir dir;
  const auto path = (dir.path / "j" / "orders.jsonl").string();
  {
    auto j = market::order_journal::open(path);
    BOOST_REQUIRE(j);
    BOOST_TEST(!j->append(intent("A-1-buy-simple", "AAPL")));
    market::journal_record ack;
    ack.kind = market::journal_kind::ack;
    ack.client_order_id = "A-1-buy-simple";
    ack.broker_order_id = "sim-1";
    BOOST_TEST(!j->append(ack));
    BOOST_TEST(!j->append(intent("B-1-buy-simple", "MSFT")));
    // The same intent again is refused and writes nothing.
    auto dup = j->append(intent("A-1-buy-simple", "AAPL"));
    BOOST_REQUIRE(dup);
    BOOST_TEST((dup->code == errc::invalid_argument));
  }
  // A crash in the middle of a write leaves half a line.
  std::ofstream(path, std::ios::app) << "{\"kind\":\"fill\",\"client_order_id\":\"A-1-bu";
  auto j = market::order_journal::open(path);
  BOOST_REQUIRE_MESSAGE(j, (j ? "" : j.error().message));
  BOOST_TEST(j->records().size() == 3u);
  BOOST_TEST(j->warnings().size() == 1u);
  BOOST_TEST(j->entries().at("A-1-buy-simple").state == "acked");
  BOOST_TEST(j->entries().at("A-1-buy-simple").broker_order_id == "sim-1");
  BOOST_TEST(j->entries().at("B-1-buy-simple").state == "intent");
  BOOST_TEST(j->entries().at("B-1-buy-simple").intent.order.qty == 3);
  BOOST_TEST((j->order_of_intents() == std::vector<std::string>{"A-1-buy-simple", "B-1-buy-simple"}));
  // The next record starts on a line of its own.
  market::journal_record ab;
  ab.kind = market::journal_kind::abandoned;
  ab.client_order_id = "B-1-buy-simple";
  ab.reason = "never sent";
  BOOST_TEST(!j->append(ab));
  auto again = market::order_journal::open(path);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->warnings().empty());
  BOOST_TEST(again->entries().at("B-1-buy-simple").state == "abandoned");
  BOOST_TEST(again->entries().at("B-1-buy-simple").terminal());
}

BOOST_AUTO_TEST_CASE(a_corrupt_line_in_the_middle_is_an_error_naming_it) {
  test::temp_dir dir;
  auto path = dir.write("orders.jsonl", "{\"kind\":\"intent\"}\n{}\n");
  auto j = market::order_journal::open(path.string());
  BOOST_REQUIRE(!j);
  BOOST_TEST((j.error().code == errc::bad_data));
  BOOST_TEST(j.error().message.find("orders.jsonl:1") != std::string::npos, j.error().message);
}

BOOST_AUTO_TEST_CASE(durable_sim_broker_comes_back_with_its_account) {
  test::temp_dir dir;
  const auto ledger = (dir.path / "ledger.jsonl").string();
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1719878400));  // 2024-07-02
  const market::bar_timing daily{std::chrono::hours(24), market::bar_label::period_start};
  const core::bar next{1719878400, 0, 100, 101, 95, 99, 1000, 99000};
  double cash = 0;
  {
    auto b = market::durable_sim_broker::open({}, clock, nullptr, ledger);
    BOOST_REQUIRE(b);
    auto o =
        (*b)->submit_limit_order({"X-1-buy-simple", "AAPL", market::side::buy, 10, 97, market::time_in_force::gtc});
    BOOST_REQUIRE_MESSAGE(o, (o ? "" : o.error().message));
    (*b)->inner().process_bar("AAPL", next, daily);  // trades through 97: filled
    BOOST_TEST(((*(*b)->order_by_client_id("X-1-buy-simple"))->status == market::order_status::filled));
    cash = (*b)->account()->cash;
  }
  // Replayed: bars arrive again through process_bar (a feed would give them); the order and its
  // fill come back, and the client_order_id is still taken.
  auto b = market::durable_sim_broker::open({}, clock, nullptr, ledger);
  BOOST_REQUIRE(b);
  BOOST_TEST((*b)->replayed() == 1u);
  auto o = (*b)->order_by_client_id("X-1-buy-simple");
  BOOST_REQUIRE(o);
  BOOST_REQUIRE(*o);
  (*b)->inner().process_bar("AAPL", next, daily);
  BOOST_TEST(((*(*b)->order_by_client_id("X-1-buy-simple"))->status == market::order_status::filled));
  BOOST_TEST((*b)->account()->cash == cash);
  auto dup =
      (*b)->submit_limit_order({"X-1-buy-simple", "AAPL", market::side::buy, 10, 97, market::time_in_force::gtc});
  BOOST_TEST(!dup);
}

namespace {

// Everything a broker's account is made of, to compare a replayed one with the one that ran.
void require_same_account(market::durable_sim_broker& a, market::durable_sim_broker& b) {
  const auto acct_a = a.account().value(), acct_b = b.account().value();
  BOOST_TEST(acct_a.cash == acct_b.cash, acct_a.cash << " vs " << acct_b.cash);
  BOOST_TEST(acct_a.equity == acct_b.equity);
  BOOST_TEST(acct_a.buying_power == acct_b.buying_power);
  const auto pa = a.positions().value(), pb = b.positions().value();
  BOOST_REQUIRE_EQUAL(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    BOOST_TEST(pa[i].symbol == pb[i].symbol);
    BOOST_TEST(pa[i].qty == pb[i].qty, pa[i].symbol);
    BOOST_TEST(pa[i].avg_entry_price == pb[i].avg_entry_price, pa[i].symbol);
    BOOST_TEST(pa[i].market_price == pb[i].market_price, pa[i].symbol);
  }
  const auto oa = a.inner().all_orders(), ob = b.inner().all_orders();
  BOOST_REQUIRE_EQUAL(oa.size(), ob.size());
  for (std::size_t i = 0; i < oa.size(); ++i) {
    BOOST_TEST(oa[i].client_order_id == ob[i].client_order_id);
    BOOST_TEST(market::to_string(oa[i].status) == market::to_string(ob[i].status), oa[i].client_order_id);
    BOOST_TEST(oa[i].filled_qty == ob[i].filled_qty, oa[i].client_order_id);
    BOOST_TEST(oa[i].filled_avg_price == ob[i].filled_avg_price,
               oa[i].client_order_id << ": " << oa[i].filled_avg_price << " vs " << ob[i].filled_avg_price);
    BOOST_TEST((oa[i].updated_at == ob[i].updated_at), oa[i].client_order_id);
  }
  const auto& fa = a.inner().fills();
  const auto& fb = b.inner().fills();
  BOOST_REQUIRE_EQUAL(fa.size(), fb.size());
  for (std::size_t i = 0; i < fa.size(); ++i) {
    BOOST_TEST(fa[i].client_order_id == fb[i].client_order_id);
    BOOST_TEST(fa[i].price == fb[i].price, fa[i].client_order_id << ": " << fa[i].price << " vs " << fb[i].price);
    BOOST_TEST(fa[i].fee == fb[i].fee, fa[i].client_order_id);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(durable_sim_broker_replays_the_same_account_whatever_the_restart_time) {
  // Orders on the synthetic feed (its spread changes bar by bar) over two weeks, the account
  // caught up once a day; then the ledger replayed by brokers started at its last instant and 45
  // days later, on fresh feeds: the same orders, fills, prices and cash, bit for bit.
  test::temp_dir dir;
  const auto ledger = (dir.path / "ledger.jsonl").string();
  market::synthetic_config scfg;
  scfg.seed = 7;
  scfg.equity_count = 4;
  scfg.crypto_count = 1;
  const auto start = core::from_unix_seconds(1748876400);  // 2025-06-02T15:00Z, NYSE in session
  auto clock = std::make_shared<core::sim_clock>(start);
  auto feed = market::synthetic_feed::create(scfg, clock).value();
  auto live = market::durable_sim_broker::open({}, clock, feed, ledger).value();
  const auto names = market::synthetic_feed::symbol_names(scfg);
  for (int day = 0; day < 14; ++day) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string& sym = names[i];
      const auto q = feed->latest_quote(sym).value();
      const bool crypto = market::is_crypto(sym);
      double held = 0;
      // Held by value: value() of a temporary expected is a reference into it, which a range-for
      // over it would outlive.
      const auto positions = live->positions().value();
      for (const auto& p : positions)
        if (p.symbol == sym) held = p.qty;
      const std::string id = sym + "-" + std::to_string(day);
      if (held > 0 && (day + i) % 3 == 2) {
        // Through the bid: fills at the next open's bid, which depends on the spread.
        auto o = live->submit_limit_order(
            {id + "-sell", sym, market::side::sell, held, q.bid * 0.98, market::time_in_force::gtc});
        BOOST_REQUIRE_MESSAGE(o, (o ? "" : o.error().message));
      } else if (held == 0) {
        const double qty = crypto ? std::floor(3000 / q.ask * 1e6) / 1e6 : std::floor(3000 / q.ask);
        auto o = live->submit_limit_order(
            {id + "-buy", sym, market::side::buy, qty, q.ask * 1.02, market::time_in_force::gtc});
        BOOST_REQUIRE_MESSAGE(o, (o ? "" : o.error().message));
      }
    }
    // A day order far below the market (expires) and one canceled the next day.
    if (!market::is_crypto(names[day % 4])) {
      const auto q = feed->latest_quote(names[day % 4]).value();
      BOOST_REQUIRE(live->submit_limit_order({"day-" + std::to_string(day), names[day % 4], market::side::buy, 1.5,
                                              q.bid * 0.5, market::time_in_force::day}));
    }
    if (day > 0) {
      auto prev = live->order_by_client_id("keep-" + std::to_string(day - 1)).value();
      BOOST_REQUIRE(prev);
      BOOST_REQUIRE(live->cancel_order(prev->id));
    }
    BOOST_REQUIRE(live->submit_limit_order({"keep-" + std::to_string(day), names[0], market::side::buy, 1,
                                            feed->latest_quote(names[0])->bid * 0.5, market::time_in_force::gtc}));
    clock->advance(std::chrono::hours(24)).value();
    (void)live->account();  // catches up once a day
  }
  BOOST_TEST(live->inner().fills().size() > 20u);
  for (const auto later : {std::chrono::hours(0), std::chrono::hours(45 * 24)}) {
    clock->advance(later).value();
    auto restart_clock = std::make_shared<core::sim_clock>(clock->now());
    auto restart_feed = market::synthetic_feed::create(scfg, restart_clock).value();
    auto replayed = market::durable_sim_broker::open({}, restart_clock, restart_feed, ledger);
    BOOST_REQUIRE_MESSAGE(replayed, (replayed ? "" : replayed.error().message));
    BOOST_TEST((*replayed)->replayed() == live->inner().all_orders().size() + 13u);  // + the cancels
    require_same_account(*live, **replayed);
  }
}

BOOST_AUTO_TEST_CASE(equity_log_keeps_one_mark_per_instant_across_reopens) {
  test::temp_dir dir;
  const auto path = market::equity_log_path(dir.path.string());
  {
    auto l = market::equity_log::open(path);
    BOOST_REQUIRE_MESSAGE(l, (l ? "" : l.error().message));
    BOOST_TEST(l->marks().empty());
    BOOST_TEST(*l->record({100, 1000.5}));
    BOOST_TEST(*l->record({200, 1001.25}));
    BOOST_TEST(!*l->record({200, 999}));  // the same cycle again (a restart re-ran it): the first stands
    BOOST_TEST(!*l->record({150, 999}));
    BOOST_TEST(!l->record({300, std::nan("")}));
  }
  auto again = market::equity_log::open(path);
  BOOST_REQUIRE(again);
  BOOST_REQUIRE(again->marks().size() == 2u);
  BOOST_TEST(again->marks()[1].at_unix_ns == 200);
  BOOST_TEST(again->marks()[1].equity == 1001.25);
  BOOST_TEST(*again->record({300, 1002}));
  BOOST_TEST(again->marks().size() == 3u);
}

BOOST_AUTO_TEST_CASE(equity_log_drops_a_torn_last_line_and_names_a_corrupt_one) {
  test::temp_dir dir;
  const auto path = market::equity_log_path(dir.path.string());
  {
    auto l = market::equity_log::open(path);
    BOOST_REQUIRE(l);
    BOOST_REQUIRE(*l->record({100, 1000}));
  }
  std::ofstream(path, std::ios::app) << "{\"at_ns\":200,\"equ";  // a crash in the middle of a write
  // A reader beside the daemon leaves the torn line to the writer.
  auto reader = market::equity_log::open(path, market::jsonl_access::read_only);
  BOOST_REQUIRE(reader);
  BOOST_TEST(reader->marks().size() == 1u);
  BOOST_TEST(reader->warnings().size() == 1u);
  BOOST_TEST(!reader->record({300, 1}));  // read-only
  BOOST_TEST(test::read_file(path).find("\"equ") != std::string::npos);
  {
    auto l = market::equity_log::open(path);
    BOOST_REQUIRE(l);
    BOOST_REQUIRE(l->warnings().size() == 1u);
    BOOST_TEST(l->warnings()[0].find(path + ":2: torn last line") != std::string::npos, l->warnings()[0]);
    BOOST_TEST(*l->record({200, 1001}));  // on a line of its own
  }
  auto whole = market::equity_log::open(path);
  BOOST_REQUIRE(whole);
  BOOST_TEST(whole->marks().size() == 2u);

  // A corrupt line that is not the last: an error naming the file and the line, never a guess.
  std::ofstream(path, std::ios::app) << "not json\n{\"at_ns\":300,\"equity\":1}\n";
  auto bad = market::equity_log::open(path);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code == errc::bad_data);
  BOOST_TEST(bad.error().message.find(path + ":3: ") != std::string::npos, bad.error().message);
}
