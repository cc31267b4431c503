#include "daemon/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/cache_actor.hpp"
#include "actors/inference_actor.hpp"
#include "actors/broker_actor.hpp"
#include "actors/portfolio_actor.hpp"
#include "actors/scheduler.hpp"
#include "actors/symbol_actor.hpp"
#include "market/durable_sim_broker.hpp"
#include "market/order_journal.hpp"
#include "market/replay_feed.hpp"
#include "market/synthetic_feed.hpp"
#include "actors/supervisor.hpp"
#include "core/config.hpp"
#include "daemon/logging.hpp"
#include "daemon/notify.hpp"
#include "daemon/version.hpp"
#include "http/server.hpp"
#include "inference/kronos_init.hpp"

namespace tb::daemon {
namespace {

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The config as the daemon runs it: the snapshot, its generation and the last reload's outcome.
// Owned by the main thread.
struct config_state {
  core::config_ptr current;
  std::uint64_t generation = 1;
  std::string loaded_at = utc_now_iso();
  nlohmann::json last_reload = nullptr;  // {"at", "ok", "error"} after the first SIGHUP

  void publish(core::snapshot_board& board) const {
    board.publish("config", {{"generation", generation},
                             {"loaded_at", loaded_at},
                             {"last_reload", last_reload},
                             {"path", current->path},
                             {"values", core::describe(*current)}});
    core::health_check check;
    check.detail = {{"generation", generation}, {"path", current->path}};
    if (last_reload.is_object() && !last_reload["ok"].get<bool>()) {
      check.status = core::health_status::degraded;  // the old config serves; someone must look
      check.detail["error"] = last_reload["error"];
    }
    board.publish_check("config", std::move(check));
  }
};

// Stops the process if an orderly shutdown overruns its deadline (a blocked actor, a wedged
// library call): systemd would kill us anyway; this says why first.
class shutdown_guard {
 public:
  explicit shutdown_guard(std::chrono::milliseconds limit)
      : thread_([this, limit] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            spdlog::critical("shutdown overran its deadline by {} ms; exiting without waiting further",
                             limit.count());
            spdlog::default_logger()->flush();
            std::_Exit(1);
          }
        }) {}
  ~shutdown_guard() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string status_line(const http::server& server, const core::config& cfg, const config_state& cs) {
  return "STATUS=serving http on " + cfg.http_address + ":" + std::to_string(server.port()) +
         "; config generation " + std::to_string(cs.generation) + "; " +
         std::to_string(cfg.active_symbols().size()) + " symbols";
}

void reload(config_state& cs, core::snapshot_board& board, const caf::actor& supervisor) {
  notify_reloading();
  auto next = core::load_config(cs.current->path);
  if (!next) {
    spdlog::error("reload rejected; the running config stays in force:\n{}", next.error().message);
    cs.last_reload = {{"at", utc_now_iso()}, {"ok", false}, {"error", next.error().message}};
    cs.publish(board);
    return;
  }
  for (const auto& key : core::restart_required(*cs.current, **next))
    spdlog::warn("reload: {} changed; it is read at start only and takes effect after a restart", key);
  cs.current = *next;
  ++cs.generation;
  cs.loaded_at = utc_now_iso();
  cs.last_reload = {{"at", cs.loaded_at}, {"ok", true}, {"error", nullptr}};
  set_log_level(cs.current->log_level);
  caf::anon_send(supervisor, actors::reload_atom::value, cs.current);
  cs.publish(board);
  spdlog::info("reload: config generation {} from {}", cs.generation, cs.current->path);
}

// The supervisor answers only when every actor under it does: the watchdog's evidence of life.
bool heartbeat(caf::scoped_actor& self, const caf::actor& supervisor, std::chrono::milliseconds timeout) {
  bool alive = false;
  self->request(supervisor, timeout, actors::heartbeat_atom::value)
      .receive([&](actors::heartbeat_atom, std::uint64_t) { alive = true; },
               [&](caf::error& err) { spdlog::warn("watchdog: no heartbeat ({})", self->system().render(err)); });
  return alive;
}

// model.dir = "": the demo checkpoint under state_dir, made on first use (tiny preset, random
// weights: forecasts are meaningless, trading is paper).
tb::expected<std::string> resolve_model_dir(const core::config& cfg) {
  if (!cfg.model_dir.empty()) return cfg.model_dir;
  const auto dir = std::filesystem::path(cfg.state_dir) / "demo-model";
  if (!std::filesystem::exists(dir / "model" / "model.safetensors")) {
    auto preset = inference::preset_by_name("tiny");
    if (!preset) return preset.error();
    auto written = inference::write_random_checkpoint(*preset, 0, dir.string());
    if (!written) return tb::error{written.error().code, "cannot write the demo checkpoint: " + written.error().message};
  }
  spdlog::warn("model.dir is empty: using the untrained demo checkpoint {} (random weights; forecasts are "
               "meaningless)", dir.string());
  return dir.string();
}

// ---- the trading loop (issue 5): feed, clock, broker, and the actors that use them ----------

// The current incarnation of a supervised child, for actors that talk to it (a restart replaces
// it). Written by the child's spawn function on the supervisor's thread, read by any actor.
// Holds a weak reference: the slot never keeps an actor alive (CAF waits for every detached
// actor to be destroyed before the actor system can go).
struct handle_slot {
  std::mutex mu;
  caf::weak_actor_ptr handle;
  void set(const caf::actor& h) {
    std::lock_guard<std::mutex> lock(mu);
    handle = caf::actor_cast<caf::weak_actor_ptr>(h);
  }
  caf::actor get() {
    std::lock_guard<std::mutex> lock(mu);
    return caf::actor_cast<caf::actor>(handle);
  }
};

actors::actor_lookup lookup_of(std::shared_ptr<handle_slot> slot) {
  return [slot] { return slot->get(); };
}

struct trading_parts {
  std::shared_ptr<market::feed> feed;
  std::shared_ptr<core::sim_clock> sim_clock;   // market.clock = simulated
  std::shared_ptr<const core::clock> clock;     // the clock everyone reads
  std::shared_ptr<market::broker> broker;
  std::string journal_path;
};

tb::expected<std::shared_ptr<market::feed>> make_feed(const core::config& cfg, std::shared_ptr<const core::clock> clock) {
  if (cfg.market_feed == "synthetic") {
    market::synthetic_config sc;
    sc.seed = static_cast<std::uint64_t>(cfg.synthetic_seed);
    sc.equity_count = static_cast<int>(cfg.synthetic_equities);
    sc.crypto_count = static_cast<int>(cfg.synthetic_crypto);
    if (!cfg.symbols.empty()) {  // the generated names plus the configured ones (reloads may pick any)
      sc.symbols = market::synthetic_feed::symbol_names(sc);
      for (const auto& s : cfg.symbols)
        if (std::find(sc.symbols.begin(), sc.symbols.end(), s) == sc.symbols.end()) sc.symbols.push_back(s);
    }
    sc.period = cfg.synthetic_period_min == 1440 ? core::duration(std::chrono::hours(24))
                                                 : core::duration(std::chrono::minutes(cfg.synthetic_period_min));
    auto start = actors::parse_utc_instant(cfg.synthetic_start, "market.synthetic_start");
    if (!start) return start.error();
    sc.start = *start;
    auto f = market::synthetic_feed::create(sc, std::move(clock));
    if (!f) return f.error();
    return std::shared_ptr<market::feed>(*f);
  }
  if (cfg.market_feed == "replay") {
    market::replay_config rc;
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(cfg.replay_dir, ec))
      if (e.path().extension() == ".csv") files.push_back(e.path().string());
    if (ec) return tb::error{errc::bad_config, "market.replay_dir " + cfg.replay_dir + ": " + ec.message()};
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      market::replay_source src;
      src.path = f;
      rc.sources.push_back(src);
    }
    if (rc.sources.empty()) return tb::error{errc::bad_config, "market.replay_dir " + cfg.replay_dir + " holds no .csv file"};
    auto f = market::replay_feed::create(rc, std::move(clock));
    if (!f) return f.error();
    for (const auto& w : (*f)->warnings()) spdlog::warn("replay: {}", w);
    return std::shared_ptr<market::feed>(*f);
  }
  return tb::error{errc::bad_config, "market.feed = \"" + cfg.market_feed +
                                         "\" is not wired into tradebotd yet (synthetic and replay are)"};
}

