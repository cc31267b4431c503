// market/alpaca against the fake Alpaca server on 127.0.0.1 (HTTPS, test CA): credentials, stock
// and crypto bars with pagination, symbol mapping, quotes -> spread, the broker (account,
// positions, submit, list, lookup, cancel), tick rounding, time in force, duplicate
// client_order_id, a submit whose answer timed out, paper vs live, keys never in errors or logs.
#define BOOST_TEST_MODULE alpaca
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

#include "core/calendar.hpp"
#include "market/alpaca.hpp"
#include "tests/support/alpaca_fixture.hpp"

using namespace tb;
using namespace tb::market;
using namespace tb::test;
using namespace std::chrono_literals;
namespace tt = boost::test_tools;

namespace {

pki_fixture& pki() {
  static pki_fixture f;
  return f;
}

alpaca_credentials creds() { return alpaca_credentials(test_key_id, test_secret); }

core::time_point utc(int y, int mo, int d, int h = 0) {
  return core::from_unix_seconds(core::days_from_civil({y, mo, d}) * 86400 + h * 3600);
}

// `n` bars `period` apart from `first`, closes 100, 101, ...
std::vector<core::bar> make_bars(core::time_point first, core::duration period, int n) {
  std::vector<core::bar> out;
  for (int i = 0; i < n; ++i) {
    core::bar b;
    b.time_s = core::to_unix_seconds(first + i * period);
    b.open = 100 + i - 0.5;
    b.high = 100 + i + 1;
    b.low = 100 + i - 1;
    b.close = 100 + i;
    b.volume = 1000 + i;
    b.amount = b.volume * (b.close - 0.25);
    out.push_back(b);
  }
  return out;
}

std::unique_ptr<alpaca_feed> make_feed(const fake_alpaca& server, const core::clock& clock,
                                       std::vector<std::string> symbols, core::duration period, int page_limit) {
  alpaca_feed_options o;
  o.url = server.url();
  o.http = pki().client_options(server);
  o.symbols = std::move(symbols);
  o.bar_period = period;
  o.page_limit = page_limit;
  auto f = alpaca_feed::create(clock, creds(), o);
  BOOST_TEST_REQUIRE(f.has_value(), (f ? "" : f.error().message));
  return std::move(*f);
}

std::unique_ptr<alpaca_broker> make_broker(const fake_alpaca& server, https_options http = {}) {
  alpaca_broker_options o;
  o.url = server.url();
  o.http = http.url.empty() ? pki().client_options(server) : http;
  auto b = alpaca_broker::create(creds(), o);
  BOOST_TEST_REQUIRE(b.has_value(), (b ? "" : b.error().message));
  return std::move(*b);
}

std::size_t count_path(const fake_alpaca& server, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& r : server.requests())
    if (r.target.rfind(prefix, 0) == 0) ++n;
  return n;
}

order_request req(const std::string& id, const std::string& sym, side s, double qty, double limit, time_in_force tif) {
  return {id, sym, s, qty, limit, tif};
}

}  // namespace

