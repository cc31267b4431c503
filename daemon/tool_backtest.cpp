// `tradebot backtest --config FILE [--data DIR] [--from DATE] [--to DATE] [--set KEY=VALUE ...]
// --report DIR`: the daemon's own actors (daemon/actor_tree.hpp: inference, cache, broker,
// portfolio, scheduler and the symbol actors) on replay data and simulated time, as fast as the
// cycles complete; then DIR/report.json and DIR/report.html (report::write_report). --set
// overrides config keys after the file and the environment (actors::load_config's overrides).
//
// What it forces: market.feed = "replay", market.clock = "simulated", market.sim_cycle_interval_ms
// = 0, trading.enabled = true; daemon.state_dir = DIR/.backtest-state (emptied first: journal,
// broker ledger, demo model), so a backtest never touches a live daemon's journal or ledger.
// The forecast cache (--cache): shared (default) = the config's, so a repeated or overlapping
// backtest computes each window once; fresh = cache.dir DIR/.backtest-state/cache without Redis;
// off = cache.enabled false. The demo model (tiny, seed 0) is byte-identical in every state
// folder, so its identity and the keys are the same in every run. No HTTP server. An empty
// trading.symbols trades every file of the replay folder. Everything else is the config's.
//
// Where the report's numbers come from:
// The trading part (equity_curve, trades, metrics, symbols, orders) is trading_report(), which
// `tradebot report` (daemon/tool_report.cpp) calls too, over a daemon's equity log and journal:
//   equity_curve   the portfolio actor (portfolio_summary_atom): the broker's equity at each cycle
//   trades         the order journal after the run: every fill record, with the side and symbol of
//                  its intent; fee = the config's fee rate of the asset class x qty x price (the
//                  sim broker's rule); time = when the fill was journaled (the cycle that saw it)
//   orders         sent = intents journaled (submitted to the broker), filled = orders with a fill,
//                  rejected = broker rejects + orders refused by the risk checks
//   metrics        strategy::portfolio_metrics (strategy/fill_metrics.hpp): one bar per UTC day: the equity at the
//   day's last cycle against the previous
//                  day's (the first day's against the starting equity); trades = entries that
//                  day (fills that open, grow or flip a position), turnover = notional
//                  traded that day / the previous equity, exposure = gross position (at the last
//                  fill prices) at the start of the day; periods per year 365 when any crypto
//                  symbol trades (the calendar runs every day), else 252
//   symbols        per symbol: its most frequent strategy among its orders ("none" without
//                  orders; "rebalance" orders do not name one), strategy::symbol_metrics over its realised round
//                  trips: each fill that reduces a position is one bar, return = realised P&L net
//                  of both fees / the starting equity; trades = its entries (as above, so the
//                  symbols' trades add up to the portfolio's),
//                  turnover = its traded notional / starting equity / days
//   cache          the cache actor's counters when it stopped (/stats -> cache): hits and misses
//                  of its lookups, hit_rate_percent, computed = windows the model answered
//                  (actor.computed_windows), stored = forecasts handed to the cache (actor.stores)
//   inference      the inference service's stats at the end: errors = requests that failed
//                  (request_failure) + requests refused with the queue full (overloaded);
//                  oom_splits = batches split after the device ran out of memory
//   timing         elapsed_s = wall-clock seconds from the start to the report; inference_s = the
//                  model's compute time (inference stats compute_s_total); cycles = the
//                  portfolio's closed cycles
// The last line on stdout is the cache summary: "Kronos Prediction Cache Stats: hits=X misses=Y
// hit_rate=Z%" (the original bot's form).
// Exit codes: 0 report written, 2 bad arguments or config, 1 the run failed.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include "actors/broker_actor.hpp"
#include "actors/config.hpp"
#include "actors/inference_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "cache/forecast_cache.hpp"
#include "core/calendar.hpp"
#include "daemon/actor_tree.hpp"
#include "daemon/tool_backtest.hpp"
#include "daemon/tool_commands.hpp"
#include "market/order_journal.hpp"
#include "market/symbols.hpp"
#include "report/report.hpp"
#include "strategy/fill_metrics.hpp"
#include "strategy/report.hpp"

