#include "actors/config.hpp"

#include <algorithm>

namespace tb::actors {

// The largest universe: one symbol actor each and up to walk_forward_windows + 1 forecasts per
// symbol and cycle. Measured on 2 shared cores: 500 symbols get ready in 2-9 s and stop in
// 0.5-7 s, within the default 10 s deadline; 1000 stopped in 1-7 s, past a 5 s one (every symbol
// update re-renders the whole /stats symbols section, so a cycle's cost grows with the square of
// the universe: actors/symbol_actor.cpp symbol_board).
constexpr double max_symbols = 500;

const core::rows<daemon_options>& daemon_rows() {
  using o = daemon_options;
  using core::key;
  using core::restart_only;
  static const core::rows<daemon_options> rows = {
      key("daemon.log_level", &o::log_level, "spdlog level; reloadable", nullptr, 0, 0,
          {"trace", "debug", "info", "warn", "error", "critical", "off"}),
      key("daemon.shutdown_deadline_s", &o::shutdown_deadline_s,
          "seconds in-flight work gets to finish or persist after SIGTERM", nullptr, 0.1, 600),
      restart_only(key("daemon.scheduler_threads", &o::scheduler_threads,
                       "CAF scheduler worker threads; 0 = number of cores", nullptr, 0, 256)),
      restart_only(key("daemon.state_dir", &o::state_dir, "journal and demo data (systemd StateDirectory)")),
  };
  return rows;
}

const core::rows<trading_options>& trading_rows() {
  using o = trading_options;
  using core::key;
  using core::restart_only;
  static const core::rows<trading_options> rows = {
      key("trading.paper", &o::paper, "paper trading; false also needs live = true", "PAPER"),
      key("trading.live", &o::live, "allow live trading with real money (only with PAPER=0)"),
      key("trading.symbols", &o::symbols,
          "the universe: equity tickers and crypto pairs (e.g. BTCUSD); [] = trade nothing (without a config file: "
          "every symbol of the feed)",
          nullptr, 0, max_symbols),
      key("trading.tradable_pairs", &o::tradable_pairs, "filter on trading.symbols; [] = all of them", "TRADABLE_PAIRS",
          0, max_symbols),
      restart_only(key("trading.enabled", &o::enabled,
                       "run the trading loop (symbol, portfolio and broker actors, the schedule)")),
      key("trading.walk_forward_windows", &o::walk_forward_windows,
          "walk-forward windows evaluated per symbol and cycle (window i drops the last i+1 bars)", nullptr, 1, 1000),
      key("trading.stale_after_bars", &o::stale_after_bars,
          "no proposal when the last bar closed more than this many bar periods ago", nullptr, 1, 100000),
      key("trading.forecast_timeout_s", &o::forecast_timeout_s,
          "a symbol's forecast request fails (and the symbol backs off) after this many seconds", nullptr, 0.1, 3600),
      key("trading.cycle_deadline_s", &o::cycle_deadline_s,
          "the portfolio closes a cycle with the proposals it has after this many seconds", nullptr, 0.1, 3600),
      key("trading.fractional_equity", &o::fractional_equity,
          "equity orders in fractional shares (floored to 1e-6; day orders, as Alpaca requires); false = whole "
          "shares (gtc orders), as the original bot"),
  };
  return rows;
}

std::vector<std::string> trading_options::active_symbols() const {
  if (tradable_pairs.empty()) return symbols;
  std::vector<std::string> out;
  for (const auto& s : symbols)
    if (std::find(tradable_pairs.begin(), tradable_pairs.end(), s) != tradable_pairs.end()) out.push_back(s);
  return out;
}

namespace {

// The cross-key rules: each component's own, then those across components.
void check(const config& c, std::vector<std::string>& errors) {
  const std::string file = c.path.empty() ? "the config file" : c.path;
  inference::check(c.inference, errors);
  if (!c.trading.paper && !c.trading.live)
    errors.push_back(
        "PAPER=0 / trading.paper = false asks for live trading, which also needs "
        "`live = true` under [trading] in " +
        file + "; refusing to start");
  strategy::check(c.portfolio, errors);
  cache::check(c.cache, errors);
  for (const auto& s : c.trading.tradable_pairs)
    if (std::find(c.trading.symbols.begin(), c.trading.symbols.end(), s) == c.trading.symbols.end())
      errors.push_back("TRADABLE_PAIRS / trading.tradable_pairs names '" + s + "', which is not in trading.symbols");
  market::check(c.market, errors);
  if (c.market.feed == "synthetic" && c.trading.symbols.empty() &&
      c.market.synthetic_equities + c.market.synthetic_crypto < 1)
    errors.push_back(
        "market.synthetic_equities + market.synthetic_crypto is 0: the synthetic feed has no symbol "
        "(set one of them, or trading.symbols)");
  http::check(c.http, errors);
  market::check(c.alpaca, c.market.feed == "alpaca" || c.broker.kind == "alpaca", !c.trading.paper && c.trading.live,
                errors);
}

}  // namespace

const core::config_schema<config>& config_schema() {
  static const core::config_schema<config> schema(
      {
          core::bind(&config::daemon, daemon_rows()),
          core::bind(&config::http, http::config_rows()),
          core::bind(&config::inference, inference::config_rows()),
          core::bind(&config::cache, cache::config_rows()),
          core::bind(&config::trading, trading_rows()),
          core::bind(&config::market, market::feed_rows()),
          core::bind(&config::schedule, market::schedule_rows()),
          core::bind(&config::broker, market::broker_rows()),
          core::bind(&config::alpaca, market::alpaca_rows()),
          core::bind(&config::strategy, strategy::selection_rows()),
          core::bind(&config::portfolio, strategy::portfolio_rows()),
          core::bind(&config::risk, strategy::risk_rows()),
      },
      check);
  return schema;
}

tb::expected<config_ptr> load_config(const std::string& path, const core::env_lookup& env,
                                     const std::vector<core::config_override>& overrides) {
  return config_schema().load(path, env, overrides);
}

tb::expected<config_ptr> apply_overrides(const config& base, const std::vector<core::config_override>& overrides) {
  return config_schema().apply(base, overrides);
}

tb::expected<bool> check_override(const core::config_override& o) { return config_schema().check_override(o); }

std::vector<std::string> restart_required(const config& running, const config& next) {
  return config_schema().restart_required(running, next);
}

nlohmann::json describe(const config& c) { return config_schema().describe(c); }

std::string example_toml() { return config_schema().example_toml(); }

tb::expected<std::vector<grid_point>> expand_grid(const config& base, const std::vector<core::grid_axis>& axes) {
  return core::expand_grid(config_schema(), base, axes);
}

}  // namespace tb::actors
