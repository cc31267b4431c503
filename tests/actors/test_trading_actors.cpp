// The trading actors in one process, without the daemon: scheduler (with its symbol actors),
// portfolio and broker actor on a simulated clock over the synthetic feed, with a fake forecaster
// that fails one symbol's first requests: that symbol reports error, backs off and recovers,
// while the other symbol trades all along (its actor killed once and restarted by the
// scheduler); the run is bounded by market.sim_end.
#define BOOST_TEST_MODULE trading_actors
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>

#include <caf/all.hpp>

#include "actors/broker_actor.hpp"
#include "actors/portfolio_actor.hpp"
#include "actors/scheduler.hpp"
#include "market/durable_sim_broker.hpp"
#include "market/synthetic_feed.hpp"
#include "tests/support/process.hpp"

using namespace tb;
using namespace std::chrono_literals;

namespace {

struct forecaster_counts {
  std::mutex mu;
  std::map<std::string, int> requests;
};

// Answers every window with close +1%, high +2%, low -1% of the window's last close; the first
// `failures` requests of `failing` are answered with errors; the `crash_at`-th request of
// `crashing` kills the symbol actor that sent it (an exit with an error, as a bug would).
caf::behavior fake_forecaster(caf::event_based_actor* self, std::shared_ptr<forecaster_counts> counts,
                              std::string failing, int failures, std::string crashing, int crash_at) {
  return {[=](actors::forecast_atom, const actors::forecast_request& req) {
    actors::forecast_reply reply;
    const std::string sym = req.windows.empty() ? "" : req.windows.front().window.symbol;
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(counts->mu);
      n = ++counts->requests[sym];
    }
    if (sym == crashing && n == crash_at)
      self->send_exit(caf::actor_cast<caf::actor>(self->current_sender()), caf::sec::runtime_error);
    for (const auto& w : req.windows) {
      actors::window_answer a;
      if (sym == failing && n <= failures) {
        a.error_code = "unavailable";
        a.error = "fake forecaster: down for " + sym;
      } else {
        const double c = w.window.bars.back().close;
        a.ok = true;
        a.forecast.rows.push_back({c, c * 1.02, c * 0.99, c * 1.01, 1000, 1000 * c});
      }
      reply.answers.push_back(std::move(a));
    }
    return reply;
  }};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_symbol_whose_forecasts_fail_backs_off_and_recovers_while_the_other_trades) {
  test::temp_dir state;
  auto cfg = std::make_shared<core::config>();
  cfg->path = "test";
  cfg->symbols = {"DEMO01", "DEMO02"};
  cfg->lookback = 16;
  cfg->max_context = 16;
  cfg->pred_len = 1;
  cfg->walk_forward_windows = 6;
  cfg->min_sharpe = -10;
  cfg->min_edge = -1;
  cfg->sim_end = "2025-07-15";
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
  auto forecaster = sys.spawn(fake_forecaster, counts, std::string("DEMO02"), 3, std::string("DEMO01"), 5);
  auto broker_actor = actors::spawn_broker_actor(
      self.ptr(), {shared_broker, (state.path / "orders.jsonl").string(), clock, board, cfg});
  auto portfolio = actors::spawn_portfolio_actor(self.ptr(), {[=] { return broker_actor; }, clock, board, cfg});
  actors::scheduler_args a;
  a.feed = *feed;
  a.sim_clock = clock;
  a.forecaster = [=] { return forecaster; };
  a.portfolio = [=] { return portfolio; };
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

  auto symbols = board->section("symbols");
  BOOST_REQUIRE(symbols);
  const auto& d1 = (*symbols)["DEMO01"];
  const auto& d2 = (*symbols)["DEMO02"];
  // DEMO02 failed three times, backed off, and came back.
  {
    std::lock_guard<std::mutex> lock(counts->mu);
    BOOST_TEST(counts->requests["DEMO02"] > 3);
    BOOST_TEST(counts->requests["DEMO01"] > 3);
  }
  BOOST_TEST(d2["state"] != "error", d2.dump());
  BOOST_TEST(d2["error"].is_null(), d2.dump());
  BOOST_TEST(d2["failures"] == 0, d2.dump());
  BOOST_TEST(d1["failures"] == 0, d1.dump());
  BOOST_TEST(d1["cycles"].get<int>() > 20, d1.dump());
  BOOST_TEST(d1["forecast"]["close"].is_number(), d1.dump());
  // DEMO01 was traded; the broker holds what the portfolio says.
  auto pf = board->section("portfolio");
  BOOST_REQUIRE(pf);
  BOOST_TEST((*pf)["orders_accepted"].get<int>() > 0, pf->dump());
  BOOST_TEST(test::read_file(state.path / "orders.jsonl").find("\"symbol\":\"DEMO01\"") != std::string::npos);
  // DEMO01's actor was killed once (its 5th request): the scheduler restarted it and it went on.
  BOOST_TEST((*sched)["symbols"]["DEMO01"]["restarts"] == 1, sched->dump());
  BOOST_TEST((*sched)["symbols"]["DEMO01"]["running"] == true, sched->dump());
  BOOST_TEST((*sched)["symbols"]["DEMO02"]["restarts"] == 0, sched->dump());
  nlohmann::json health = board->checks();
  BOOST_TEST(health["symbols"]["status"] == "ok", health.dump());

  for (const auto& h : {scheduler, portfolio, broker_actor})
    self->request(h, 10s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
  self->send_exit(forecaster, caf::exit_reason::user_shutdown);
}