BOOST_AUTO_TEST_CASE(credentials_from_environment_or_systemd) {
  std::map<std::string, std::string> env;
  const env_lookup lookup = [&](const std::string& k) -> std::optional<std::string> {
    const auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto c = load_alpaca_credentials(lookup);
  BOOST_TEST_REQUIRE(!c.has_value());
  BOOST_TEST(c.error().code == errc::bad_config);
  BOOST_TEST(c.error().message.find("APCA_API_KEY_ID") != std::string::npos);

  env["APCA_API_KEY_ID"] = "AKENVKEY";
  c = load_alpaca_credentials(lookup);
  BOOST_TEST_REQUIRE(!c.has_value());  // half a pair
  BOOST_TEST(c.error().message.find("APCA_API_SECRET_KEY") != std::string::npos);
  BOOST_TEST(c.error().message.find("AKENVKEY") == std::string::npos);

  env["APCA_API_SECRET_KEY"] = "envsecret\n";
  c = load_alpaca_credentials(lookup);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->key_id() == "AKENVKEY");
  BOOST_TEST(c->secret_key() == "envsecret");

  // systemd credentials win when both files are there.
  temp_dir dir;
  std::ofstream(dir.path / "alpaca_key_id") << "AKCREDKEY\n";
  std::ofstream(dir.path / "alpaca_secret_key") << "credsecret\n";
  env["CREDENTIALS_DIRECTORY"] = dir.path.string();
  c = load_alpaca_credentials(lookup);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->key_id() == "AKCREDKEY");
  BOOST_TEST(c->secret_key() == "credsecret");

  std::ofstream(dir.path / "alpaca_secret_key", std::ios::trunc) << "has space\n";
  c = load_alpaca_credentials(lookup);
  BOOST_TEST_REQUIRE(!c.has_value());
  BOOST_TEST(c.error().message.find("has space") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(stock_bars_follow_pagination) {
  fake_alpaca server(pki().server_options());
  const auto first = utc(2024, 3, 1);
  server.add_bars("AAPL", make_bars(first, 24h, 25));
  // The clock sits 12 h into the day after the last bar's day: bars 0..23 have closed, 24 has not.
  core::sim_clock clock(first + 24 * 24h + 12h);
  auto feed = make_feed(server, clock, {"AAPL"}, 24h, 7);

  auto s = feed->bars({"AAPL", clock.now(), std::nullopt, 0});
  BOOST_TEST_REQUIRE(s.has_value(), (s ? "" : s.error().message));
  BOOST_TEST(s->symbol == "AAPL");
  BOOST_TEST_REQUIRE(s->bars.size() == 24u);
  for (std::size_t i = 0; i < s->bars.size(); ++i) {
    BOOST_TEST(s->bars[i].time_s == core::to_unix_seconds(first + static_cast<int>(i) * 24h));
    BOOST_TEST(s->bars[i].close == 100.0 + static_cast<double>(i));
  }
  BOOST_TEST(s->bars[3].amount == s->bars[3].volume * (s->bars[3].close - 0.25), tt::tolerance(1e-9));
  BOOST_TEST(count_path(server, "/v2/stocks/bars") == 4u);  // 7 + 7 + 7 + 3
  for (const auto& r : server.requests()) {
    BOOST_TEST(r.target.find("feed=iex") != std::string::npos);
    BOOST_TEST(r.target.find("timeframe=1Day") != std::string::npos);
    BOOST_TEST(r.authorized);
  }
  BOOST_TEST(server.requests().back().target.find("page_token=pg-21") != std::string::npos);

  // Incremental: only bars that closed after the last one seen.
  const auto seen_close = first + 21 * 24h;  // bar 20 closes here
  auto inc = feed->bars({"AAPL", clock.now(), seen_close, 0});
  BOOST_TEST_REQUIRE(inc.has_value());
  BOOST_TEST_REQUIRE(inc->bars.size() == 3u);  // bars 21, 22, 23
  BOOST_TEST(inc->bars.front().close == 121.0);

  // The newest 5: asked newest first, one page, returned oldest first.
  const auto before = server.request_count();
  auto last5 = feed->bars({"AAPL", clock.now(), std::nullopt, 5});
  BOOST_TEST_REQUIRE(last5.has_value());
  BOOST_TEST_REQUIRE(last5->bars.size() == 5u);
  BOOST_TEST(last5->bars.front().close == 119.0);
  BOOST_TEST(last5->bars.back().close == 123.0);
  BOOST_TEST(server.request_count() - before == 1u);
  BOOST_TEST(server.requests().back().target.find("sort=desc") != std::string::npos);

  BOOST_TEST(!feed->bars({"MSFT", clock.now(), std::nullopt, 0}).has_value());  // not configured
}

BOOST_AUTO_TEST_CASE(crypto_bars_map_symbols) {
  fake_alpaca server(pki().server_options());
  const auto first = utc(2024, 3, 1);
  server.add_bars("BTC/USD", make_bars(first, 1h, 10));
  core::sim_clock clock(first + 10h);
  auto feed = make_feed(server, clock, {"BTCUSD"}, 1h, 4);
  BOOST_TEST(feed->symbols() == std::vector<std::string>{"BTCUSD"});
  auto tm = feed->timing("BTCUSD");
  BOOST_TEST_REQUIRE(tm.has_value());
  BOOST_TEST((tm->period == core::duration(1h)));
  BOOST_TEST((tm->label == bar_label::period_start));

  auto s = feed->bars({"BTCUSD", clock.now(), std::nullopt, 0});
  BOOST_TEST_REQUIRE(s.has_value(), (s ? "" : s.error().message));
  BOOST_TEST(s->symbol == "BTCUSD");
  BOOST_TEST(s->bars.size() == 10u);
  BOOST_TEST(count_path(server, "/v1beta3/crypto/us/bars") == 3u);
  const auto r = server.requests().front();
  BOOST_TEST(r.target.find("symbols=BTC%2FUSD") != std::string::npos, r.target);
  BOOST_TEST(r.target.find("timeframe=1Hour") != std::string::npos, r.target);
  BOOST_TEST(r.target.find("feed=") == std::string::npos, r.target);

  BOOST_TEST(to_alpaca_symbol("btcusd") == "BTC/USD");
  BOOST_TEST(to_alpaca_symbol("BTC/USD") == "BTC/USD");
  BOOST_TEST(to_alpaca_symbol("AAPL") == "AAPL");
  BOOST_TEST(to_alpaca_symbol("USD") == "USD");  // the ETF
  BOOST_TEST(from_alpaca_symbol("SUI/USD") == "SUIUSD");
  BOOST_TEST(alpaca_feed::timeframe_of(15min).value() == "15Min");
  BOOST_TEST(alpaca_feed::timeframe_of(4h).value() == "4Hour");
  BOOST_TEST(!alpaca_feed::timeframe_of(90s).has_value());
}

BOOST_AUTO_TEST_CASE(latest_quotes_give_the_spread) {
  fake_alpaca server(pki().server_options());
  server.set_quote("AAPL", 189.90, 190.10);
  server.set_quote("BTC/USD", 59970, 60030);
  server.set_quote("ETH/USD", 0, 3000);  // one-sided
  core::sim_clock clock(utc(2024, 3, 1));
  auto feed = make_feed(server, clock, {"AAPL", "BTCUSD", "ETHUSD", "MSFT"}, 24h, 1000);

  auto q = feed->latest_quote("AAPL");
  BOOST_TEST_REQUIRE(q.has_value(), (q ? "" : q.error().message));
  BOOST_TEST(q->bid == 189.90);
  BOOST_TEST(q->ask == 190.10);
  BOOST_TEST(q->relative_spread() == 0.2 / 190.0, tt::tolerance(1e-9));
  BOOST_TEST(server.requests().back().target.find("/v2/stocks/quotes/latest?symbols=AAPL&feed=iex") == 0u);

  q = feed->latest_quote("BTCUSD");
  BOOST_TEST_REQUIRE(q.has_value(), (q ? "" : q.error().message));
  BOOST_TEST(q->relative_spread() == 60.0 / 60000.0, tt::tolerance(1e-9));
  BOOST_TEST(server.requests().back().target.find("/v1beta3/crypto/us/latest/quotes?symbols=BTC%2FUSD") == 0u);

  q = feed->latest_quote("ETHUSD");
  BOOST_TEST_REQUIRE(!q.has_value());
  BOOST_TEST(q.error().code == errc::unavailable);
  q = feed->latest_quote("MSFT");  // Alpaca has none
  BOOST_TEST_REQUIRE(!q.has_value());
  BOOST_TEST(q.error().code == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(broker_submit_list_lookup_cancel) {
  fake_alpaca server(pki().server_options());
  server.set_position("AAPL", 10, 150, 190);
  server.set_position("BTC/USD", 0.5, 50000, 60000);
  server.set_position("TSLA", -3, 200, 180);
  auto broker = make_broker(server);
  BOOST_TEST(!broker->live());

  auto acct = broker->account();
  BOOST_TEST_REQUIRE(acct.has_value(), (acct ? "" : acct.error().message));
  BOOST_TEST(acct->cash == 100000.0);
  BOOST_TEST(acct->equity == 100000.0 + 1900 + 30000 - 540, tt::tolerance(1e-9));

  auto pos = broker->positions();
  BOOST_TEST_REQUIRE(pos.has_value());
  BOOST_TEST_REQUIRE(pos->size() == 3u);
  BOOST_TEST((*pos)[1].symbol == "BTCUSD");
  BOOST_TEST((*pos)[1].qty == 0.5);
  BOOST_TEST((*pos)[1].avg_entry_price == 50000.0);
  BOOST_TEST((*pos)[1].market_price == 60000.0);
  BOOST_TEST((*pos)[2].qty == -3.0);

  auto o = broker->submit_limit_order(req("cyc1-AAPL-buy", "AAPL", side::buy, 10, 190.057, time_in_force::gtc));
  BOOST_TEST_REQUIRE(o.has_value(), (o ? "" : o.error().message));
  BOOST_TEST(o->client_order_id == "cyc1-AAPL-buy");
  BOOST_TEST(o->limit_price == 190.05);  // a buy rounds down to the cent
  BOOST_TEST((o->status == order_status::open));
  BOOST_TEST((o->tif == time_in_force::gtc));
  const std::string body = server.requests().back().body;
  BOOST_TEST(body.find(R"("limit_price":"190.05")") != std::string::npos, body);
  BOOST_TEST(body.find(R"("type":"limit")") != std::string::npos, body);
  BOOST_TEST(body.find(R"("qty":"10")") != std::string::npos, body);
  BOOST_TEST(body.find(R"("client_order_id":"cyc1-AAPL-buy")") != std::string::npos, body);

  auto btc =
      broker->submit_limit_order(req("cyc1-BTC-sell", "BTCUSD", side::sell, 0.25, 61234.567, time_in_force::gtc));
  BOOST_TEST_REQUIRE(btc.has_value(), (btc ? "" : btc.error().message));
  BOOST_TEST(btc->symbol == "BTCUSD");
  BOOST_TEST(btc->limit_price == 61234.57);  // a sell rounds up, crypto tick 0.01 at this price
  BOOST_TEST(server.requests().back().body.find(R"("symbol":"BTC/USD")") != std::string::npos);

  auto open = broker->open_orders();
  BOOST_TEST_REQUIRE(open.has_value());
  BOOST_TEST_REQUIRE(open->size() == 2u);
  BOOST_TEST((*open)[0].id == o->id);
  BOOST_TEST((*open)[1].symbol == "BTCUSD");

  auto found = broker->order_by_client_id("cyc1-AAPL-buy");
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST_REQUIRE(found->has_value());
  BOOST_TEST((*found)->id == o->id);
  auto none = broker->order_by_client_id("never-sent");
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(!none->has_value());

  auto canceled = broker->cancel_order(o->id);
  BOOST_TEST_REQUIRE(canceled.has_value(), (canceled ? "" : canceled.error().message));
  BOOST_TEST((canceled->status == order_status::canceled));
  auto again = broker->cancel_order(o->id);
  BOOST_TEST_REQUIRE(!again.has_value());
  BOOST_TEST(again.error().code == errc::invalid_argument);
  auto unknown = broker->cancel_order("00000000-0000-0000-0000-000000000000");
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().code == errc::invalid_argument);
  BOOST_TEST(!broker->cancel_order("../account").has_value());
  // Alpaca's cancels are asynchronous: the order stays open (pending_cancel) until Alpaca says
  // canceled, and is never reported canceled before.
  server.set_asynchronous_cancels(true);
  auto pending = broker->submit_limit_order(req("cyc1-AAPL-buy-2", "AAPL", side::buy, 2, 190.0, time_in_force::day));
  BOOST_TEST_REQUIRE(pending.has_value(), (pending ? "" : pending.error().message));
  auto asked = broker->cancel_order(pending->id);
  BOOST_TEST_REQUIRE(asked.has_value(), (asked ? "" : asked.error().message));
  BOOST_TEST((asked->status == order_status::open));
  BOOST_TEST(!broker->cancel_order(pending->id).has_value());  // already pending_cancel: 422
  server.settle_cancels();
  found = broker->order_by_client_id("cyc1-AAPL-buy-2");
  BOOST_TEST_REQUIRE((found && *found));
  BOOST_TEST(((*found)->status == order_status::canceled));
  server.set_asynchronous_cancels(false);

  BOOST_TEST(server.fill(btc->id, 61240.0));
  found = broker->order_by_client_id("cyc1-BTC-sell");
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST(((*found)->status == order_status::filled));
  BOOST_TEST((*found)->filled_qty == 0.25);
  BOOST_TEST((*found)->filled_avg_price == 61240.0);
  open = broker->open_orders();
  BOOST_TEST_REQUIRE(open.has_value());
  BOOST_TEST(open->empty());
}

BOOST_AUTO_TEST_CASE(formatting_and_time_in_force) {
  BOOST_TEST(format_decimal(1.50, 9) == "1.5");
  BOOST_TEST(format_decimal(0.000000001, 9) == "0.000000001");

  fake_alpaca server(pki().server_options());
  auto broker = make_broker(server);
  // Fractional equity: day only (as the original bot and Alpaca).
  auto r = broker->submit_limit_order(req("frac-gtc", "AAPL", side::buy, 1.5, 190, time_in_force::gtc));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  r = broker->submit_limit_order(req("btc-day", "BTCUSD", side::buy, 0.1, 60000, time_in_force::day));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(server.request_count() == 0u);  // refused before sending

  const auto tif = default_time_in_force("AAPL", 1.5);
  r = broker->submit_limit_order(req("frac-day", "AAPL", side::buy, 1.5, 190.123, tif));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST((r->tif == time_in_force::day));
  BOOST_TEST(r->qty == 1.5);
  BOOST_TEST(server.requests().back().body.find(R"("time_in_force":"day")") != std::string::npos);
  r = broker->submit_limit_order(req("whole", "AAPL", side::buy, 2, 190, default_time_in_force("AAPL", 2)));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST((r->tif == time_in_force::gtc));
  r = broker->submit_limit_order(req("penny", "PENNY", side::sell, 100, 0.56789, time_in_force::gtc));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));  // the fake refuses sub-penny > 4 dp
  BOOST_TEST(r->limit_price == 0.5679);
}

