// Restarts on the same state folder, in the real tradebotd process trading the synthetic feed on
// simulated time with the sim broker: killed (SIGKILL), or stopped (SIGTERM), 20 times at random
// moments and started again each time. Every start must succeed (READY=1), and after every stop
// the order journal and the broker, as the next start finds them (the state files read through
// daemon::make_trading_parts, the daemon's own code), agree on every order, every position and on
// cash. The random moments come from a seed printed at the start; TRADEBOT_RESTART_SEED=<seed>
// replays a run. A simulated clock resumes no earlier than the sim broker ledger's last request.
#define BOOST_TEST_MODULE daemon_restarts
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/config.hpp"
#include "daemon/actor_tree.hpp"
#include "market/durable_sim_broker.hpp"
#include "market/order_journal.hpp"
#include "market/symbols.hpp"
#include "tests/support/daemon_process.hpp"

using namespace tb;
using namespace tb::test;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";

// Four equities and two crypto pairs, daily bars, from the default sim_start on.
const std::string market_section =
    "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 4\nsynthetic_crypto = 2\nclock = \"simulated\"\n";
const std::string symbols = "\"DEMO01\", \"DEMO02\", \"DEMO03\", \"DEMO04\", \"DEMO05USD\", \"DEMO06USD\"";

std::uint64_t seed_of_run() {
  if (const char* s = std::getenv("TRADEBOT_RESTART_SEED")) return std::stoull(s);
  return std::random_device{}();
}

struct agreement {
  std::size_t orders = 0, fills = 0, in_flight = 0;  // in_flight: broker outcomes the journal has yet to record
};

// The journal and the broker of `config_path`'s state folder, as a start would open them, agree:
// every final journal record is what the broker says of that order, every broker order was
// journaled, and the positions and cash the journal's fills add up to (with the outcomes of orders
// the journal still holds open, which a start or the next state query records) are the broker's.
agreement require_agreement(const std::filesystem::path& config_path, const std::string& when) {
  auto cfg = actors::load_config(config_path.string());
  BOOST_REQUIRE_MESSAGE(cfg, when << ": " << (cfg ? "" : cfg.error().message));
  auto parts = daemon::make_trading_parts(**cfg);
  BOOST_REQUIRE_MESSAGE(parts,
                        when << ": the broker's state cannot be opened: " << (parts ? "" : parts.error().message));
  auto* broker = dynamic_cast<market::durable_sim_broker*>(parts->broker.get());
  BOOST_REQUIRE(broker != nullptr);
  auto journal = market::order_journal::open(parts->journal_path);
  BOOST_REQUIRE_MESSAGE(journal, when << ": " << (journal ? "" : journal.error().message));

  agreement out;
  std::map<std::string, double> qty;
  double cash = (*cfg)->broker.sim.initial_cash;
  auto add_fill = [&](const market::order_request& r, double q, double price) {
    const double fee =
        (market::is_crypto(r.symbol) ? (*cfg)->broker.sim.crypto_fee_rate : (*cfg)->broker.sim.equity_fee_rate) * q *
        price;
    if (r.side == market::side::buy) {
      qty[r.symbol] += q;
      cash -= q * price + fee;
    } else {
      qty[r.symbol] -= q;
      cash += q * price - fee;
    }
  };
  for (const auto& id : journal->order_of_intents()) {
    const auto& e = journal->entries().at(id);
    const auto found = broker->order_by_client_id(id);
    BOOST_REQUIRE(found);
    const auto& o = *found;
    const std::string what = when + ": " + id + " (journal: " + e.state +
                             ", broker: " + (o ? std::string(market::to_string(o->status)) : "none") + ")";
    ++out.orders;
    if (e.state == "filled") {
      ++out.fills;
      BOOST_REQUIRE_MESSAGE(o && o->status == market::order_status::filled, what);
      BOOST_TEST(o->filled_qty == e.filled_qty,
                 what << ": qty " << o->filled_qty << " at the broker, " << e.filled_qty);
      BOOST_TEST(o->filled_avg_price == e.filled_price,
                 what << ": price " << o->filled_avg_price << " at the broker, " << e.filled_price);
      add_fill(e.intent.order, e.filled_qty, e.filled_price);
    } else if (e.state == "closed") {
      BOOST_REQUIRE_MESSAGE(
          o && (o->status == market::order_status::canceled || o->status == market::order_status::expired), what);
      BOOST_TEST(o->filled_qty == e.filled_qty,
                 what << ": filled " << o->filled_qty << " at the broker, " << e.filled_qty);
      if (e.filled_qty > 0) add_fill(e.intent.order, e.filled_qty, e.filled_price);
    } else if (e.state == "rejected" || e.state == "abandoned") {
      BOOST_TEST(!o, what);
    } else {  // intent (the submit may have landed) or acked: the broker may have moved on since
      BOOST_TEST((o || e.state == "intent"), what);
      if (o && o->status != market::order_status::open) ++out.in_flight;
      if (o && o->filled_qty > 0) add_fill(e.intent.order, o->filled_qty, o->filled_avg_price);
    }
  }
  for (const auto& o : broker->inner().all_orders())
    BOOST_TEST(journal->contains(o.client_order_id),
               when << ": the broker has " << o.client_order_id << ", never journaled");

  const auto positions = broker->positions();
  BOOST_REQUIRE(positions);
  std::map<std::string, double> held;
  for (const auto& p : *positions) held[p.symbol] = p.qty;
  for (const auto& [sym, q] : qty)
    BOOST_TEST(std::abs(held[sym] - q) < 1e-9, when << ": " << sym << ": broker " << held[sym] << ", journal " << q);
  for (const auto& [sym, q] : held)
    BOOST_TEST(qty.count(sym) == 1u, when << ": " << sym << ": broker " << q << ", not in the journal");
  // The same fills summed in another order: equal to far below a cent.
  const auto account = broker->account();
  BOOST_REQUIRE(account);
  BOOST_TEST(std::abs(account->cash - cash) < 1e-6, when << ": cash: broker " << account->cash << ", journal " << cash);
  return out;
}