namespace tb::daemon {
namespace {

std::int64_t wall_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::int64_t seconds_of(std::int64_t unix_ns) { return unix_ns / 1000000000LL; }

// The progress of the scheduler, written on its thread, read by the waiting main thread.
struct progress_box {
  std::mutex mu;
  std::condition_variable cv;
  actors::schedule_progress last;
  bool changed = false;
  void put(const actors::schedule_progress& p) {
    {
      std::lock_guard<std::mutex> lock(mu);
      last = p;
      changed = true;
    }
    cv.notify_all();
  }
};

// The run's progress on stderr: a bar redrawn in place on a terminal, else a line per 10%.
// `label` names the run ("backtest", "sweep run 2/6").
class progress_display {
 public:
  progress_display(std::int64_t from_ns, std::int64_t to_ns, std::string label)
      : from_(from_ns), to_(to_ns), tty_(::isatty(2) == 1), label_(std::move(label)) {}
  void show(const actors::schedule_progress& p) {
    const double span = static_cast<double>(std::max<std::int64_t>(1, to_ - from_));
    const double frac = std::clamp(static_cast<double>(p.now_unix_ns - from_) / span, 0.0, 1.0);
    const int pct = p.finished ? 100 : std::min(99, static_cast<int>(frac * 100));  // 100 = done
    const std::string date = report::utc_date(seconds_of(p.now_unix_ns));
    if (tty_) {
      constexpr int width = 30;
      const int filled = pct * width / 100;
      std::cerr << "\r" << label_ << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << pct
                << "% " << date << " " << p.cycles << " cycles" << std::flush;
      if (p.finished) std::cerr << "\n";
    } else if (pct >= next_line_pct_ || p.finished) {
      std::cerr << label_ << ": " << pct << "% (" << date << ", " << p.cycles << " cycles)\n";
      next_line_pct_ = (pct / 10 + 1) * 10;
    }
  }