BOOST_AUTO_TEST_CASE(duplicate_client_order_id_is_already_submitted) {
  fake_alpaca server(pki().server_options());
  auto broker = make_broker(server);
  const auto rq = req("cyc7-MSFT-buy", "MSFT", side::buy, 3, 400, time_in_force::gtc);
  auto first = broker->submit_limit_order(rq);
  BOOST_TEST_REQUIRE(first.has_value());

  auto second = broker->submit_limit_order(rq);
  BOOST_TEST_REQUIRE(!second.has_value());
  BOOST_TEST(is_already_submitted(second.error()), second.error().message);
  BOOST_TEST(second.error().message.find(first->id) != std::string::npos);

  auto rec = broker->submit_or_reconcile(rq);
  BOOST_TEST_REQUIRE(rec.has_value());
  BOOST_TEST(rec->already_submitted);
  BOOST_TEST(rec->order.id == first->id);

  auto open = broker->open_orders();
  BOOST_TEST_REQUIRE(open.has_value());
  BOOST_TEST(open->size() == 1u);  // never two orders for one client_order_id
  BOOST_TEST(!is_already_submitted(tb::error{errc::invalid_argument, "qty must be > 0"}));
}

BOOST_AUTO_TEST_CASE(submit_whose_answer_timed_out_is_reconciled) {
  fake_alpaca server(pki().server_options());
  auto http = pki().client_options(server);
  http.io_timeout = 300ms;
  auto broker = make_broker(server, http);
  fault late;
  late.delay = 1000ms;  // the order lands, the answer comes after the client gave up
  server.fail_next(1, late);
  auto o = broker->submit_limit_order(req("cyc9-AMD-buy", "AMD", side::buy, 5, 150, time_in_force::gtc));
  BOOST_TEST_REQUIRE(o.has_value(), (o ? "" : o.error().message));
  BOOST_TEST(o->client_order_id == "cyc9-AMD-buy");
  BOOST_TEST(count_path(server, "/v2/orders:by_client_order_id") == 1u);
  auto open = broker->open_orders();
  BOOST_TEST_REQUIRE(open.has_value());
  BOOST_TEST_REQUIRE(open->size() == 1u);  // once, not twice
  BOOST_TEST(open->front().id == o->id);
}

