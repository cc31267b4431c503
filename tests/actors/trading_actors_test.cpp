// The trading actors in one process, without the daemon: scheduler (with its symbol actors),
// portfolio and broker actor on a simulated clock over the synthetic feed, with a fake forecaster
// that fails one symbol's first requests: that symbol reports error, backs off and recovers,
// while the other symbol trades all along (its actor killed once and restarted, as the
// supervisor's budget allows; killed at every request, it exhausts that budget and stays down
// while the other trades); the run is bounded by market.sim_end.
// The portfolio's orders, cycle by cycle (the test plays scheduler and symbol actors): the close
// back-out's prices, fractional equity day orders and limits on the tick through the real broker
// actor. A symbol's proposal reused on the same bar carries the quote of its own cycle. The
// scheduler's progress: a cycle never closed, or an event overdue on the wall clock,
// fails the supervisor's heartbeat and the /health check "cycles".
#define BOOST_TEST_MODULE trading_actors
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include <caf/all.hpp>

#include "actors/broker_actor.hpp"
#include "actors/feed_actor.hpp"
#include "actors/portfolio_actor.hpp"
#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "actors/symbol_actor.hpp"
#include "core/calendar.hpp"
#include "market/durable_sim_broker.hpp"
#include "market/symbols.hpp"
#include "market/synthetic_feed.hpp"
#include "tests/support/process.hpp"

using namespace tb;
using namespace std::chrono_literals;
namespace tt = boost::test_tools;