tb::expected<trading_parts> make_trading_parts(const core::config& cfg) {
  trading_parts parts;
  const auto broker_dir = std::filesystem::path(cfg.state_dir) / "broker";
  parts.journal_path = (broker_dir / "orders.jsonl").string();
  if (cfg.market_clock == "simulated") {
    auto start = actors::parse_utc_instant(cfg.sim_start, "market.sim_start");
    if (!start) return start.error();
    // A restarted simulated run resumes after the last instant its journal recorded, so the
    // cycles it already ran (and their orders) are not decided again on a changed account.
    core::time_point at = *start;
    if (std::filesystem::exists(parts.journal_path)) {
      auto j = market::order_journal::open(parts.journal_path);
      if (!j) return j.error();
      for (const auto& r : j->records()) at = std::max(at, core::time_point(core::duration(r.at_unix_ns)));
      if (at > *start) spdlog::info("simulated clock resumes at {} (the order journal's last record)", core::to_iso8601(at));
    }
    parts.sim_clock = std::make_shared<core::sim_clock>(at);
    parts.clock = parts.sim_clock;
  } else {
    parts.clock = std::make_shared<core::wall_clock>();
  }
  auto feed = make_feed(cfg, parts.clock);
  if (!feed) return feed.error();
  parts.feed = *feed;
  if (cfg.broker_kind != "sim")
    return tb::error{errc::bad_config, "broker.kind = \"" + cfg.broker_kind + "\" is not wired into tradebotd yet (sim is)"};
  market::sim_broker_config bc;
  bc.initial_cash = cfg.broker_initial_cash;
  bc.equity_fee_rate = cfg.broker_equity_fee_rate;
  bc.crypto_fee_rate = cfg.broker_crypto_fee_rate;
  bc.default_spread = cfg.broker_default_spread;
  bc.allow_short_equity = cfg.broker_allow_short_equity;
  // The sim broker keeps its account in the state folder, as a real broker keeps it on its side.
  auto broker = market::durable_sim_broker::open(bc, parts.clock, parts.feed, (broker_dir / "sim-ledger.jsonl").string());
  if (!broker) return broker.error();
  parts.broker = std::shared_ptr<market::broker>(std::move(*broker));
  return parts;
}

}  // namespace

