#include "daemon/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/config.hpp"
#include "actors/inference_actor.hpp"
#include "actors/middleman_transport.hpp"
#include "actors/supervisor.hpp"
#include "core/clock.hpp"
#include "core/log_throttle.hpp"
#include "daemon/actor_tree.hpp"
#include "daemon/logging.hpp"
#include "daemon/notify.hpp"
#include "daemon/version.hpp"
#include "http/auth.hpp"
#include "http/server.hpp"
#include "inference/kronos_init.hpp"

namespace tb::daemon {
namespace {

std::string utc_now_iso() { return core::to_iso8601(core::wall_clock().now()); }

// The config as the daemon runs it: the snapshot, its generation and the last reload's outcome.
// Owned by the main thread.
struct config_state {
  actors::config_ptr current;
  std::uint64_t generation = 1;
  std::string loaded_at = utc_now_iso();
  nlohmann::json last_reload = nullptr;  // {"at", "ok", "error"} after the first SIGHUP

  void publish(core::snapshot_board& board) const {
    board.publish("config", {{"generation", generation},
                             {"loaded_at", loaded_at},
                             {"last_reload", last_reload},
                             {"path", current->path},
                             {"values", actors::describe(*current)}});
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
            spdlog::critical("shutdown overran its deadline by {} ms; exiting without waiting further", limit.count());
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

// `listening`: "ADDR:PORT" as bound at start (http.* is read at start only; a reload that
// changes it does not move the server).
std::string status_line(const std::string& listening, const config_state& cs) {
  return "STATUS=serving http on " + listening + "; config generation " + std::to_string(cs.generation) + "; " +
         std::to_string(cs.current->trading.active_symbols().size()) + " symbols";
}

void reload(config_state& cs, core::snapshot_board& board, const caf::actor& supervisor) {
  notify_reloading();
  auto next = actors::load_config(cs.current->path);
  if (!next) {
    spdlog::error("reload rejected; the running config stays in force:\n{}", next.error().message);
    cs.last_reload = {{"at", utc_now_iso()}, {"ok", false}, {"error", next.error().message}};
    cs.publish(board);
    return;
  }
  for (const auto& key : actors::restart_required(*cs.current, **next))
    spdlog::warn("reload: {} changed; it is read at start only and takes effect after a restart", key);
  cs.current = *next;
  ++cs.generation;
  cs.loaded_at = utc_now_iso();
  cs.last_reload = {{"at", cs.loaded_at}, {"ok", true}, {"error", nullptr}};
  set_log_level(cs.current->daemon.log_level);
  caf::anon_send(supervisor, actors::reload_atom::value, cs.current);
  cs.publish(board);
  spdlog::info("reload: config generation {} from {}", cs.generation, cs.current->path);
}

// The supervisor answers only when every actor under it does: the watchdog's evidence of life.
// An answer is published for /health/live, stale after three ticks without another.
bool alive(caf::scoped_actor& self, const caf::actor& supervisor, std::chrono::milliseconds tick,
           core::snapshot_board& board) {
  const std::string error = heartbeat(self, supervisor, tick);
  if (!error.empty()) {
    // Asked every tick (1 s without a watchdog): a stall says so once per 10 s, not per tick.
    static core::log_throttle quiet(std::chrono::seconds(10));
    if (std::uint64_t held = 0; quiet.allow(&held))
      spdlog::warn("no heartbeat from the actors ({}){}", error, core::suppressed_note(held));
    return false;
  }
  http::publish_heartbeat(board, std::chrono::steady_clock::now(), 3 * tick);
  return true;
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
  auto loaded = actors::load_config(options.config_path);
  if (!loaded) {
    std::cerr << "tradebotd: invalid configuration:\n" << loaded.error().message << "\n";
    return 2;
  }
  config_state cs{*loaded};
  const actors::config& cfg = *cs.current;
  set_log_level(cfg.daemon.log_level);
  spdlog::info("tradebotd {} starting (config: {})", version, cfg.path.empty() ? "defaults" : cfg.path);
  auto token = http::resolve_auth_token(cfg.http, core::process_env());
  if (!token) {
    std::cerr << "tradebotd: " << token.error().message << "\n";
    return 2;
  }
  if (!token->value.empty())
    spdlog::info("http: every path but /, /health/live and /health/ready needs the bearer token of {}", token->source);

  auto board = std::make_shared<core::snapshot_board>();
  cs.publish(*board);

  // HTTP first: a taken port fails the start before anything else runs, and /health answers
  // 503 "starting" while the model loads and warms up.
  board->publish_check("startup", {core::health_status::failing, {{"phase", "loading the model"}}});
  http::server_options http_opts;
  http_opts.address = cfg.http.address;
  http_opts.port = static_cast<std::uint16_t>(cfg.http.port);
  http_opts.max_header_bytes = static_cast<std::size_t>(cfg.http.max_header_bytes);
  http_opts.max_body_bytes = static_cast<std::size_t>(cfg.http.max_body_bytes);
  http_opts.io_timeout = std::chrono::milliseconds(cfg.http.io_timeout);
  http_opts.max_connections = static_cast<std::size_t>(cfg.http.max_connections);
  http_opts.max_connections_per_client = static_cast<std::size_t>(cfg.http.max_connections_per_client);
  http_opts.probe_reserve = static_cast<std::size_t>(cfg.http.probe_reserve);
  http_opts.probe_timeout = std::chrono::milliseconds(cfg.http.probe_timeout);
  http::server server(http_opts, board, http::server_info{version, started_at, token->value});
  auto port = server.start();
  if (!port) {
    std::cerr << "tradebotd: " << port.error().message << "\n";
    return 1;
  }
  const std::string listening = cfg.http.address + ":" + std::to_string(*port);

  // The trading loop's feed, clock and broker: a bad feed or broker config fails here.
  std::optional<trading_parts> trading;
  if (cfg.trading.enabled) {
    auto parts = make_trading_parts(cfg);
    if (!parts) {
      std::cerr << "tradebotd: " << parts.error().message << "\n";
      return 2;
    }
    trading = std::move(*parts);
  }

  // The middleman's TLS files: refused here, not on CAF's I/O thread at the first connection.
  const auto tls = actors::tls_options_of(cfg);
  if (auto err = actors::check_tls_files(tls)) {
    std::cerr << "tradebotd: " << err->message << "\n";
    return 2;
  }

  // The model: loaded and warmed up before anything is said to be ready; none with
  // inference.remote (the hosts serve it; READY does not wait for them).
  std::shared_ptr<inference::model_service> service;
  if (cfg.inference.middleman.remote.empty()) {
    auto service_opts = cfg.inference;
    auto model_dir = resolve_model_dir(cfg);
    if (!model_dir) {
      std::cerr << "tradebotd: " << model_dir.error().message << "\n";
      return 1;
    }
    service_opts.model_dir = *model_dir;
    auto started = inference::model_service::start(service_opts);
    if (!started) {
      std::cerr << "tradebotd: cannot start the model: " << started.error().message << "\n";
      return 1;
    }
    service = *started;
  } else {
    spdlog::info("inference: no local model; forecasts come from {} remote host(s)",
                 cfg.inference.middleman.remote.size());
  }

  caf::actor_system_config sys_cfg;
  configure_actor_system(sys_cfg, cfg);
  actors::configure_transport(sys_cfg, tls);
  auto sys = std::make_unique<caf::actor_system>(sys_cfg);
  actor_tree_hooks hooks;
  hooks.broker_fault = options.broker_fault;
  auto tree = build_actor_tree(service, board, trading, hooks);
  auto supervisor = actors::spawn_supervisor(*sys, cs.current, board, std::move(tree.children));

  auto self = std::make_unique<caf::scoped_actor>(*sys);
  const auto watchdog = watchdog_interval();
  const auto tick =
      watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2) : std::chrono::milliseconds(1000);
  alive(*self, supervisor, tick, *board);  // /health/live answers from READY on
  board->remove_check("startup");
  notify("READY=1\n" + status_line(listening, cs));
  spdlog::info("ready");

  for (;;) {
    timespec ts{static_cast<time_t>(tick.count() / 1000), static_cast<long>(tick.count() % 1000) * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig < 0) {  // tick: the watchdog is fed only while the actors answer
      if (alive(*self, supervisor, tick, *board) && watchdog) notify("WATCHDOG=1");
      continue;
    }
    if (sig == SIGHUP) {
      reload(cs, *board, supervisor);
      notify("READY=1\n" + status_line(listening, cs));
      continue;
    }
    spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }

  notify("STOPPING=1\nSTATUS=stopping");
  const auto deadline = std::chrono::milliseconds(static_cast<long>(cs.current->daemon.shutdown_deadline_s * 1000));
  shutdown_guard guard(deadline + std::chrono::seconds(2));  // covers the joins below too
  int code = 0;
  self.reset();
  if (auto err = stop_actor_tree(*sys, supervisor, deadline); !err.empty()) {
    spdlog::error("actors did not stop within {} ms ({}); terminating them", deadline.count(), err);
    code = 1;
  } else {
    spdlog::info("actors stopped");
  }
  server.stop();
  sys.reset();  // joins CAF's threads once every actor is gone
  spdlog::info("tradebotd stopped");
  return code;
}

}  // namespace tb::daemon