 private:
  std::int64_t from_, to_;
  bool tty_;
  std::string label_;
  int next_line_pct_ = 0;
};

// ---- the report from the run's results ---------------------------------------------------

bool in_window(std::int64_t unix_ns, const report_window& w) { return unix_ns >= w.from_ns && unix_ns <= w.to_ns; }

tb::expected<strategy::symbol_report> symbol_row(const std::string& sym,
                                                 const std::vector<strategy::trade_record>& trades,
                                                 const market::order_journal& j, const report_window& w,
                                                 double start_equity, double days) {
  strategy::symbol_report row;
  row.symbol = sym;
  row.asset = market::is_crypto(sym) ? strategy::asset_class::crypto : strategy::asset_class::equity;
  std::map<std::string, int> strategies;
  for (const auto& id : j.order_of_intents()) {
    const auto& in = j.entries().at(id).intent;
    if (in.order.symbol == sym && in.strategy != "rebalance" && !in.strategy.empty() && in_window(in.at_unix_ns, w))
      ++strategies[in.strategy];
  }
  row.strategy = "none";
  int best = 0;
  for (const auto& [s, n] : strategies)  // ties: the alphabetically first (deterministic)
    if (n > best) best = n, row.strategy = s;
  auto m = strategy::symbol_metrics(sym, row.asset, trades, start_equity, days);
  if (!m) return m.error();
  row.metrics = *m;
  return row;
}

// The report's cache figures from the cache actor's /stats section (null when it never published).
strategy::cache_figures cache_figures_of(const std::shared_ptr<const nlohmann::json>& section) {
  strategy::cache_figures c;
  if (!section) return c;
  const auto& s = *section;
  c.hits = s.value("hits", std::int64_t{0});
  c.misses = s.value("misses", std::int64_t{0});
  c.hit_rate_percent = s.value("hit_rate_percent", 0.0);
  if (s.contains("actor")) {
    c.computed = s["actor"].value("computed_windows", std::int64_t{0});
    c.stored = s["actor"].value("stores", std::int64_t{0});
  }
  return c;
}

// ---- the run -------------------------------------------------------------------------------

std::optional<tool_failure> run(const backtest_options& o, backtest_outcome& out) {
  const auto started = wall_now_s();
  const auto started_steady = std::chrono::steady_clock::now();
  std::shared_ptr<actors::config> cfg;
  if (o.config) {
    cfg = std::make_shared<actors::config>(*o.config);
  } else {
    auto loaded = load_config_with_sets(o.config_path, o.sets);
    if (!loaded) return tool_failure{exit_bad_input, loaded.error().message};
    cfg = std::make_shared<actors::config>(**loaded);
  }
  if (cfg->market.feed != "replay" || cfg->market.clock != "simulated")
    std::cerr << o.label << ": market.feed = \"" << cfg->market.feed << "\" and market.clock = \"" << cfg->market.clock
              << "\" in the config; a backtest forces feed = \"replay\" and clock = \"simulated\"\n";
  cfg->market.feed = "replay";
  cfg->market.clock = "simulated";
  cfg->market.sim_cycle_interval_ms = 0;  // as fast as the cycles complete
  cfg->trading.enabled = true;
  if (!o.data_dir.empty()) cfg->market.replay_dir = o.data_dir;
  if (!o.from.empty()) cfg->market.sim_start = o.from;
  if (!o.to.empty()) cfg->market.sim_end = o.to;
  if (cfg->market.replay_dir.empty())
    return tool_failure{exit_bad_input, "no replay data: give --data DIR or market.replay_dir"};
  if (!std::filesystem::is_directory(cfg->market.replay_dir))
    return tool_failure{exit_bad_input, "replay data folder " + cfg->market.replay_dir + " is not a directory"};
  if (cfg->market.sim_end.empty())
    return tool_failure{exit_bad_input, "no end date: give --to DATE or market.sim_end (a backtest must end)"};
  auto from = core::parse_utc_instant(cfg->market.sim_start, o.from.empty() ? "market.sim_start" : "--from");
  if (!from) return tool_failure{exit_bad_input, from.error().message};
  auto to = core::parse_utc_instant(cfg->market.sim_end, o.to.empty() ? "market.sim_end" : "--to");
  if (!to) return tool_failure{exit_bad_input, to.error().message};
  if (*to <= *from)
    return tool_failure{exit_bad_input,
                        "the end (" + cfg->market.sim_end + ") is not after the start (" + cfg->market.sim_start + ")"};

  // A fresh state folder next to the report: journal, ledger, demo model (and a fresh cache).
  const auto state = std::filesystem::absolute(std::filesystem::path(o.report_dir) / ".backtest-state");
  std::error_code ec;
  std::filesystem::remove_all(state, ec);
  if (ec) return tool_failure{exit_failed, "cannot empty " + state.string() + ": " + ec.message()};
  std::filesystem::create_directories(state, ec);
  if (ec) return tool_failure{exit_failed, "cannot create " + state.string() + ": " + ec.message()};
  cfg->daemon.state_dir = state.string();
  if (o.cache == backtest_cache::fresh) {
    cfg->cache.dir = (state / "cache").string();
    cfg->cache.redis_enabled = false;
  } else if (o.cache == backtest_cache::off) {
    cfg->cache.enabled = false;
  }

  auto parts = make_trading_parts(*cfg);
  if (!parts)
    return tool_failure{parts.error().code == errc::bad_config ? exit_bad_input : exit_failed, parts.error().message};
  if (cfg->trading.symbols.empty()) cfg->trading.symbols = parts->feed->symbols();  // the whole replay folder
  const auto symbols = actors::symbols_of(*cfg, *parts->feed);
  if (symbols.empty())
    return tool_failure{exit_bad_input, "no symbol to trade (trading.symbols, trading.tradable_pairs)"};

  auto service_opts = cfg->inference;
  auto model_dir = resolve_model_dir(*cfg);
  if (!model_dir) return tool_failure{exit_failed, model_dir.error().message};
  service_opts.model_dir = *model_dir;
  auto service = inference::model_service::start(service_opts);
  if (!service) return tool_failure{exit_failed, "cannot start the model: " + service.error().message};
  const auto identity = (*service)->identity();
  actors::config_ptr frozen = cfg;
  if (o.progress)
    std::cerr << o.label << ": " << symbols.size() << " symbols from " << cfg->market.replay_dir << ", "
              << cfg->market.sim_start << " to " << cfg->market.sim_end << "; state in " << state.string()
              << "; forecast cache "
              << (!cfg->cache.enabled ? std::string("off")
                                      : cfg->cache.dir + (cfg->cache.redis_enabled ? " + redis" : ""))
              << "\n";

  auto board = std::make_shared<core::snapshot_board>();
  auto progress = std::make_shared<progress_box>();
  actor_tree_hooks hooks;
  hooks.on_schedule = [progress](const actors::schedule_progress& p) { progress->put(p); };
  std::optional<trading_parts> trading = *parts;

  actors::portfolio_summary summary;
  std::string run_error;
  {
    caf::actor_system_config sys_cfg;
    configure_actor_system(sys_cfg, *cfg);
    auto sys = std::make_unique<caf::actor_system>(sys_cfg);
    auto tree = build_actor_tree(*service, board, trading, hooks);
    auto portfolio_slot = tree.portfolio;
    auto supervisor = actors::spawn_supervisor(*sys, frozen, board, std::move(tree.children));
    auto self = std::make_unique<caf::scoped_actor>(*sys);

    // Wait for the scheduler to reach the end; every second without news, the actors must
    // still answer a heartbeat (a wedged or dead tree fails the run instead of hanging it).
    progress_display display(core::to_unix_nanoseconds(*from), core::to_unix_nanoseconds(*to), o.label);
    for (;;) {
      std::unique_lock<std::mutex> lock(progress->mu);
      const bool news = progress->cv.wait_for(lock, std::chrono::seconds(1), [&] { return progress->changed; });
      const auto p = progress->last;
      progress->changed = false;
      lock.unlock();
      if (news && o.progress) display.show(p);
      if (p.finished) {
        if (p.finished_reason != "reached market.sim_end") run_error = "the scheduler stopped: " + p.finished_reason;
        break;
      }
      if (!news) {
        if (auto err = heartbeat(*self, supervisor, std::chrono::seconds(30)); !err.empty()) {
          run_error = "the actors stopped answering: " + err;
          break;
        }
      }
    }
    if (run_error.empty()) {
      auto pf = portfolio_slot->get();
      if (!pf)
        run_error = "no portfolio actor at the end of the run";
      else
        (*self)
            ->request(pf, std::chrono::seconds(60), actors::portfolio_summary_atom::value)
            .receive([&](actors::portfolio_summary& s) { summary = std::move(s); },
                     [&](caf::error& err) { run_error = "portfolio summary: " + sys->render(err); });
    }
    const auto deadline = std::chrono::milliseconds(static_cast<long>(cfg->daemon.shutdown_deadline_s * 1000));
    self.reset();
    if (auto err = stop_actor_tree(*sys, supervisor, deadline); !err.empty())
      spdlog::error("backtest: the actors did not stop within {} ms ({})", deadline.count(), err);
    sys.reset();
  }
  if (!run_error.empty()) return tool_failure{exit_failed, run_error};
  const auto cache_figures = cache_figures_of(board->section("cache"));
  const auto inference_stats = (*service)->stats();
  const double inference_s = inference_stats.value("compute_s_total", 0.0);
  if (summary.equity_curve.empty()) return tool_failure{exit_failed, "no cycle ran between the start and the end"};

  // The journal the broker actor wrote (closed now that the actors are gone).
  auto journal = market::order_journal::open(parts->journal_path);
  if (!journal) return tool_failure{exit_failed, journal.error().message};
  std::vector<market::equity_record> curve;
  for (const auto& m : summary.equity_curve) curve.push_back({m.at_unix_ns, m.equity});
  auto built = trading_report(curve, *journal, *cfg, symbols, static_cast<std::int64_t>(summary.risk_rejected), {});
  if (!built) return tool_failure{exit_failed, built.error().message};
  strategy::backtest_report r = std::move(*built);
  r.run.config_path = o.config_path;
  r.run.data_dir = o.data_dir;
  r.run.from_date = o.from;
  r.run.to_date = o.to;
  r.run.model = "kronos@" + identity.checkpoint_hash.substr(0, 16) + " " + identity.dtype;
  r.run.started_s = started;
  r.run.finished_s = std::max(started, wall_now_s());
  r.cache = cache_figures;
  r.inference.errors =
      inference_stats.value("request_failure", std::int64_t{0}) + inference_stats.value("overloaded", std::int64_t{0});
  r.inference.oom_splits = inference_stats.value("oom_splits", std::int64_t{0});
  r.timing.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count();
  r.timing.inference_s = inference_s;
  r.timing.cycles =
      static_cast<std::int64_t>(summary.cycles);  // closed cycles (a cycle the broker did not answer has no mark)
  auto written = report::write_report(r, o.report_dir);
  if (!written) return tool_failure{exit_failed, written.error().message};
  cache::cache_stats line;  // the cache actor's stop line, from the same counters
  line.hits = static_cast<std::uint64_t>(r.cache.hits);
  line.misses = static_cast<std::uint64_t>(r.cache.misses);
  line.hit_rate_percent = r.cache.hit_rate_percent;
  out.cache_line = cache::summary_line(line);
  out.report = std::move(r);
  out.paths = *written;
  return std::nullopt;
}

}  // namespace

tb::expected<strategy::backtest_report> trading_report(const std::vector<market::equity_record>& curve,
                                                       const market::order_journal& journal, const actors::config& cfg,
                                                       const std::vector<std::string>& symbols,
                                                       std::int64_t risk_rejected, const report_window& w) {
  strategy::backtest_report r;
  r.run.symbols = symbols;
  for (const auto& m : curve)
    if (in_window(m.at_unix_ns, w)) r.equity_curve.push_back({seconds_of(m.at_unix_ns), m.equity});
  if (r.equity_curve.empty()) return tb::error{errc::bad_data, "no equity mark in the period"};
  std::size_t first_record = 0;
  for (const auto& f : actors::journal_fills(journal, cfg, first_record))  // oldest first
    if (in_window(f.at_unix_ns, w)) r.trades.push_back(actors::trade_of(f));
  bool any_crypto = false;
  for (const auto& s : symbols) any_crypto = any_crypto || market::is_crypto(s);
  auto m = strategy::portfolio_metrics(r.equity_curve, r.trades, any_crypto ? 365 : 252);
  if (!m) return tb::error{errc::bad_data, "metrics: " + m.error().message};
  r.metrics = *m;
  const double start_equity = r.equity_curve.front().equity;
  const double days = static_cast<double>(std::max<std::int64_t>(1, r.metrics.bars));
  for (const auto& s : symbols) {
    auto row = symbol_row(s, r.trades, journal, w, start_equity, days);
    if (!row) return tb::error{errc::bad_data, "metrics of " + s + ": " + row.error().message};
    r.symbols.push_back(std::move(*row));
  }
  std::int64_t sent = 0, rejected = 0, filled = 0;
  for (const auto& [id, e] : journal.entries()) {
    if (!in_window(e.intent.at_unix_ns, w)) continue;
    ++sent;
    if (e.state == "rejected") ++rejected;
    if (e.filled_qty > 0) ++filled;
  }
  r.orders.sent = sent;
  r.orders.filled = filled;
  r.orders.rejected = rejected + risk_rejected;
  r.timing.cycles = static_cast<std::int64_t>(r.equity_curve.size());
  return r;
}

void quiet_actor_logs(const std::string& name) {
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);  // the actors' info lines would drown the progress
}

