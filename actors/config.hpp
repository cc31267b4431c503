#pragma once
// The application config: every component's options struct under the section(s) it reads, frozen
// into the immutable snapshot the actors receive (`config_ptr`; a reload sends a new one). Each
// component declares its own keys next to its struct (core/config.hpp: key rows); this file binds
// them in section order, adds the [daemon] and [trading] sections of the actor tree and the
// rules across components, and loads it all through core's schema machinery.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/forecast_cache.hpp"
#include "core/config.hpp"
#include "core/config_grid.hpp"
#include "http/server_options.hpp"
#include "inference/options.hpp"
#include "market/options.hpp"
#include "strategy/portfolio.hpp"
#include "strategy/risk.hpp"
#include "strategy/selection.hpp"

namespace tb::actors {

// [daemon]
struct daemon_options {
  std::string log_level = "info";      // trace|debug|info|warn|error|critical|off
  double shutdown_deadline_s = 10.0;   // in-flight work gets this long after SIGTERM
  std::int64_t scheduler_threads = 0;  // CAF scheduler workers; 0 = number of cores
  std::string state_dir = "/var/lib/tradebotd";
};

// [trading]: the universe and the trading loop (symbol actors, portfolio, broker actor).
struct trading_options {
  bool paper = true;  // PAPER; paper = false also needs live = true
  bool live = false;
  std::vector<std::string> symbols;         // the universe
  std::vector<std::string> tradable_pairs;  // TRADABLE_PAIRS: a filter on symbols; [] = all
  bool enabled = true;                      // false: no symbol, portfolio, broker actors at all
  std::int64_t walk_forward_windows = 70;   // walk-forward windows per cycle (window i drops i+1 bars)
  std::int64_t stale_after_bars = 5;        // no proposal when the last bar closed longer ago (bar periods)
  double forecast_timeout_s = 120.0;        // a symbol's forecast request fails after this (wall s)
  double cycle_deadline_s = 180.0;          // the portfolio closes a cycle after this (wall s)
  bool fractional_equity = false;           // equity orders in 1e-6 shares (day); false: whole shares (gtc)

  // `symbols` after the `tradable_pairs` filter: the symbols to trade.
  std::vector<std::string> active_symbols() const;
};

const core::rows<daemon_options>& daemon_rows();
const core::rows<trading_options>& trading_rows();

// One snapshot of every setting, by section.
struct config {
  daemon_options daemon;                 // [daemon]
  http::server_options http;             // [http]
  inference::service_options inference;  // [model], [inference], [forecast]
  cache::cache_config cache;             // [cache]
  trading_options trading;               // [trading]
  market::feed_options market;           // [market]
  market::schedule_options schedule;     // [schedule]
  market::broker_options broker;         // [broker]
  market::alpaca_options alpaca;         // [alpaca]
  strategy::selection_params strategy;   // [strategy]
  strategy::portfolio_params portfolio;  // [portfolio]
  strategy::risk_limits risk;            // [risk]

  core::config_sources sources;  // where each key's effective value came from
  std::string path;              // the file it was loaded from ("" when none)
};

using config_ptr = std::shared_ptr<const config>;

// Every key, in section order, with the cross-key rules.
const core::config_schema<config>& config_schema();

// The schema's operations on this config (core/config.hpp, config_schema<C>, says what each does).
tb::expected<config_ptr> load_config(const std::string& path, const core::env_lookup& env = core::process_env(),
                                     const std::vector<core::config_override>& overrides = {});
tb::expected<config_ptr> apply_overrides(const config& base, const std::vector<core::config_override>& overrides);
tb::expected<bool> check_override(const core::config_override& o);
std::vector<std::string> restart_required(const config& running, const config& next);
nlohmann::json describe(const config& c);
std::string example_toml();
using grid_point = core::grid_point<config>;
tb::expected<std::vector<grid_point>> expand_grid(const config& base, const std::vector<core::grid_axis>& axes);

}  // namespace tb::actors