BOOST_AUTO_TEST_CASE(paper_unless_live) {
  BOOST_TEST(alpaca_trading_url(false, "").value() == "https://paper-api.alpaca.markets");
  BOOST_TEST(alpaca_trading_url(true, "").value() == "https://api.alpaca.markets");
  auto refused = alpaca_trading_url(false, "https://api.alpaca.markets");
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().code == errc::bad_config);
  BOOST_TEST(alpaca_trading_url(true, "https://api.alpaca.markets").has_value());

  alpaca_broker_options o;
  o.url = "https://API.alpaca.markets";
  BOOST_TEST(!alpaca_broker::create(creds(), o).has_value());
  o.url.clear();
  auto paper = alpaca_broker::create(creds(), o);  // no connection is made at construction
  BOOST_TEST_REQUIRE(paper.has_value());
  BOOST_TEST(!(*paper)->live());
}

BOOST_AUTO_TEST_CASE(keys_never_in_errors_or_logs) {
  log_capture logs;
  auto server_opts = pki().server_options();
  server_opts.secret_key = "a-different-secret";  // the server refuses our keys and echoes the id
  fake_alpaca server(server_opts);
  auto broker = make_broker(server);
  auto a = broker->account();
  BOOST_TEST_REQUIRE(!a.has_value());
  BOOST_TEST(a.error().code == errc::bad_config);
  BOOST_TEST(a.error().message.find("HTTP 401") != std::string::npos, a.error().message);
  BOOST_TEST(a.error().message.find(test_key_id) == std::string::npos, a.error().message);
  BOOST_TEST(a.error().message.find(test_secret) == std::string::npos, a.error().message);

  core::sim_clock clock(utc(2024, 3, 1));
  auto feed = make_feed(server, clock, {"AAPL"}, 24h, 1000);
  fault f;
  f.status = 503;
  f.body = "overloaded; your key " + test_key_id + " secret " + test_secret;
  server.fail_next(10, f);
  auto q = feed->latest_quote("AAPL");
  BOOST_TEST_REQUIRE(!q.has_value());
  BOOST_TEST(q.error().message.find(test_key_id) == std::string::npos, q.error().message);
  BOOST_TEST(q.error().message.find(test_secret) == std::string::npos, q.error().message);

  const std::string log = logs.text();
  BOOST_TEST(log.find("retrying") != std::string::npos, log);
  BOOST_TEST(log.find(test_key_id) == std::string::npos, log);
  BOOST_TEST(log.find(test_secret) == std::string::npos, log);
}
