#include "daemon/actor_tree.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/broker_actor.hpp"
#include "actors/cache_actor.hpp"
#include "actors/inference_actor.hpp"
#include "actors/portfolio_actor.hpp"
#include "actors/remote_inference.hpp"
#include "actors/symbol_actor.hpp"
#include "core/calendar.hpp"
#include "inference/kronos_init.hpp"
#include "market/alpaca.hpp"
#include "market/durable_sim_broker.hpp"
#include "market/order_journal.hpp"
#include "market/replay_feed.hpp"
#include "market/synthetic_feed.hpp"

namespace tb::daemon {
namespace {

market::https_options alpaca_http(const actors::config& cfg, const char* log_name) {
  market::https_options o;
  o.ca_file = cfg.alpaca.ca_file;
  o.connect_timeout = o.io_timeout = std::chrono::milliseconds(static_cast<long>(cfg.alpaca.timeout_s * 1000));
  o.max_attempts = static_cast<int>(cfg.alpaca.max_attempts);
  o.rate_per_minute = cfg.alpaca.rate_per_minute;
  o.log_name = log_name;
  return o;
}

tb::expected<market::alpaca_credentials> alpaca_keys(const actors::config& cfg) {
  auto creds = market::load_alpaca_credentials();
  if (!creds)
    return tb::error{errc::bad_config, "market.feed = \"" + cfg.market.feed + "\", broker.kind = \"" + cfg.broker.kind +
                                           "\": " + creds.error().message};
  return creds;
}

tb::expected<std::shared_ptr<market::feed>> make_feed(const actors::config& cfg,
                                                      std::shared_ptr<const core::clock> clock) {
  if (cfg.market.feed == "alpaca") {
    auto creds = alpaca_keys(cfg);
    if (!creds) return creds.error();
    market::alpaca_feed_options o;
    o.url = cfg.alpaca.data_url;
    o.http = alpaca_http(cfg, "alpaca data");
    o.bar_period = std::chrono::minutes(cfg.alpaca.bar_period_min);
    o.stock_feed = cfg.alpaca.stock_feed;
    o.adjustment = cfg.alpaca.adjustment;
    o.crypto_loc = cfg.alpaca.crypto_loc;
    auto f = market::alpaca_feed::create(*clock, *creds, o);
    if (!f) return f.error();
    // The feed reads the clock by reference: its deleter keeps the clock alive as long as it.
    return std::shared_ptr<market::feed>(f->release(), [clock](market::feed* p) { delete p; });
  }
  if (cfg.market.feed == "synthetic") {
    market::synthetic_config sc;
    sc.seed = static_cast<std::uint64_t>(cfg.market.synthetic_seed);
    sc.equity_count = static_cast<int>(cfg.market.synthetic_equities);
    sc.crypto_count = static_cast<int>(cfg.market.synthetic_crypto);
    if (!cfg.trading.symbols.empty()) {  // the generated names plus the configured ones (reloads may pick any)
      sc.symbols = market::synthetic_feed::symbol_names(sc);
      for (const auto& s : cfg.trading.symbols)
        if (std::find(sc.symbols.begin(), sc.symbols.end(), s) == sc.symbols.end()) sc.symbols.push_back(s);
    }
    sc.period = cfg.market.synthetic_period_min == 1440
                    ? core::duration(std::chrono::hours(24))
                    : core::duration(std::chrono::minutes(cfg.market.synthetic_period_min));
    auto start = core::parse_utc_instant(cfg.market.synthetic_start, "market.synthetic_start");
    if (!start) return start.error();
    sc.start = *start;
    auto f = market::synthetic_feed::create(sc, std::move(clock));
    if (!f) return f.error();
    return std::shared_ptr<market::feed>(*f);
  }
  if (cfg.market.feed == "replay") {
    market::replay_config rc;
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(cfg.market.replay_dir, ec))
      if (e.path().extension() == ".csv") files.push_back(e.path().string());
    if (ec) return tb::error{errc::bad_config, "market.replay_dir " + cfg.market.replay_dir + ": " + ec.message()};
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      market::replay_source src;
      src.path = f;
      rc.sources.push_back(src);
    }
    if (rc.sources.empty())
      return tb::error{errc::bad_config, "market.replay_dir " + cfg.market.replay_dir + " holds no .csv file"};
    auto f = market::replay_feed::create(rc, std::move(clock));
    if (!f) return f.error();
    for (const auto& w : (*f)->warnings()) spdlog::warn("replay: {}", w);
    return std::shared_ptr<market::feed>(*f);
  }
  return tb::error{errc::bad_config, "market.feed = \"" + cfg.market.feed + "\" is unknown"};
}

}  // namespace