// `rounds` times: start the daemon on `state` (READY=1 required), let it trade for a random
// while, then SIGKILL it (`kill`) or SIGTERM it (exit 0 required); check the files after each.
// One more start must succeed, and after its clean stop the files agree as well.
void restart_rounds(bool kill, int rounds) {
  const std::uint64_t seed = seed_of_run();
  std::cout << std::setprecision(17) << (kill ? "kill" : "clean stop") << " rounds: seed " << seed
            << " (TRADEBOT_RESTART_SEED)" << std::endl;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pause_ms(0, 800);
  spdlog::set_level(spdlog::level::warn);  // make_trading_parts's info lines, once per round

  temp_dir state;
  const std::string body = small_trading_config(state.path.string(), market_section, symbols);
  const auto config_path = state.write("check.toml", body);
  agreement last;
  std::size_t in_flight = 0;  // over all rounds: how often a stop came between a broker outcome and its record
  using ms = std::chrono::duration<double, std::milli>;
  ms starting{0}, stopping{0}, checking{0};
  for (int round = 0; round <= rounds; ++round) {
    const std::string when = std::string(kill ? "kill" : "stop") + " round " + std::to_string(round) + " (seed " +
                             std::to_string(seed) + ")";
    auto t0 = std::chrono::steady_clock::now();
    daemon_process d(daemon_bin, body);
    BOOST_REQUIRE_MESSAGE(d.ready(), when << ": the start failed:\n" << d.proc->output());
    starting += std::chrono::steady_clock::now() - t0;
    if (round < rounds)
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));  // the random moment
    else
      d.stats_until(
          [](const nlohmann::json& s) { return s.contains("portfolio") && s["portfolio"].value("cycles", 0) > 0; },
          30s);
    t0 = std::chrono::steady_clock::now();
    if (kill && round < rounds) {
      d.proc->signal(SIGKILL);
      BOOST_REQUIRE_EQUAL(d.proc->wait(30s), 128 + SIGKILL);
    } else {
      BOOST_REQUIRE_MESSAGE(d.stop() == 0, when << ": the stop failed:\n" << d.proc->output());
    }
    stopping += std::chrono::steady_clock::now() - t0;
    t0 = std::chrono::steady_clock::now();
    last = require_agreement(config_path, when);
    in_flight += last.in_flight;
    checking += std::chrono::steady_clock::now() - t0;
  }
  std::cout << "  " << rounds + 1 << " starts " << starting.count() << " ms, stops " << stopping.count()
            << " ms, checks " << checking.count() << " ms" << std::endl;
  std::cout << "  " << last.orders << " orders journaled, " << last.fills << " filled; " << in_flight
            << " broker outcomes not yet journaled found after the stops" << std::endl;
  // Something was at stake: orders went to the broker and filled across the restarts.
  BOOST_TEST(last.orders > 20u);
  BOOST_TEST(last.fills > 5u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(twenty_kills_at_random_moments_each_restart_resumes_and_agrees) { restart_rounds(true, 20); }

BOOST_AUTO_TEST_CASE(twenty_clean_stops_at_random_moments_each_restart_resumes_and_agrees) {
  restart_rounds(false, 20);
}

BOOST_AUTO_TEST_CASE(a_simulated_clock_resumes_no_earlier_than_the_ledgers_last_request) {
  // The journal's last record at T1, the sim broker's last submit at T2 > T1 (the clock moved on
  // between them): a start resumes at T2, so the replay of that submit sees every bar up to it.
  temp_dir state;
  const auto config_path =
      state.write("check.toml", small_trading_config(state.path.string(), market_section, symbols));
  const auto t1 = core::from_unix_seconds(1749049200);  // 2025-06-04T15:00Z
  const auto t2 = t1 + std::chrono::hours(24);
  const auto broker_dir = state.path / "broker";
  {
    auto journal = market::order_journal::open((broker_dir / "orders.jsonl").string());
    BOOST_REQUIRE(journal);
    market::journal_record r;
    r.client_order_id = "DEMO01-1-buy-simple";
    r.order = {r.client_order_id, "DEMO01", market::side::buy, 1, 1, market::time_in_force::gtc};
    r.at_unix_ns = core::to_unix_nanoseconds(t1);
    BOOST_REQUIRE(!journal->append(r));
    auto clock = std::make_shared<core::sim_clock>(t2);
    auto broker = market::durable_sim_broker::open({}, clock, nullptr, (broker_dir / "sim-ledger.jsonl").string());
    BOOST_REQUIRE(broker);
    BOOST_REQUIRE((*broker)->submit_limit_order(r.order));
  }
  auto cfg = actors::load_config(config_path.string());
  BOOST_REQUIRE(cfg);
  auto parts = daemon::make_trading_parts(**cfg);
  BOOST_REQUIRE_MESSAGE(parts, (parts ? "" : parts.error().message));
  BOOST_TEST(core::to_iso8601(parts->clock->now()) == core::to_iso8601(t2));
}