int run_daemon(const daemon_options& options) {
  // Every thread started from here on inherits this mask; the main thread takes the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto started_at = std::chrono::steady_clock::now();
  setup_logging();
  auto loaded = core::load_config(options.config_path);
  if (!loaded) {
    std::cerr << "tradebotd: invalid configuration:\n" << loaded.error().message << "\n";
    return 2;
  }
  config_state cs{*loaded};
  const core::config& cfg = *cs.current;
  set_log_level(cfg.log_level);
  spdlog::info("tradebotd {} starting (config: {})", version, cfg.path.empty() ? "defaults" : cfg.path);

  auto board = std::make_shared<core::snapshot_board>();
  cs.publish(*board);

  // HTTP first: a taken port fails the start before anything else runs, and /health answers
  // 503 "starting" while the model loads and warms up.
  board->publish_check("startup", {core::health_status::failing, {{"phase", "loading the model"}}});
  http::server_options http_opts;
  http_opts.address = cfg.http_address;
  http_opts.port = static_cast<std::uint16_t>(cfg.http_port);
  http_opts.max_header_bytes = static_cast<std::size_t>(cfg.http_max_header_bytes);
  http_opts.max_body_bytes = static_cast<std::size_t>(cfg.http_max_body_bytes);
  http_opts.io_timeout = std::chrono::milliseconds(cfg.http_timeout_ms);
  http::server server(http_opts, board, http::server_info{version, started_at});
  auto port = server.start();
  if (!port) {
    std::cerr << "tradebotd: " << port.error().message << "\n";
    return 1;
  }

  // The trading loop's feed, clock and broker (issue 5): a bad feed or broker config fails here.
  std::optional<trading_parts> trading;
  if (cfg.trading_enabled) {
    auto parts = make_trading_parts(cfg);
    if (!parts) {
      std::cerr << "tradebotd: " << parts.error().message << "\n";
      return 2;
    }
    trading = std::move(*parts);
  }

  // The model: loaded and warmed up before anything is said to be ready.
  auto service_opts = actors::service_options_of(cfg);
  auto model_dir = resolve_model_dir(cfg);
  if (!model_dir) {
    std::cerr << "tradebotd: " << model_dir.error().message << "\n";
    return 1;
  }
  service_opts.model_dir = *model_dir;
  auto service = inference::model_service::start(service_opts);
  if (!service) {
    std::cerr << "tradebotd: cannot start the model: " << service.error().message << "\n";
    return 1;
  }

  caf::actor_system_config sys_cfg;
  actors::register_types(sys_cfg);
  sys_cfg.load<caf::io::middleman>();
  const auto workers = cfg.scheduler_threads > 0 ? static_cast<std::size_t>(cfg.scheduler_threads)
                                                 : std::max(2u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", workers);
  auto sys = std::make_unique<caf::actor_system>(sys_cfg);
  std::vector<actors::child_spec> children;
  // Symbol actors send their forecast requests to whatever `forecaster` holds: the cache actor
  // (issue 4), a read-through cache in front of the inference actor.
  auto forecaster = std::make_shared<handle_slot>();
  children.push_back({"inference", [svc = *service, board](caf::local_actor* self, const core::config_ptr& c) {
                        auto h = actors::spawn_inference_actor(self, svc, board, c);
                        self->system().registry().put(actors::inference_name, h);  // the cache actor's upstream
                        return h;
                      }});
  // The forecast cache (issue 4): registry `forecaster_name` -> the cache actor, which finds the
  // inference actor under `inference_name`; each spawn function re-puts its handle after a
  // supervisor restart (actors/README.md). TTLs run on the wall clock, as Redis's PX does.
  children.push_back({"cache", [board, forecaster](caf::local_actor* self, const core::config_ptr& c) {
                        auto* sys = &self->system();
                        auto h = actors::spawn_cache_actor(
                            self, [sys] { return actors::lookup_actor(*sys, actors::inference_name); }, board, c,
                            std::make_shared<const core::wall_clock>());
                        sys->registry().put(actors::forecaster_name, h);
                        forecaster->set(h);
                        return h;
                      }});
  // The trading loop: broker actor (journal), portfolio, scheduler (owns the symbol actors).
  auto broker_slot = std::make_shared<handle_slot>();
  auto portfolio_slot = std::make_shared<handle_slot>();
  if (trading) {
    auto parts = std::make_shared<trading_parts>(*trading);
    auto symbol_stats = std::make_shared<actors::symbol_board>(board);
    children.push_back({"broker", [parts, board, broker_slot](caf::local_actor* self, const core::config_ptr& c) {
                          auto h = actors::spawn_broker_actor(self, {parts->broker, parts->journal_path, parts->clock, board, c});
                          broker_slot->set(h);
                          return h;
                        }});
    children.push_back({"portfolio", [parts, board, broker_slot, portfolio_slot](caf::local_actor* self,
                                                                                 const core::config_ptr& c) {
                          auto h = actors::spawn_portfolio_actor(self, {lookup_of(broker_slot), parts->clock, board, c});
                          portfolio_slot->set(h);
                          return h;
                        }});
    children.push_back({"scheduler", [parts, board, symbol_stats, forecaster, portfolio_slot](
                                         caf::local_actor* self, const core::config_ptr& c) {
                          actors::scheduler_args a;
                          a.feed = parts->feed;
                          a.sim_clock = parts->sim_clock;
                          if (!parts->sim_clock) a.wall_clock = parts->clock;
                          a.forecaster = lookup_of(forecaster);
                          a.portfolio = lookup_of(portfolio_slot);
                          a.board = board;
                          a.symbol_stats = symbol_stats;
                          a.cfg = c;
                          return actors::spawn_scheduler(self, std::move(a));
                        }});
  }
  auto supervisor = actors::spawn_supervisor(*sys, cs.current, board, std::move(children));

  auto self = std::make_unique<caf::scoped_actor>(*sys);
  const auto watchdog = watchdog_interval();
  const auto tick = watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2)
                             : std::chrono::milliseconds(1000);
  board->remove_check("startup");
  notify("READY=1\n" + status_line(server, *cs.current, cs));
  spdlog::info("ready");

  for (;;) {
    timespec ts{static_cast<time_t>(tick.count() / 1000), static_cast<long>(tick.count() % 1000) * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig < 0) {  // tick: the watchdog is fed only while the actors answer
      if (watchdog && heartbeat(*self, supervisor, tick)) notify("WATCHDOG=1");
      continue;
    }
    if (sig == SIGHUP) {
      reload(cs, *board, supervisor);
      notify("READY=1\n" + status_line(server, *cs.current, cs));
      continue;
    }
    spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }

  notify("STOPPING=1\nSTATUS=stopping");
  const auto deadline = std::chrono::milliseconds(static_cast<long>(cs.current->shutdown_deadline_s * 1000));
  shutdown_guard guard(deadline + std::chrono::seconds(2));  // covers the joins below too
  int code = 0;
  (*self)->request(supervisor, deadline, actors::stop_atom::value)
      .receive([](caf::ok_atom) { spdlog::info("actors stopped"); },
               [&](caf::error& err) {
                 spdlog::error("actors did not stop within {} ms ({}); terminating them", deadline.count(),
                               sys->render(err));
                 code = 1;
               });
  (*self)->send_exit(supervisor, caf::exit_reason::user_shutdown);
  server.stop();
  self.reset();
  supervisor = nullptr;
  // Strong references to stopped actors keep sys.reset() waiting: drop them (issue 4).
  sys->registry().erase(actors::forecaster_name);
  sys->registry().erase(actors::inference_name);
  forecaster->set(caf::actor());
  sys.reset();  // joins CAF's threads once every actor is gone
  spdlog::info("tradebotd stopped");
  return code;
}

}  // namespace tb::daemon