// model.dir = "": the demo checkpoint under state_dir, made on first use (tiny preset, random
// weights: forecasts are meaningless, trading is paper).
tb::expected<std::string> resolve_model_dir(const actors::config& cfg) {
  if (!cfg.inference.model_dir.empty()) return cfg.inference.model_dir;
  const auto dir = std::filesystem::path(cfg.daemon.state_dir) / "demo-model";
  if (!std::filesystem::exists(dir / "model" / "model.safetensors")) {
    auto preset = inference::preset_by_name("tiny");
    if (!preset) return preset.error();
    auto written = inference::write_random_checkpoint(*preset, 0, dir.string());
    if (!written)
      return tb::error{written.error().code, "cannot write the demo checkpoint: " + written.error().message};
  }
  spdlog::warn(
      "model.dir is empty: using the untrained demo checkpoint {} (random weights; forecasts are "
      "meaningless)",
      dir.string());
  return dir.string();
}

void configure_actor_system(caf::actor_system_config& sys_cfg, const actors::config& cfg) {
  actors::register_types(sys_cfg);
  const auto workers = cfg.daemon.scheduler_threads > 0 ? static_cast<std::size_t>(cfg.daemon.scheduler_threads)
                                                        : std::max(2u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", workers);
}

tb::expected<trading_parts> make_trading_parts(const actors::config& cfg) {
  trading_parts parts;
  const auto broker_dir = std::filesystem::path(cfg.daemon.state_dir) / "broker";
  parts.journal_path = market::order_journal_path(cfg.daemon.state_dir);
  const auto ledger_path = (broker_dir / "sim-ledger.jsonl").string();  // the sim broker's
  auto equity = market::equity_log::open(market::equity_log_path(cfg.daemon.state_dir));
  if (!equity) return equity.error();
  for (const auto& w : equity->warnings()) spdlog::warn("portfolio: {}", w);
  parts.equity = std::make_shared<market::equity_log>(std::move(*equity));
  if (cfg.market.clock == "simulated") {
    auto start = core::parse_utc_instant(cfg.market.sim_start, "market.sim_start");
    if (!start) return start.error();
    // A restarted simulated run resumes after the last instant its journal recorded, so the
    // cycles it already ran (and their orders) are not decided again on a changed account.
    core::time_point at = *start;
    if (std::filesystem::exists(parts.journal_path)) {
      auto j = market::order_journal::open(parts.journal_path);
      if (!j) return j.error();
      // This open cuts a torn last line, so the broker actor's own open will not see it: say so here.
      for (const auto& w : j->warnings()) spdlog::warn("broker: {}", w);
      for (const auto& r : j->records()) at = std::max(at, core::time_point(core::duration(r.at_unix_ns)));
    }
    // Nor before the sim broker's last request: its replay reads bars up to that instant.
    if (cfg.broker.kind != "alpaca") {
      auto last = market::durable_sim_broker::last_recorded_at(ledger_path);
      if (!last) return last.error();
      if (*last) at = std::max(at, **last);
    }
    if (at > *start)
      spdlog::info("simulated clock resumes at {} (the last record of the order journal or the broker ledger)",
                   core::to_iso8601(at));
    parts.sim_clock = std::make_shared<core::sim_clock>(at);
    parts.clock = parts.sim_clock;
  } else {
    parts.clock = std::make_shared<core::wall_clock>();
  }
  auto feed = make_feed(cfg, parts.clock);
  if (!feed) return feed.error();
  parts.feed = *feed;
  if (cfg.broker.kind == "alpaca") {
    auto creds = alpaca_keys(cfg);
    if (!creds) return creds.error();
    market::alpaca_broker_options o;
    o.live = !cfg.trading.paper && cfg.trading.live;  // config validation refuses paper = false without live = true
    o.url = cfg.alpaca.trading_url;
    o.http = alpaca_http(cfg, "alpaca trading");
    o.crypto_price_increment = cfg.alpaca.crypto_price_increment;
    auto broker = market::alpaca_broker::create(*creds, o);
    if (!broker) return broker.error();
    spdlog::info("broker: Alpaca {} trading", (*broker)->live() ? "LIVE" : "paper");
    parts.broker = std::shared_ptr<market::broker>(std::move(*broker));
    return parts;
  }
  // The sim broker keeps its account in the state folder, as a real broker keeps it on its side.
  auto broker = market::durable_sim_broker::open(cfg.broker.sim, parts.clock, parts.feed, ledger_path);
  if (!broker) return broker.error();
  parts.broker = std::shared_ptr<market::broker>(std::move(*broker));
  return parts;
}

actor_tree build_actor_tree(std::shared_ptr<inference::model_service> service,
                            std::shared_ptr<core::snapshot_board> board, const std::optional<trading_parts>& trading,
                            actor_tree_hooks hooks) {
  actor_tree tree;
  auto inference = tree.inference;
  auto forecaster = tree.forecaster;
  // Symbol actors send their forecast requests to whatever `forecaster` holds: the cache actor, a
  // read-through cache in front of `inference`: the inference actor or, without a service
  // (inference.remote), the remote pool speaking its protocol in its place, so the cache actor
  // sends its misses to the hosts. Each spawn function puts the new incarnation in its slot after
  // a supervisor restart (actors/README.md).
  tree.children.push_back(
      {"inference", [svc = service, board, inference](caf::local_actor* self, const actors::config_ptr& c) {
         auto h = svc ? actors::spawn_inference_actor(self, svc, board, c)
                      : caf::actor_cast<actors::forecaster_actor>(actors::spawn_remote_inference(self, board, c));
         inference->set(h);
         return caf::actor_cast<caf::actor>(h);
       }});
  // TTLs run on the wall clock, as Redis's PX does.
  tree.children.push_back(
      {"cache", [board, inference, forecaster](caf::local_actor* self, const actors::config_ptr& c) {
         auto h = actors::spawn_cache_actor(self, lookup_of(inference), board, c,
                                            std::make_shared<const core::wall_clock>());
         forecaster->set(h);
         return caf::actor_cast<caf::actor>(h);
       }});
  // The trading loop: broker actor (journal), portfolio, scheduler (owns the symbol actors).
  auto broker_slot = tree.broker;
  auto portfolio_slot = tree.portfolio;
  if (trading) {
    auto parts = std::make_shared<trading_parts>(*trading);
    auto symbol_stats = std::make_shared<actors::symbol_board>(board);
    tree.children.push_back({"broker", [parts, board, broker_slot, fault = hooks.broker_fault](
                                           caf::local_actor* self, const actors::config_ptr& c) {
                               auto h = actors::spawn_broker_actor(
                                   self, {parts->broker, parts->journal_path, parts->clock, board, c, fault});
                               broker_slot->set(h);
                               return caf::actor_cast<caf::actor>(h);
                             }});
    tree.children.push_back(
        {"portfolio", [parts, board, broker_slot, portfolio_slot](caf::local_actor* self, const actors::config_ptr& c) {
           auto h =
               actors::spawn_portfolio_actor(self, {lookup_of(broker_slot), parts->clock, board, c, parts->equity});
           portfolio_slot->set(h);
           return caf::actor_cast<caf::actor>(h);
         }});
    tree.children.push_back({"scheduler", [parts, board, symbol_stats, forecaster, portfolio_slot, hooks](
                                              caf::local_actor* self, const actors::config_ptr& c) {
                               actors::scheduler_args a;
                               a.feed = parts->feed;
                               a.sim_clock = parts->sim_clock;
                               if (!parts->sim_clock) a.wall_clock = parts->clock;
                               a.forecaster = lookup_of(forecaster);
                               a.portfolio = lookup_of(portfolio_slot);
                               a.supervisor = [sup = self->address()] { return caf::actor_cast<caf::actor>(sup); };
                               a.board = board;
                               a.symbol_stats = symbol_stats;
                               a.cfg = c;
                               a.on_progress = hooks.on_schedule;
                               return actors::spawn_scheduler(self, std::move(a));
                             }});
  }
  return tree;
}

std::string heartbeat(caf::scoped_actor& self, const caf::actor& supervisor, std::chrono::milliseconds timeout) {
  std::string error;
  self->request(supervisor, timeout, actors::heartbeat_atom::value)
      .receive([](actors::heartbeat_atom, std::uint64_t) {},
               [&](caf::error& err) { error = self->system().render(err); });
  return error;
}

std::string stop_actor_tree(caf::actor_system& sys, caf::actor& supervisor, std::chrono::milliseconds deadline) {
  std::string error;
  {
    caf::scoped_actor self{sys};
    self->request(supervisor, deadline, actors::stop_atom::value)
        .receive([](caf::ok_atom) {}, [&](caf::error& err) { error = sys.render(err); });
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
  }
  supervisor = nullptr;
  return error;
}

}  // namespace tb::daemon
