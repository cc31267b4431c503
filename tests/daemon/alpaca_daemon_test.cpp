// The real tradebotd trading through Alpaca's APIs, against the fake Alpaca server of tests/support/fake_alpaca.hpp
// (HTTPS with a throwaway CA; the same JSON, statuses and headers as Alpaca):
// market.feed = "alpaca" and broker.kind = "alpaca" on the wall clock, keys from the environment.
// The start pass analyses the crypto symbols at once (NYSE hours do not matter), so each case
// takes seconds. Bars: a steady uptrend, so buy_hold passes the gates and the portfolio buys.
// And the broker actor in-process over alpaca_broker: a partial fill the replacement cancels.
#define BOOST_TEST_MODULE alpaca_daemon
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/broker_actor.hpp"
#include "core/clock.hpp"
#include "market/alpaca.hpp"
#include "tests/support/alpaca_fixture.hpp"
#include "tests/support/daemon_process.hpp"

using namespace tb;
using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
// tradebotd with the broker actor's fault seam (tests/support/broker_faults.hpp), test builds only.
const std::string faults_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd_faults";
const std::vector<std::string> pairs = {"BTCUSD", "ETHUSD"};

// 120 daily bars, the last one opening at `last_open_s`, rising 3 % a day.
std::vector<core::bar> uptrend(double first_close, std::int64_t last_open_s) {
  std::vector<core::bar> out;
  double close = first_close;
  for (int i = 119; i >= 0; --i) {
    core::bar b;
    b.time_s = last_open_s - i * 86400;  // Alpaca stamps a bar with its open
    b.open = close;
    close *= 1.03;
    b.close = close;
    b.high = close * 1.005;
    b.low = b.open * 0.995;
    b.volume = 1000;
    out.push_back(b);
  }
  return out;
}

// The crypto bar that closed at the last 00:00 UTC opened a day before it.
std::int64_t yesterday_utc() {
  const auto now_s = core::to_unix_seconds(std::chrono::system_clock::now());
  return now_s - now_s % 86400 - 86400;
}

struct alpaca_world {
  pki_fixture pki;
  fake_alpaca server{pki.server_options()};

  alpaca_world() {
    server.add_bars("BTC/USD", uptrend(30000, yesterday_utc()));
    server.add_bars("ETH/USD", uptrend(2000, yesterday_utc()));
    server.set_quote("BTC/USD", 1e6 - 50, 1e6 + 50);
    server.set_quote("ETH/USD", 1e5 - 5, 1e5 + 5);
  }

  std::string config(const std::string& state_dir) const {
    return small_trading_config(state_dir,
                                "[market]\nfeed = \"alpaca\"\nclock = \"wall\"\n[broker]\nkind = \"alpaca\"\n"
                                "[alpaca]\ntrading_url = \"" +
                                    server.url() + "\"\ndata_url = \"" + server.url() + "\"\nca_file = \"" +
                                    pki.trusted.ca_cert + "\"\ntimeout_s = 5\n",
                                "\"BTCUSD\", \"ETHUSD\"");
  }
  static std::map<std::string, std::string> keys(std::map<std::string, std::string> env = {}) {
    env["APCA_API_KEY_ID"] = test_key_id;
    env["APCA_API_SECRET_KEY"] = test_secret;
    return env;
  }

  // client_order_id -> how many times it was POSTed to /v2/orders.
  std::map<std::string, int> posted() const {
    std::map<std::string, int> out;
    for (const auto& r : server.requests())
      if (r.method == "POST" && r.target == "/v2/orders") ++out[json::parse(r.body).value("client_order_id", "")];
    return out;
  }
};

std::vector<json> journal_of(const std::filesystem::path& dir, const std::string& name = "broker/orders.jsonl") {
  std::vector<json> out;
  std::ifstream in(dir / name);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

bool first_cycle_closed(const json& s) { return s.contains("portfolio") && s["portfolio"].value("cycles", 0) >= 1; }

}  // namespace