backtest_outcome run_backtest(const backtest_options& o) {
  backtest_outcome out;
  if (auto failed = run(o, out)) {
    out.exit_code = failed->code;
    out.error = std::move(failed->message);
  }
  return out;
}

namespace {

tb::expected<backtest_cache> cache_mode_of(const std::string& s) {
  if (s == "shared") return backtest_cache::shared;
  if (s == "fresh") return backtest_cache::fresh;
  if (s == "off") return backtest_cache::off;
  return tb::error{errc::invalid_argument, "--cache " + s + ": expected shared, fresh or off"};
}

}  // namespace

tb::expected<actors::config_ptr> load_config_with_sets(const std::string& path, const std::vector<std::string>& sets) {
  std::vector<core::config_override> overrides;
  for (const auto& text : sets) {
    auto parsed = core::parse_override(text, "--set " + text);
    if (!parsed) return parsed.error();
    overrides.push_back(*parsed);
  }
  auto loaded = actors::load_config(path, core::process_env(), overrides);
  if (!loaded) return tb::error{errc::bad_config, "invalid configuration " + path + ":\n" + loaded.error().message};
  return loaded;
}

void add_backtest_commands(CLI::App& app) {
  auto opts = std::make_shared<backtest_options>();
  auto cache_mode = std::make_shared<std::string>("shared");
  auto* cmd = app.add_subcommand(
      "backtest",
      "Run tradebotd's actors on replay data and simulated time as fast as possible; write DIR/report.json and "
      "DIR/report.html (exit 0; 2 on bad arguments or config; 1 when the run fails)");
  cmd->add_option("--config", opts->config_path, "tradebotd config file (its keys apply; feed and clock are forced)")
      ->required();
  cmd->add_option("--data", opts->data_dir, "folder of daily/intraday CSV files (overrides market.replay_dir)");
  cmd->add_option("--from", opts->from, "start, YYYY-MM-DD (overrides market.sim_start)");
  cmd->add_option("--to", opts->to, "end, YYYY-MM-DD (overrides market.sim_end)");
  cmd->add_option("--report", opts->report_dir, "output folder for report.json and report.html")->required();
  cmd->add_option("--cache", *cache_mode,
                  "forecast cache: shared (the config's memory, cache.dir and Redis; default), fresh (an empty "
                  "folder in DIR/.backtest-state, no Redis) or off");
  cmd->add_option("--set", opts->sets,
                  "KEY=VALUE: override a config key (repeatable), read and checked as the file's value would be");
  cmd->callback([opts, cache_mode] {
    quiet_actor_logs("backtest");
    auto mode = cache_mode_of(*cache_mode);
    if (!mode) {
      std::cerr << "tradebot backtest: " << mode.error().message << "\n";
      throw CLI::RuntimeError(exit_bad_input);
    }
    opts->cache = *mode;
    const auto out = run_backtest(*opts);
    if (out.exit_code != 0) {
      std::cerr << "tradebot backtest: " << out.error << "\n";
      throw CLI::RuntimeError(out.exit_code);
    }
    const auto& r = out.report;
    std::cout << "backtest: " << r.timing.cycles << " cycles, " << r.orders.sent << " orders, " << r.trades.size()
              << " fills; total return " << r.metrics.total_return << ", sharpe " << r.metrics.sharpe << ", win rate "
              << r.metrics.win_rate << ", max drawdown " << r.metrics.max_drawdown << "\n"
              << "time: " << r.timing.elapsed_s << " s, inference " << r.timing.inference_s << " s; windows computed "
              << r.cache.computed << "\n"
              << "report: " << out.paths.json << "\n        " << out.paths.html << "\n"
              << out.cache_line << std::endl;
  });
}

}  // namespace tb::daemon