namespace {

struct forecaster_counts {
  std::mutex mu;
  std::map<std::string, int> requests;
};

// Answers every window with close +1%, high +2%, low -1% of the window's last close; the first
// `failures` requests of `failing` are answered with errors; the `crash_at`-th request of
// `crashing` and the `crash_count` - 1 after it kill the symbol actor that sent it (an exit with an
// error, as a bug would).
actors::forecaster_actor::behavior_type fake_forecaster(actors::forecaster_actor::pointer self,
                                                        std::shared_ptr<forecaster_counts> counts, std::string failing,
                                                        int failures, std::string crashing, int crash_at,
                                                        int crash_count) {
  return {[=](actors::forecast_atom, const actors::forecast_request& req) {
            actors::forecast_reply reply;
            const std::string sym = req.windows.empty() ? "" : req.windows.front().window.symbol;
            int n = 0;
            {
              std::lock_guard<std::mutex> lock(counts->mu);
              n = ++counts->requests[sym];
            }
            if (sym == crashing && n >= crash_at && n < crash_at + crash_count)
              self->send_exit(caf::actor_cast<caf::actor>(self->current_sender()), caf::sec::runtime_error);
            for (const auto& w : req.windows) {
              actors::window_answer a;
              if (sym == failing && n <= failures) {
                a.error_code = tb::errc::unavailable;
                a.error = "fake forecaster: down for " + sym;
              } else {
                const double c = w.window.bars.back().close;
                a.ok = true;
                a.forecast.rows.push_back({c, c * 1.02, c * 0.99, c * 1.01, 1000, 1000 * c});
              }
              reply.answers.push_back(std::move(a));
            }
            return reply;
          },
          [](actors::model_identity_atom) {
            return core::model_identity{"fake", "float32", false};
          },
          [](actors::heartbeat_atom) -> caf::result<actors::heartbeat_atom, std::uint64_t> {
            return {actors::heartbeat_atom::value, std::uint64_t{1}};
          },
          [](actors::reload_atom, actors::config_ptr) {},
          [self](actors::stop_atom) {
            self->quit();
            return caf::ok_atom::value;
          }};
}

// Answers broker_state with a fixed account and accepts every order, keeping them: (caf::get_atom)
// -> the orders submitted since the last ask.
using fake_broker_actor =
    actors::broker_actor::extend<caf::replies_to<caf::get_atom>::with<std::vector<actors::order_intent>>>;
fake_broker_actor::behavior_type fake_broker(fake_broker_actor::pointer self, actors::broker_state account,
                                             std::shared_ptr<std::vector<actors::order_intent>> submitted) {
  return {
      [=](actors::broker_state_atom) { return account; },
      [=](actors::submit_atom, const std::vector<actors::order_intent>& intents) {
        std::vector<actors::order_outcome> out;
        for (const auto& in : intents) {
          submitted->push_back(in);
          out.push_back({in.client_order_id, actors::submit_status::accepted, ""});
        }
        return out;
      },
      [=](caf::get_atom) { return std::exchange(*submitted, {}); },
      [](actors::heartbeat_atom) -> caf::result<actors::heartbeat_atom, std::uint64_t> {
        return {actors::heartbeat_atom::value, std::uint64_t{1}};
      },
      [](actors::reload_atom, actors::config_ptr) {},
      [self](actors::stop_atom) {
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

// Plays the scheduler and the symbol actors: opens cycle `c` with the proposals' symbols, sends
// each proposal and waits until the portfolio closed the cycle.
void run_cycle(caf::scoped_actor& self, const actors::portfolio_actor& portfolio, actors::cycle_order c,
               std::vector<actors::proposal> proposals) {
  std::vector<std::string> symbols;
  for (auto& p : proposals) {
    p.cycle = c.id;
    symbols.push_back(p.symbol);
  }
  auto closed = self->request(portfolio, 10s, actors::run_cycle_atom::value, c, symbols);
  for (const auto& p : proposals) self->send(portfolio, actors::proposal_atom::value, p);
  closed.receive([](caf::ok_atom) {}, [&](caf::error& err) { BOOST_FAIL("cycle " << c.id << ": " << to_string(err)); });
}

actors::proposal proposal_of(const std::string& symbol, actors::proposal_state state, double last_close) {
  actors::proposal p;
  p.symbol = symbol;
  p.state = state;
  p.bar_time_s = 1748736000;  // 2025-06-01
  p.last_close = p.limit_price = last_close;
  p.crypto = market::is_crypto(symbol);
  return p;
}

actors::cycle_order cycle_of(std::uint64_t id, core::event_kind kind, core::time_point at) {
  actors::cycle_order c;
  c.id = id;
  c.at_unix_ns = core::to_unix_nanoseconds(at);
  c.kinds = static_cast<std::uint32_t>(kind);
  c.equity = true;
  return c;
}

const actors::order_intent* order_for(const std::vector<actors::order_intent>& orders, const std::string& symbol) {
  for (const auto& o : orders)
    if (o.symbol == symbol) return &o;
  return nullptr;
}

// A portfolio that takes every cycle and never closes one.
actors::portfolio_actor::behavior_type silent_portfolio(
    actors::portfolio_actor::pointer self, std::shared_ptr<std::vector<caf::response_promise>> open_cycles) {
  return {
      [=](actors::run_cycle_atom, const actors::cycle_order&,
          const std::vector<std::string>&) -> caf::result<caf::ok_atom> {
        auto rp = self->make_response_promise();
        open_cycles->push_back(rp);
        return rp;
      },
      [](actors::proposal_atom, const actors::proposal&) {},
      [](actors::portfolio_summary_atom) { return actors::portfolio_summary{}; },
      [](actors::heartbeat_atom) -> caf::result<actors::heartbeat_atom, std::uint64_t> {
        return {actors::heartbeat_atom::value, std::uint64_t{1}};
      },
      [](actors::reload_atom, actors::config_ptr) {},
      [self](actors::stop_atom) {
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

// The scheduler (one equity, DEMO01) and a silent portfolio under a supervisor, as the daemon has
// them; trading.cycle_deadline_s 0.1 and a progress slack of 1 s: a bound of 1.2 s.
struct stalling_tree {
  explicit stalling_tree(std::shared_ptr<core::sim_clock> clock, bool wall) {
    actors::register_types(sys_cfg);
    sys.emplace(sys_cfg);
    cfg->path = "test";
    cfg->trading.symbols = {"DEMO01"};
    cfg->trading.cycle_deadline_s = 0.1;
    // No pass at start on the wall clock: its cycle, never closed, would stall the scheduler 1.1 s
    // later, a failure that races the overdue event the wall-clock case waits for.
    cfg->schedule.pass_at_start = false;
    market::synthetic_config sc;
    sc.equity_count = 1;
    sc.crypto_count = 0;
    auto feed = market::synthetic_feed::create(sc, clock);
    BOOST_REQUIRE(feed);
    auto portfolio = std::make_shared<actors::portfolio_actor>();
    auto open_cycles = std::make_shared<std::vector<caf::response_promise>>();
    std::vector<actors::child_spec> children;
    children.push_back({"portfolio", [=](caf::local_actor* self, const actors::config_ptr&) {
                          *portfolio = self->spawn(silent_portfolio, open_cycles);
                          return caf::actor_cast<caf::actor>(*portfolio);
                        }});
    actors::scheduler_args a;
    a.feed = *feed;
    if (wall)
      a.wall_clock = clock;
    else
      a.sim_clock = clock;
    a.forecaster = [] { return actors::forecaster_actor(); };
    a.portfolio = [=] { return *portfolio; };
    a.board = board;
    a.symbol_stats = std::make_shared<actors::symbol_board>(board);
    a.cfg = cfg;
    a.progress_slack = 1s;
    children.push_back({"scheduler", [=](caf::local_actor* self, const actors::config_ptr&) {
                          return actors::spawn_scheduler(self, a);
                        }});
    sup = actors::spawn_supervisor(*sys, cfg, board, std::move(children));
  }
  ~stalling_tree() { caf::anon_send_exit(sup, caf::exit_reason::kill); }
  // The supervisor's heartbeat as the daemon asks it: "" when answered, else the error.
  std::string heartbeat() {
    caf::scoped_actor self{*sys};
    std::string out = "no answer";
    self->request(sup, 5s, actors::heartbeat_atom::value)
        .receive([&](actors::heartbeat_atom, std::uint64_t) { out.clear(); },
                 [&](caf::error& err) { out = sys->render(err); });
    return out;
  }
  // Polls (bounded, 10 s) until the heartbeat fails; returns its error.
  std::string failed_heartbeat() {
    for (int i = 0; i < 200; ++i) {
      auto err = heartbeat();
      if (!err.empty()) return err;
      std::this_thread::sleep_for(50ms);  // polling a condition, bounded
    }
    return {};
  }
  caf::actor_system_config sys_cfg;
  std::optional<caf::actor_system> sys;
  std::shared_ptr<core::snapshot_board> board = std::make_shared<core::snapshot_board>();
  std::shared_ptr<actors::config> cfg = std::make_shared<actors::config>();
  caf::actor sup;
};

// The loop (DEMO01 and DEMO02 from 2025-06-02 to market.sim_end 2025-07-15) with the fake
// forecaster: DEMO02's first 3 requests fail; DEMO01's actor is killed at its `crash_at`-th
// request and the `crash_count` - 1 after it. What the board and the journal say at the end.
struct loop_result {
  nlohmann::json sched, symbols, portfolio, health;
  std::string journal;
  std::map<std::string, int> requests;
};

loop_result run_trading_loop(int crash_at, int crash_count) {
  test::temp_dir state;
  auto cfg = std::make_shared<actors::config>();
  cfg->path = "test";
  cfg->trading.symbols = {"DEMO01", "DEMO02"};
  cfg->inference.lookback = 16;
  cfg->inference.sampling.max_context = 16;
  cfg->inference.sampling.pred_len = 1;
  cfg->trading.walk_forward_windows = 6;
  cfg->strategy.min_sharpe = -10;
  cfg->strategy.min_edge = -1;
  cfg->market.sim_end = "2025-07-15";
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748822400));  // 2025-06-02
  market::synthetic_config sc;
  sc.equity_count = 2;
  sc.crypto_count = 0;
  auto feed = market::synthetic_feed::create(sc, clock);
  BOOST_REQUIRE(feed);
  auto broker = market::durable_sim_broker::open({}, clock, *feed, (state.path / "ledger.jsonl").string());
  BOOST_REQUIRE(broker);
  std::shared_ptr<market::broker> shared_broker(std::move(*broker));
  auto board = std::make_shared<core::snapshot_board>();
  auto counts = std::make_shared<forecaster_counts>();

  caf::actor_system_config sys_cfg;
  actors::register_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  auto forecaster =
      sys.spawn(fake_forecaster, counts, std::string("DEMO02"), 3, std::string("DEMO01"), crash_at, crash_count);
  // The restart budget of the scheduler's symbol actors is the supervisor's (5 in 60 s).
  auto supervisor = actors::spawn_supervisor(sys, cfg, board, {});
  auto broker_actor = actors::spawn_broker_actor(
      self.ptr(), {shared_broker, (state.path / "orders.jsonl").string(), clock, board, cfg, {}});
  auto portfolio = actors::spawn_portfolio_actor(self.ptr(), {[=] { return broker_actor; }, clock, board, cfg, {}});
  actors::scheduler_args a;
  a.feed = *feed;
  a.sim_clock = clock;
  a.forecaster = [=] { return forecaster; };
  a.portfolio = [=] { return portfolio; };
  a.supervisor = [=] { return supervisor; };
  a.board = board;
  a.symbol_stats = std::make_shared<actors::symbol_board>(board);
  a.cfg = cfg;
  auto scheduler = actors::spawn_scheduler(self.ptr(), a);

  std::shared_ptr<const nlohmann::json> sched;
  for (int i = 0; i < 3000; ++i) {
    sched = board->section("schedule");
    if (sched && sched->value("finished", false)) break;
    std::this_thread::sleep_for(20ms);  // polling a condition, bounded (60 s)
  }
  BOOST_REQUIRE_MESSAGE(sched && sched->value("finished", false), (sched ? sched->dump() : "no schedule"));
  BOOST_TEST((*sched)["finished_reason"] == "reached market.sim_end");

  loop_result r;
  r.sched = *sched;
  r.symbols = board->section("symbols") ? *board->section("symbols") : nlohmann::json();
  r.portfolio = board->section("portfolio") ? *board->section("portfolio") : nlohmann::json();
  r.health = board->checks();
  r.journal = test::read_file(state.path / "orders.jsonl");
  {
    std::lock_guard<std::mutex> lock(counts->mu);
    r.requests = counts->requests;
  }
  for (const auto& h :
       {scheduler, caf::actor_cast<caf::actor>(portfolio), caf::actor_cast<caf::actor>(broker_actor), supervisor})
    self->request(h, 10s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
  self->send_exit(forecaster, caf::exit_reason::user_shutdown);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_symbol_board_holds_each_symbols_latest_document_and_the_failing_and_stale_ones) {
  using nlohmann::json;
  auto board = std::make_shared<core::snapshot_board>();
  actors::symbol_board symbols(board);
  BOOST_TEST(*board->section("symbols") == json::object());
  auto check = [&] { return board->checks()["symbols"]; };
  BOOST_TEST(check() ==
             (json{{"status", "ok"}, {"symbols", 0}, {"failing", json::object()}, {"stale", json::array()}}));

  symbols.update("A", {{"state", "ok"}}, "");
  symbols.update("B", {{"state", "stale"}}, "");
  symbols.update("C", {{"state", "error"}}, "feed: bad row");
  BOOST_TEST(check() == (json{{"status", "degraded"},
                              {"symbols", 3},
                              {"failing", {{"C", "feed: bad row"}}},
                              {"stale", json::array({"B"})}}));
  symbols.update("B", {{"state", "ok"}}, "");
  symbols.update("C", {{"state", "error"}}, "forecast: timed out");  // a new error replaces the old
  BOOST_TEST(check() == (json{{"status", "degraded"},
                              {"symbols", 3},
                              {"failing", {{"C", "forecast: timed out"}}},
                              {"stale", json::array()}}));
  symbols.update("C", {{"state", "ok"}, {"cycles", 2}}, "");
  BOOST_TEST(check()["status"] == "ok");
  symbols.remove("A");
  BOOST_TEST(check()["symbols"] == 2);
  BOOST_TEST(*board->section("symbols") == (json{{"B", {{"state", "ok"}}}, {"C", {{"state", "ok"}, {"cycles", 2}}}}));
}

BOOST_AUTO_TEST_CASE(a_symbol_whose_forecasts_fail_backs_off_and_recovers_while_the_other_trades) {
  const auto r = run_trading_loop(5, 1);
  const auto& sched = r.sched;
  const auto& d1 = r.symbols["DEMO01"];
  const auto& d2 = r.symbols["DEMO02"];
  // DEMO02 failed three times, backed off, and came back.
  BOOST_TEST(r.requests.at("DEMO02") > 3);
  BOOST_TEST(r.requests.at("DEMO01") > 3);
  BOOST_TEST(d2["state"] != "error", d2.dump());
  BOOST_TEST(d2["error"].is_null(), d2.dump());
  BOOST_TEST(d2["failures"] == 0, d2.dump());
  BOOST_TEST(d1["failures"] == 0, d1.dump());
  BOOST_TEST(d1["cycles"].get<int>() > 20, d1.dump());
  BOOST_TEST(d1["forecast"]["close"].is_number(), d1.dump());
  // DEMO01 was traded; the broker holds what the portfolio says.
  BOOST_TEST(r.portfolio["orders_accepted"].get<int>() > 0, r.portfolio.dump());
  BOOST_TEST(r.journal.find("\"symbol\":\"DEMO01\"") != std::string::npos);
  // DEMO01's actor was killed once (its 5th request): the supervisor's budget allowed a restart,
  // the scheduler restarted it and it went on.
  BOOST_TEST(sched["symbols"]["DEMO01"]["restarts"] == 1, sched.dump());
  BOOST_TEST(sched["symbols"]["DEMO01"]["running"] == true, sched.dump());
  BOOST_TEST(sched["symbols"]["DEMO02"]["restarts"] == 0, sched.dump());
  BOOST_TEST(r.health["actors"]["children"]["symbol DEMO01"]["restarts"] == 1, r.health.dump());
  BOOST_TEST(r.health["symbols"]["status"] == "ok", r.health.dump());
}

BOOST_AUTO_TEST_CASE(a_symbol_actor_that_keeps_crashing_exhausts_its_budget_in_the_supervisor_while_the_other_trades) {
  const auto r = run_trading_loop(1, 1000);
  const auto& sched = r.sched;
  // Killed at each of its requests: the first and five restarts (5 in 60 s), then the
  // supervisor refused and the scheduler left it down.
  BOOST_TEST(r.requests.at("DEMO01") == 6);
  BOOST_TEST(sched["symbols"]["DEMO01"]["restarts"] == 5, sched.dump());
  BOOST_TEST(sched["symbols"]["DEMO01"]["gave_up"] == true, sched.dump());
  BOOST_TEST(sched["symbols"]["DEMO01"]["running"] == false, sched.dump());
  const auto& budget = r.health["actors"]["children"]["symbol DEMO01"];
  BOOST_TEST(budget["restarts"] == 5, r.health.dump());
  BOOST_TEST(budget["gave_up"] == true, r.health.dump());
  BOOST_TEST(r.health["actors"]["status"] == "ok", r.health.dump());  // the scheduler reports it
  BOOST_TEST(r.health["cycles"]["status"] == "degraded", r.health.dump());
  // DEMO02 traded all along.
  BOOST_TEST(r.symbols["DEMO02"]["cycles"].get<int>() > 20, r.symbols.dump());
  BOOST_TEST(r.journal.find("\"symbol\":\"DEMO02\"") != std::string::npos);
  BOOST_TEST(r.journal.find("\"symbol\":\"DEMO01\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_close_backout_exits_unsupported_equity_positions_near_the_market) {
  auto cfg = std::make_shared<actors::config>();  // schedule.backout_cross_bps 5, broker.default_spread 0.0005
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748883600));  // 2025-06-02T17:00Z
  actors::broker_state account;
  account.ok = true;
  account.cash = account.equity = account.buying_power = 100000;
  account.positions = {{"DEMO01", 10, 100, 100}, {"DEMO02", -5, 100, 100}, {"DEMO03", 10, 100, 100}};
  caf::actor_system_config sys_cfg;
  actors::register_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  auto broker = sys.spawn(fake_broker, account, std::make_shared<std::vector<actors::order_intent>>());
  auto board = std::make_shared<core::snapshot_board>();
  auto portfolio =
      actors::spawn_portfolio_actor(self.ptr(), {[=] { return actors::broker_actor(broker); }, clock, board, cfg, {}});
  // DEMO01 and DEMO02 have no opinion left (flat): closed. DEMO01 is quoted, DEMO02 is not;
  // DEMO03's symbol is in error: it keeps what it holds.
  auto d1 = proposal_of("DEMO01", actors::proposal_state::flat, 100.1);
  d1.bid = 100.0;
  d1.ask = 100.2;
  auto d2 = proposal_of("DEMO02", actors::proposal_state::flat, 100.0);
  auto d3 = proposal_of("DEMO03", actors::proposal_state::error, 0);
  d3.note = "fake: feed down";
  auto submitted = [&] {
    std::vector<actors::order_intent> out;
    self->request(broker, 5s, caf::get_atom::value)
        .receive([&](std::vector<actors::order_intent>& v) { out = std::move(v); }, [](caf::error&) {});
    return out;
  };

  // A normal pass closes them at the last close, as every pass does.
  run_cycle(self, portfolio, cycle_of(1, core::event_kind::midday_pass, clock->now()), {d1, d2, d3});
  auto orders = submitted();
  BOOST_TEST_REQUIRE(orders.size() == 2u);
  BOOST_TEST_REQUIRE(order_for(orders, "DEMO01"));
  BOOST_TEST(order_for(orders, "DEMO01")->side == -1);
  BOOST_TEST(order_for(orders, "DEMO01")->limit_price == 100.1);
  BOOST_TEST(order_for(orders, "DEMO01")->strategy == "rebalance");
  BOOST_TEST_REQUIRE(order_for(orders, "DEMO02"));
  BOOST_TEST(order_for(orders, "DEMO02")->limit_price == 100.0);

  // The close back-out crosses the quote: a sell at the bid less 5 bps, a buy-to-cover at the
  // ask plus 5 bps (no quote: the last close plus the default spread), on the tick, the whole
  // position, under a client_order_id of its own.
  (void)clock->advance_to(core::from_unix_seconds(1748890800));  // 19:00Z, an hour before the close
  run_cycle(self, portfolio, cycle_of(2, core::event_kind::close_backout, clock->now()), {d1, d2, d3});
  orders = submitted();
  BOOST_TEST_REQUIRE(orders.size() == 2u);
  const auto* sell = order_for(orders, "DEMO01");
  BOOST_TEST_REQUIRE(sell);
  BOOST_TEST(sell->side == -1);
  BOOST_TEST(sell->qty == 10);
  BOOST_TEST(sell->limit_price == 99.95);  // 100.0 x (1 - 0.0005)
  BOOST_TEST(sell->strategy == "backout");
  BOOST_TEST(sell->client_order_id == "DEMO01-1748736000-sell-backout");
  const auto* cover = order_for(orders, "DEMO02");
  BOOST_TEST_REQUIRE(cover);
  BOOST_TEST(cover->side == +1);
  BOOST_TEST(cover->qty == 5);
  BOOST_TEST(cover->limit_price == 100.1);  // 100.0 x 1.0005 x 1.0005 = 100.100025, buys round down
  BOOST_TEST(!order_for(orders, "DEMO03"));
  auto pf = board->section("portfolio");
  BOOST_REQUIRE(pf);
  bool said_why = false;
  for (const auto& line : (*pf)["last_decisions"])
    said_why = said_why || line.get<std::string>().rfind(
                               "DEMO03: close back-out keeps 10.000000 held: symbol error (fake: feed down)", 0) == 0;
  BOOST_TEST(said_why, pf->dump());

  self->request(portfolio, 5s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
  self->send_exit(broker, caf::exit_reason::user_shutdown);
}

namespace {

// An actor system with the real broker actor over `broker` and the journal at `journal_path`.
struct broker_actor_system {
  std::shared_ptr<core::snapshot_board> board = std::make_shared<core::snapshot_board>();
  caf::actor_system_config sys_cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  actors::broker_actor broker;
  broker_actor_system(std::unique_ptr<market::durable_sim_broker> b, const std::string& journal_path,
                      std::shared_ptr<const core::clock> clock, actors::config_ptr cfg)
      : sys((actors::register_types(sys_cfg), sys_cfg)),
        self(sys),
        broker(actors::spawn_broker_actor(self.ptr(), {std::shared_ptr<market::broker>(std::move(b)),
                                                       journal_path,
                                                       std::move(clock),
                                                       board,
                                                       std::move(cfg),
                                                       {}})) {}
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_fractional_equity_order_is_a_day_order_with_its_limit_on_the_tick) {
  test::temp_dir state;
  auto cfg = std::make_shared<actors::config>();
  cfg->trading.fractional_equity = true;
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748872800));  // 2025-06-02T14:00Z
  market::synthetic_config sc;
  sc.equity_count = 1;
  sc.crypto_count = 0;
  auto feed = market::synthetic_feed::create(sc, clock);
  BOOST_REQUIRE(feed);
  auto bars = (*feed)->bars({"DEMO01", clock->now(), std::nullopt, 1});
  BOOST_REQUIRE(bars);
  BOOST_REQUIRE(!bars->bars.empty());
  auto broker = market::durable_sim_broker::open({}, clock, *feed, (state.path / "ledger.jsonl").string());
  BOOST_REQUIRE(broker);
  const auto journal_path = (state.path / "orders.jsonl").string();
  broker_actor_system actors_of{std::move(*broker), journal_path, clock, cfg};
  auto& self = actors_of.self;
  auto& board = actors_of.board;
  auto& broker_actor = actors_of.broker;
  auto portfolio = actors::spawn_portfolio_actor(self.ptr(), {[=] { return broker_actor; }, clock, board, cfg, {}});

  // A long entry whose limit (half the last close, off the tick) the market never comes down to.
  const double close = bars->bars.back().close;
  auto p = proposal_of("DEMO01", actors::proposal_state::ok, close);
  p.side = +1;
  p.strategy = "maxdiff";
  p.score = p.edge = 0.01;
  p.variance = 0.0001;
  p.limit_price = close / 2 + 0.001234;
  run_cycle(self, portfolio, cycle_of(1, core::event_kind::open_pass, clock->now()), {p});

  auto journal = market::order_journal::open(journal_path);
  BOOST_REQUIRE(journal);
  BOOST_TEST_REQUIRE(journal->order_of_intents().size() == 1u);
  const auto id = journal->order_of_intents().front();
  const auto& sent = journal->entries().at(id).intent.order;
  BOOST_TEST(id == "DEMO01-1748736000-buy-maxdiff");
  BOOST_TEST(sent.qty != std::floor(sent.qty), sent.qty);  // fractional shares
  BOOST_TEST(sent.qty * 1e6 == std::round(sent.qty * 1e6), tt::tolerance(1e-9));
  BOOST_TEST((sent.tif == market::time_in_force::day));
  BOOST_TEST(sent.limit_price == market::round_limit_price("DEMO01", p.limit_price, market::side::buy));
  BOOST_TEST(sent.limit_price < p.limit_price);
  BOOST_TEST(sent.limit_price * 100 == std::round(sent.limit_price * 100), tt::tolerance(1e-9));

  // The session closed unfilled: the day order expired, and the journal says so.
  (void)clock->advance_to(core::from_unix_seconds(1749000000));  // 2025-06-04T01:20Z
  self->request(broker_actor, 10s, actors::broker_state_atom::value)
      .receive([](actors::broker_state& b) { BOOST_TEST(b.ok, b.error); },
               [](caf::error& err) { BOOST_FAIL(to_string(err)); });
  journal = market::order_journal::open(journal_path);
  BOOST_REQUIRE(journal);
  const auto& last = journal->records().back();
  BOOST_TEST((last.kind == market::journal_kind::closed));
  BOOST_TEST(last.client_order_id == id);
  BOOST_TEST(last.reason == "expired");

  for (const auto& h : {caf::actor_cast<caf::actor>(portfolio), caf::actor_cast<caf::actor>(broker_actor)})
    self->request(h, 10s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
}

namespace {

// The synthetic feed with a quote the test sets (0: the synthetic one).
class quoted_feed final : public market::feed {
 public:
  explicit quoted_feed(std::shared_ptr<market::feed> inner) : inner_(std::move(inner)) {}
  std::vector<std::string> symbols() const override { return inner_->symbols(); }
  tb::expected<market::bar_timing> timing(const std::string& s) const override { return inner_->timing(s); }
  tb::expected<core::bar_series> bars(const market::bar_query& q) override { return inner_->bars(q); }
  tb::expected<market::quote> latest_quote(const std::string& s) override {
    const double bid = bid_.load();
    if (bid > 0) return market::quote{bid, bid + 0.02, {}};
    return inner_->latest_quote(s);
  }
  void set_bid(double bid) { bid_.store(bid); }

 private:
  std::shared_ptr<market::feed> inner_;
  std::atomic<double> bid_{0};
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_proposal_reused_without_a_new_bar_carries_the_new_quote) {
  // Two cycles on the same daily bar: the second reuses the first's analysis (one forecast
  // request), but its bid and ask are the quote of its own feed update.
  auto cfg = std::make_shared<actors::config>();
  cfg->inference.lookback = 16;
  cfg->inference.sampling.max_context = 16;
  cfg->inference.sampling.pred_len = 1;
  cfg->trading.walk_forward_windows = 6;
  cfg->strategy.min_sharpe = -10;
  cfg->strategy.min_edge = -1;
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748872800));  // 2025-06-02T14:00Z
  market::synthetic_config sc;
  sc.equity_count = 1;
  sc.crypto_count = 0;
  auto synthetic = market::synthetic_feed::create(sc, clock);
  BOOST_REQUIRE(synthetic);
  auto feed = std::make_shared<quoted_feed>(*synthetic);
  auto board = std::make_shared<core::snapshot_board>();
  auto counts = std::make_shared<forecaster_counts>();
  caf::actor_system_config sys_cfg;
  actors::register_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  auto forecaster = sys.spawn(fake_forecaster, counts, std::string(), 0, std::string(), 0, 0);
  auto feed_actor = actors::spawn_feed_actor(self.ptr(), {feed, "test", board});
  actors::symbol_actor_args a;
  a.symbol = "DEMO01";
  a.feed = feed_actor;
  a.clock = clock;
  a.forecaster = [=] { return forecaster; };
  a.stats = std::make_shared<actors::symbol_board>(board);
  a.cfg = cfg;
  auto symbol = actors::spawn_symbol_actor(self.ptr(), a);
  // Plays the scheduler and the portfolio: one cycle, its one proposal.
  auto cycle = [&](std::uint64_t id) {
    auto c = cycle_of(id, core::event_kind::open_pass, clock->now());
    self->send(symbol, actors::cycle_atom::value, c, caf::actor_cast<actors::portfolio_actor>(self));
    actors::proposal out;
    self->receive([&](actors::proposal_atom, actors::proposal& p) { out = std::move(p); },
                  caf::after(30s) >> [] { BOOST_FAIL("no proposal"); });
    return out;
  };

  feed->set_bid(100.0);
  const auto first = cycle(1);
  BOOST_TEST_REQUIRE(first.has_opinion(), to_string(first.state) + std::string(": ") + first.note);
  BOOST_TEST(first.bid == 100.0);
  BOOST_TEST(first.ask == 100.02);
  (void)clock->advance_to(core::from_unix_seconds(1748890800));  // 19:00Z, the same daily bar
  feed->set_bid(90.0);
  const auto second = cycle(2);
  BOOST_TEST(second.cycle == 2u);
  BOOST_TEST(second.bar_time_s == first.bar_time_s);
  BOOST_TEST((second.state == first.state));
  BOOST_TEST(second.strategy == first.strategy);
  BOOST_TEST(second.limit_price == first.limit_price);
  BOOST_TEST(second.bid == 90.0);
  BOOST_TEST(second.ask == 90.02);
  {
    std::lock_guard<std::mutex> lock(counts->mu);
    BOOST_TEST(counts->requests["DEMO01"] == 1);  // reused, not forecast again
  }
  self->send_exit(symbol, caf::exit_reason::user_shutdown);
  self->send_exit(feed_actor, caf::exit_reason::user_shutdown);
  self->send_exit(forecaster, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_cycle_the_portfolio_never_closes_fails_the_heartbeat) {
  stalling_tree tree(std::make_shared<core::sim_clock>(core::from_unix_seconds(1748822400)), false);
  BOOST_TEST(tree.heartbeat() == "");
  const auto err = tree.failed_heartbeat();
  BOOST_TEST(err.find("scheduler stalled: cycle 1 has been open for") != std::string::npos, err);
  BOOST_TEST(err.find("longer than 1.1 s (trading.cycle_deadline_s + 1.0 s)") != std::string::npos, err);
  auto health = tree.board->checks();
  BOOST_TEST(health["cycles"]["status"] == "failing", health.dump());
  BOOST_TEST(health["cycles"]["stalled"].get<std::string>().rfind("cycle 1 has been open", 0) == 0u, health.dump());
}

BOOST_AUTO_TEST_CASE(an_event_overdue_on_the_wall_clock_fails_the_heartbeat) {
  // 2025-06-02T12:00Z: the next event is the open pass at 13:30Z, scheduled on this clock.
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748865600));
  stalling_tree tree(clock, true);
  BOOST_TEST(tree.heartbeat() == "");
  (void)clock->advance_to(core::from_unix_seconds(1748871000 + 2));  // 13:30:02Z: 2 s late
  const auto err = tree.failed_heartbeat();
  BOOST_TEST(err.find("the event at 2025-06-02T13:30:00Z is") != std::string::npos, err);
  BOOST_TEST(err.find("overdue without having fired") != std::string::npos, err);
  auto health = tree.board->checks();
  BOOST_TEST(health["cycles"]["status"] == "failing", health.dump());
}

BOOST_AUTO_TEST_CASE(a_fill_in_the_journal_is_never_journaled_over_when_the_broker_disagrees) {
  // The journal holds X filled; the broker (its ledger) holds X open, as a broker that lost a fill
  // would. A new order of the symbol cancels X at the broker first: the journal keeps X's fill
  // and nothing after it, and the broker check says they disagree.
  test::temp_dir state;
  auto cfg = std::make_shared<actors::config>();
  auto clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1748883600));  // 2025-06-02T17:00Z
  auto broker = market::durable_sim_broker::open({}, clock, nullptr, (state.path / "ledger.jsonl").string());
  BOOST_REQUIRE(broker);
  const market::order_request x{"X", "DEMO01", market::side::buy, 2, 10, market::time_in_force::gtc};
  auto placed = (*broker)->submit_limit_order(x);
  BOOST_REQUIRE(placed);
  const auto journal_path = (state.path / "orders.jsonl").string();
  {
    auto journal = market::order_journal::open(journal_path);
    BOOST_REQUIRE(journal);
    market::journal_record r;
    r.client_order_id = "X";
    r.order = x;
    BOOST_REQUIRE(!journal->append(r));  // intent
    r.kind = market::journal_kind::ack;
    r.broker_order_id = placed->id;
    BOOST_REQUIRE(!journal->append(r));
    r.kind = market::journal_kind::fill;
    r.fill_qty = 2;
    r.fill_price = 10;
    BOOST_REQUIRE(!journal->append(r));
  }
  broker_actor_system actors_of{std::move(*broker), journal_path, clock, cfg};
  auto& self = actors_of.self;
  auto& broker_actor = actors_of.broker;
  std::vector<actors::order_outcome> outcomes;
  self->request(broker_actor, 10s, actors::submit_atom::value,
                std::vector<actors::order_intent>{{"Y", "DEMO01", 1, 1, 11, "simple", 1748822400}})
      .receive([&](std::vector<actors::order_outcome>& v) { outcomes = std::move(v); },
               [](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST((outcomes[0].status == actors::submit_status::accepted));
  const auto journal = market::order_journal::open(journal_path);
  BOOST_REQUIRE(journal);
  BOOST_TEST(journal->entries().at("X").state == "filled");
  int x_records = 0;
  for (const auto& r : journal->records()) x_records += r.client_order_id == "X";
  BOOST_TEST(x_records == 3);
  const auto checks = actors_of.board->checks();
  BOOST_TEST(checks["broker"]["status"] == "degraded", checks.dump());
  BOOST_TEST(checks["broker"]["last_error"].get<std::string>().find("disagree on X: journal filled, broker canceled") !=
                 std::string::npos,
             checks.dump());
  self->request(broker_actor, 10s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
}