BOOST_AUTO_TEST_CASE(trades_through_alpaca_data_and_trading_apis) {
  alpaca_world w;
  temp_dir state;
  // The first data request gets a 503 and the second a 429: both are retried.
  fault unavailable, too_many;
  unavailable.status = 503;
  too_many.status = 429;
  too_many.retry_after = "0";
  w.server.fail_next(1, unavailable);
  w.server.fail_next(1, too_many);
  daemon_process d(daemon_bin, w.config(state.path.string()), alpaca_world::keys());
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  auto s = d.stats_until(first_cycle_closed, 60s);
  BOOST_REQUIRE_MESSAGE(first_cycle_closed(s), d.proc->output() << "\n" << s.dump().substr(0, 4000));
  BOOST_TEST_MESSAGE("portfolio: " << s["portfolio"].dump() << "\nBTCUSD: " << s["symbols"]["BTCUSD"].dump());

  // The bars came from the data API, authorized, for both pairs, with the latest quotes.
  std::set<std::string> bar_symbols, quote_symbols;
  for (const auto& r : w.server.requests()) {
    BOOST_TEST(r.authorized, r.target);
    if (r.target.find("/v1beta3/crypto/us/bars") == 0)
      bar_symbols.insert(r.target.find("BTC") != std::string::npos ? "BTC" : "ETH");
    if (r.target.find("/v1beta3/crypto/us/latest/quotes") == 0)
      quote_symbols.insert(r.target.find("BTC") != std::string::npos ? "BTC" : "ETH");
  }
  BOOST_TEST(bar_symbols.size() == 2u);
  BOOST_TEST(quote_symbols.size() == 2u);
  BOOST_TEST(s["feed"]["source"] == "alpaca");
  BOOST_TEST(s["feed"]["failures"] == 0);
  for (const auto& sym : pairs) {
    BOOST_TEST(s["symbols"][sym]["bars_held"].get<int>() >= 24 + 8 + 1, s["symbols"][sym].dump());
    BOOST_TEST(s["symbols"][sym]["state"] == "ok", s["symbols"][sym].dump());
  }

  // Buys were submitted as limit orders, journaled before the POST and acknowledged with
  // Alpaca's order id; each client_order_id was POSTed once.
  auto posted = w.posted();
  BOOST_TEST(posted.size() >= 1u, s["portfolio"].dump());
  for (const auto& [cid, n] : posted) BOOST_TEST(n == 1, cid);
  std::map<std::string, std::string> acked;  // client_order_id -> broker id
  std::set<std::string> intents;
  for (const auto& r : journal_of(state.path)) {
    if (r["kind"] == "intent") intents.insert(r["client_order_id"].get<std::string>());
    if (r["kind"] == "ack") acked[r["client_order_id"]] = r["broker_order_id"];
  }
  for (const auto& [cid, n] : posted) {
    BOOST_TEST(intents.count(cid) == 1u, cid);
    BOOST_TEST(!acked[cid].empty(), cid);
  }
  const auto health = d.get("/health");
  BOOST_TEST(health["checks"]["symbols"]["status"] == "ok", health.dump());
  BOOST_TEST(health["checks"]["broker"]["status"] == "ok", health.dump());
  // The keys are never logged.
  BOOST_TEST(d.stop() == 0, d.proc->output());
  BOOST_TEST(d.proc->output().find(test_secret) == std::string::npos);
  BOOST_TEST(d.proc->output().find(test_key_id) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(killed_after_the_post_restarted_the_order_is_reconciled_not_sent_again) {
  alpaca_world w;
  temp_dir state;
  {
    // SIGKILL right after the first submit returned, before its acknowledgement is journaled.
    daemon_process d(faults_bin, w.config(state.path.string()),
                     alpaca_world::keys({{"TRADEBOTD_FAULT", "kill_after_submit:1"}}));
    BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
    const int status = d.proc->wait(60s);
    BOOST_REQUIRE_MESSAGE(status == 128 + SIGKILL, "status " << status << "\n" << d.proc->output());
  }
  const auto before = w.posted();
  BOOST_REQUIRE_EQUAL(before.size(), 1u);
  const std::string cid = before.begin()->first;
  daemon_process d(daemon_bin, w.config(state.path.string()), alpaca_world::keys());
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  auto s = d.stats_until(first_cycle_closed, 60s);
  BOOST_REQUIRE_MESSAGE(first_cycle_closed(s), d.proc->output());
  BOOST_TEST_MESSAGE("after restart: " << s["broker"].dump());
  // Found at Alpaca by its client_order_id at start, acknowledged in the journal; the start pass
  // decided the same order again and the journal refused to send it twice.
  BOOST_TEST(s["broker"]["reconciled_at_start"]["found_at_broker"] == 1, s["broker"].dump());
  BOOST_TEST(w.posted().at(cid) == 1);
  int intents = 0, acks = 0;
  for (const auto& r : journal_of(state.path))
    if (r["client_order_id"] == cid) {
      intents += r["kind"] == "intent";
      acks += r["kind"] == "ack";
    }
  BOOST_TEST(intents == 1);
  BOOST_TEST(acks == 1);
  BOOST_TEST(s["broker"]["duplicates_refused"].get<int>() >= 1, s["broker"].dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());
}

BOOST_AUTO_TEST_CASE(missing_keys_are_a_clear_startup_error) {
  alpaca_world w;
  temp_dir state;
  daemon_process d(daemon_bin, w.config(state.path.string()));
  BOOST_TEST(d.proc->wait(30s) != 0);
  BOOST_TEST(d.proc->output().find("APCA_API_KEY_ID") != std::string::npos, d.proc->output());
  // --check says so too (exit 2), and passes with the keys.
  child_process check({daemon_bin, "--config", d.config.string(), "--check"}, {}, d.dir.path / "check.log");
  BOOST_TEST(check.wait(30s) == 2);
  BOOST_TEST(check.output().find("APCA_API_KEY_ID") != std::string::npos, check.output());
  child_process ok({daemon_bin, "--config", d.config.string(), "--check"}, alpaca_world::keys(), d.dir.path / "ok.log");
  BOOST_TEST(ok.wait(30s) == 0, ok.output());
}

// The broker actor in-process over alpaca_broker against the fake server, journal in a temp folder.
struct broker_over_alpaca {
  alpaca_world w;
  temp_dir state;
  market::alpaca_broker_options options;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  actors::broker_actor actor;

  broker_over_alpaca() {
    options.url = w.server.url();
    options.http = w.pki.client_options(w.server);
    auto broker = alpaca();
    actors::register_types(sys_cfg);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    actor = actors::spawn_broker_actor(self->ptr(), {std::move(broker),
                                                     (state.path / "orders.jsonl").string(),
                                                     std::make_shared<core::wall_clock>(),
                                                     std::make_shared<core::snapshot_board>(),
                                                     std::make_shared<actors::config>(),
                                                     {}});
  }
  ~broker_over_alpaca() {
    (*self)->request(actor, 10s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
  }
  // A client of the fake server of its own (the test's view of the account).
  std::shared_ptr<market::alpaca_broker> alpaca() const {
    auto b = market::alpaca_broker::create(market::alpaca_credentials(test_key_id, test_secret), options);
    BOOST_REQUIRE(b);
    return std::move(*b);
  }
  std::vector<actors::order_outcome> submit(const std::vector<actors::order_intent>& intents) {
    std::vector<actors::order_outcome> out;
    (*self)
        ->request(actor, 30s, actors::submit_atom::value, intents)
        .receive([&](const std::vector<actors::order_outcome>& o) { out = o; },
                 [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    return out;
  }
};

BOOST_AUTO_TEST_CASE(a_partly_filled_order_that_is_replaced_journals_the_filled_part) {
  broker_over_alpaca t;
  auto submit = [&](const actors::order_intent& in) { return std::string(to_string(t.submit({in}).at(0).status)); };
  actors::order_intent first{"ETHUSD-1-buy-maxdiff", "ETHUSD", 1, 2.0, 3000.0, "maxdiff", 1};
  BOOST_REQUIRE_EQUAL(submit(first), "accepted");
  auto order = t.alpaca()->order_by_client_id(first.client_order_id);
  BOOST_REQUIRE(order && *order);
  BOOST_REQUIRE(t.w.server.fill((*order)->id, 2999.5, 0.75));  // 0.75 of 2 filled, still open
  // The next order of the symbol replaces the working one: canceled after filling 0.75.
  actors::order_intent second{"ETHUSD-2-buy-maxdiff", "ETHUSD", 1, 1.25, 2990.0, "maxdiff", 2};
  BOOST_REQUIRE_EQUAL(submit(second), "accepted");
  std::vector<std::string> kinds;
  double filled = 0, price = 0;
  for (const auto& r : journal_of(t.state.path, "orders.jsonl"))
    if (r["client_order_id"] == first.client_order_id) {
      kinds.push_back(r["kind"]);
      if (r["kind"] == "fill") {
        filled = r["qty"];
        price = r["price"];
      }
    }
  BOOST_TEST((kinds == std::vector<std::string>{"intent", "ack", "fill", "closed"}));
  BOOST_TEST(filled == 0.75);
  BOOST_TEST(price == 2999.5);
}

BOOST_AUTO_TEST_CASE(a_fill_that_races_an_asynchronous_cancel_is_journaled) {
  // Alpaca cancels asynchronously: DELETE leaves the order pending_cancel, and the exchange may
  // still fill it. The journal must not close it as canceled before Alpaca does.
  broker_over_alpaca t;
  t.w.server.set_asynchronous_cancels(true);
  auto submit = [&](const actors::order_intent& in) { return std::string(to_string(t.submit({in}).at(0).status)); };
  auto records_of = [&](const std::string& id) {
    std::vector<nlohmann::json> out;
    for (const auto& r : journal_of(t.state.path, "orders.jsonl"))
      if (r["client_order_id"] == id) out.push_back(r);
    return out;
  };
  auto kinds_of = [&](const std::string& id) {
    std::vector<std::string> kinds;
    for (const auto& r : records_of(id)) kinds.push_back(r["kind"]);
    return kinds;
  };
  auto reconcile = [&] {
    (*t.self)
        ->request(t.actor, 30s, actors::broker_state_atom::value)
        .receive([](const actors::broker_state& b) { BOOST_TEST(b.ok, b.error); },
                 [&](caf::error& e) { BOOST_FAIL(t.sys->render(e)); });
  };
  actors::order_intent first{"ETHUSD-1-buy-maxdiff", "ETHUSD", 1, 2.0, 3000.0, "maxdiff", 1};
  BOOST_REQUIRE_EQUAL(submit(first), "accepted");
  auto order = t.alpaca()->order_by_client_id(first.client_order_id);
  BOOST_REQUIRE(order && *order);
  // The next order of the symbol asks Alpaca to cancel the first: pending_cancel, not final.
  actors::order_intent second{"ETHUSD-2-buy-maxdiff", "ETHUSD", 1, 1.25, 2990.0, "maxdiff", 2};
  BOOST_REQUIRE_EQUAL(submit(second), "accepted");
  BOOST_TEST((kinds_of(first.client_order_id) == std::vector<std::string>{"intent", "ack"}));
  reconcile();  // still pending_cancel: nothing to write
  BOOST_TEST((kinds_of(first.client_order_id) == std::vector<std::string>{"intent", "ack"}));
  // The exchange fills it before the cancel lands: the fill is journaled, whole.
  BOOST_REQUIRE(t.w.server.fill((*order)->id, 2999.5));
  reconcile();
  const auto recs = records_of(first.client_order_id);
  BOOST_TEST((kinds_of(first.client_order_id) == std::vector<std::string>{"intent", "ack", "fill"}));
  BOOST_REQUIRE_EQUAL(recs.size(), 3u);
  BOOST_TEST(recs[2]["qty"].get<double>() == 2.0);
  BOOST_TEST(recs[2]["price"].get<double>() == 2999.5);
  // A cancel that Alpaca completes is closed once it has.
  actors::order_intent third{"ETHUSD-3-buy-maxdiff", "ETHUSD", 1, 1.0, 2980.0, "maxdiff", 3};
  BOOST_REQUIRE_EQUAL(submit(third), "accepted");  // asks to cancel the second
  BOOST_TEST((kinds_of(second.client_order_id) == std::vector<std::string>{"intent", "ack"}));
  t.w.server.settle_cancels();
  reconcile();
  BOOST_TEST((kinds_of(second.client_order_id) == std::vector<std::string>{"intent", "ack", "closed"}));
  BOOST_TEST(records_of(second.client_order_id).back()["reason"] == "canceled");
}

BOOST_AUTO_TEST_CASE(a_state_query_takes_working_orders_from_the_open_orders_not_one_lookup_each) {
  broker_over_alpaca t;
  auto& self = *t.self;
  auto& actor = t.actor;
  auto& sys = *t.sys;
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const auto& r : t.w.server.requests())
      if (r.method == "GET" && r.target.rfind(prefix, 0) == 0) ++n;
    return n;
  };
  // Once the actor answers, its start (reconciling the journal) is done.
  self->request(actor, 30s, actors::heartbeat_atom::value)
      .receive([](actors::heartbeat_atom, std::uint64_t) {}, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  const int at_start = count("/v2/orders?status=open");
  // Two working orders in one batch: the open orders are fetched once for it.
  std::vector<actors::order_intent> batch = {{"ETHUSD-1-buy-maxdiff", "ETHUSD", 1, 1.0, 3000.0, "maxdiff", 1},
                                             {"BTCUSD-1-buy-maxdiff", "BTCUSD", 1, 0.1, 50000.0, "maxdiff", 1}};
  const auto out = t.submit(batch);
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  for (const auto& x : out) BOOST_TEST((x.status == actors::submit_status::accepted), x.error);
  BOOST_TEST(count("/v2/orders?status=open") == at_start + 1);
  // Both are still working: two state queries reconcile them from the open orders alone.
  for (int i = 0; i < 2; ++i)
    self->request(actor, 30s, actors::broker_state_atom::value)
        .receive(
            [](const actors::broker_state& b) {
              BOOST_TEST(b.ok, b.error);
              BOOST_TEST(b.open_orders == 2u);
            },
            [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  BOOST_TEST(count("/v2/orders:by_client_order_id") == 0);
  BOOST_TEST(count("/v2/orders?status=open") == at_start + 3);
}

BOOST_AUTO_TEST_CASE(equities_on_a_simulated_clock_over_alpaca_bars_trade_whole_shares_on_the_tick) {
  // A backtest over Alpaca's history: the simulated clock runs Monday 2025-06-02's schedule
  // (open pass 13:30Z, midday 14:30Z, back-out 19:00Z) over daily stock bars stamped at New York
  // midnight (04:00Z), through the same fake data and trading APIs.
  alpaca_world w;
  w.server.add_bars("AAPL", uptrend(1.2345, 1748664000));  // 2025-05-31T04:00Z
  w.server.set_quote("AAPL", 40.0, 40.02);
  temp_dir state;
  std::string cfg = w.config(state.path.string());
  cfg.replace(cfg.find("symbols = [\"BTCUSD\", \"ETHUSD\"]"), std::string("symbols = [\"BTCUSD\", \"ETHUSD\"]").size(),
              "symbols = [\"AAPL\"]");
  cfg.replace(cfg.find("clock = \"wall\""), std::string("clock = \"wall\"").size(),
              "clock = \"simulated\"\nsim_start = \"2025-06-02T12:00:00Z\"\nsim_end = \"2025-06-02T20:00:00Z\"");
  daemon_process d(daemon_bin, cfg, alpaca_world::keys());
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  auto s = d.stats_until([](const json& j) { return j.contains("schedule") && j["schedule"].value("finished", false); },
                         60s);
  BOOST_REQUIRE_MESSAGE(s["schedule"].value("finished", false), d.proc->output() << "\n" << s.dump().substr(0, 3000));
  BOOST_TEST(s["schedule"]["cycles"] == 3, s["schedule"].dump());
  BOOST_TEST(s["symbols"]["AAPL"]["state"] == "ok", s["symbols"]["AAPL"].dump());
  bool stock_bars = false;
  std::vector<json> orders;
  for (const auto& r : w.server.requests()) {
    stock_bars =
        stock_bars || (r.target.find("/v2/stocks/bars?") == 0 && r.target.find("feed=iex") != std::string::npos);
    if (r.method == "POST" && r.target == "/v2/orders") orders.push_back(json::parse(r.body));
  }
  BOOST_TEST(stock_bars);
  // One buy (the same decision on the later passes is the same client_order_id: not sent again),
  // whole shares, gtc, its limit on the cent grid (the fake refuses more decimals, as Alpaca does).
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  const auto& o = orders[0];
  BOOST_TEST(o["symbol"] == "AAPL");
  BOOST_TEST(o["side"] == "buy");
  BOOST_TEST(o["time_in_force"] == "gtc");
  const std::string qty = o["qty"], limit = o["limit_price"];
  BOOST_TEST(qty.find('.') == std::string::npos, qty);
  BOOST_TEST((limit.find('.') == std::string::npos || limit.size() - limit.find('.') - 1 <= 2), limit);
  BOOST_TEST(s["broker"]["accepted"] == 1, s["broker"].dump());
  // The journal holds the price that was sent (the portfolio rounds before journaling).
  for (const auto& r : journal_of(state.path))
    if (r["kind"] == "intent") BOOST_TEST(r["limit_price"].get<double>() == std::stod(limit), r.dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());
}
