// The supervisor: restarts failed children (within limits), fans out reloads and heartbeats,
// and stops its children on request.
#define BOOST_TEST_MODULE supervisor
#include <boost/test/unit_test.hpp>

#include <atomic>

#include <caf/all.hpp>

#include "actors/supervisor.hpp"

using namespace tb;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using hang_atom = caf::atom_constant<caf::atom("hang")>;

// A child that answers heartbeats, records reloads, crashes on request and can be wedged.
caf::behavior test_child(caf::event_based_actor* self, std::shared_ptr<std::atomic<int>> reloads) {
  return {
      [](actors::heartbeat_atom) { return caf::make_message(actors::heartbeat_atom::value, std::uint64_t{1}); },
      [reloads](actors::reload_atom, actors::config_ptr) { ++*reloads; },
      [self](crash_atom) { self->quit(caf::sec::runtime_error); },
      [self](hang_atom) { self->become([](actors::heartbeat_atom) {}); },  // stops answering heartbeats
      [self](actors::stop_atom) {
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<core::snapshot_board> board = std::make_shared<core::snapshot_board>();
  std::shared_ptr<std::atomic<int>> reloads = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> spawns = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<caf::actor> current = std::make_shared<caf::actor>();
  caf::actor sup;

  explicit fixture(actors::supervisor_options opts = {}) {
    std::vector<actors::child_spec> children;
    children.push_back({"child", [this](caf::local_actor* self, const actors::config_ptr&) {
                          ++*spawns;
                          auto a = self->spawn(test_child, reloads);
                          *current = a;
                          return a;
                        }});
    sup = actors::spawn_supervisor(sys, std::make_shared<actors::config>(), board, std::move(children), opts);
  }
  bool heartbeat() {
    caf::scoped_actor self{sys};
    bool ok = false;
    self->request(sup, 5s, actors::heartbeat_atom::value)
        .receive([&](actors::heartbeat_atom, std::uint64_t) { ok = true; }, [&](caf::error&) { ok = false; });
    return ok;
  }
  // Waits (bounded) until the child has been spawned `n` times and the new one answers.
  bool wait_spawns(int n) {
    for (int i = 0; i < 500; ++i) {
      if (*spawns >= n && heartbeat()) return true;
      std::this_thread::sleep_for(10ms);  // polling a condition, bounded
    }
    return false;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_failed_child_is_restarted_and_reloads_reach_children) {
  fixture fx;
  BOOST_REQUIRE(fx.wait_spawns(1));
  caf::anon_send(*fx.current, crash_atom::value);
  BOOST_REQUIRE(fx.wait_spawns(2));
  auto checks = fx.board->checks();
  BOOST_TEST(checks["actors"]["children"]["child"]["restarts"] == 1);
  BOOST_TEST(checks["actors"]["status"] == "ok");

  caf::anon_send(fx.sup, actors::reload_atom::value, actors::config_ptr(std::make_shared<actors::config>()));
  for (int i = 0; i < 500 && *fx.reloads == 0; ++i) std::this_thread::sleep_for(10ms);
  BOOST_TEST(*fx.reloads == 1);

  caf::scoped_actor self{fx.sys};
  bool stopped = false;
  self->request(fx.sup, 5s, actors::stop_atom::value)
      .receive([&](caf::ok_atom) { stopped = true; }, [](caf::error&) {});
  BOOST_TEST(stopped);
  caf::anon_send_exit(fx.sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_wedged_child_stops_the_heartbeat) {
  actors::supervisor_options opts;
  opts.heartbeat_timeout = 200ms;
  fixture fx(opts);
  BOOST_REQUIRE(fx.wait_spawns(1));
  caf::anon_send(*fx.current, hang_atom::value);
  BOOST_TEST(!fx.heartbeat());  // the watchdog would not be fed
  caf::anon_send_exit(fx.sup, caf::exit_reason::kill);
}

BOOST_AUTO_TEST_CASE(too_many_failures_leave_the_child_down_and_health_failing) {
  actors::supervisor_options opts;
  opts.max_restarts = 2;
  fixture fx(opts);
  for (int n = 1; n <= 3; ++n) {
    BOOST_REQUIRE(fx.wait_spawns(n));
    caf::anon_send(*fx.current, crash_atom::value);
  }
  core::health_status worst = core::health_status::ok;
  for (int i = 0; i < 500 && worst != core::health_status::failing; ++i) {
    fx.board->checks(&worst);
    if (worst != core::health_status::failing) std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST((worst == core::health_status::failing));
  BOOST_TEST(*fx.spawns == 3);  // the first start and two restarts
  caf::anon_send_exit(fx.sup, caf::exit_reason::kill);
}
