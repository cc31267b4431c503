#pragma once
// The configuration: one TOML file plus the environment variables users of the original bot
// already set. Every key is declared once (config.cpp: name, type, bounds, description,
// environment variable); loading normalises and validates, then freezes the result into an
// immutable snapshot handed to the actors as `std::shared_ptr<const config>`.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/forecast.hpp"

namespace tb::core {

// Where a key's value came from: its default, the file, the environment, or the command line
// (`tradebot backtest --set`, `tradebot sweep --grid`: config_override).
enum class value_source { default_value, file, env, command_line };
const char* to_string(value_source s);
inline std::ostream& operator<<(std::ostream& os, value_source s) { return os << to_string(s); }

// One snapshot of every setting. Default member initialisers ARE the defaults; the schema in
// config.cpp declares name, bounds and description of each member once.
struct config {
  // [daemon]
  std::string log_level = "info";           // trace|debug|info|warn|error|critical|off
  double shutdown_deadline_s = 10.0;        // in-flight work gets this long after SIGTERM
  std::int64_t scheduler_threads = 0;       // CAF scheduler workers; 0 = number of cores
  std::string state_dir = "/var/lib/tradebotd";
  // [http]
  std::string http_address = "127.0.0.1";
  std::int64_t http_port = 8787;            // 0 picks a free port (logged and in STATUS=)
  std::int64_t http_max_header_bytes = 8192;
  std::int64_t http_max_body_bytes = 4096;
  std::int64_t http_timeout_ms = 5000;      // every read and write
  std::int64_t http_max_connections = 256;  // the general pool
  std::int64_t http_max_connections_per_client = 64;  // general-pool connections per remote address
  std::int64_t http_probe_reserve = 8;      // extra connections that serve /health only
  std::int64_t http_probe_timeout_ms = 1000;  // every read and write of a reserve connection
  std::string http_auth_token_file;         // bearer token file; "" = credential http_token or none
  // [model]
  std::string model_dir;                    // holds tokenizer/ and model/; "" = demo checkpoint
  std::string dtype = "float32";            // KRONOS_DTYPE
  bool compile = false;                     // KRONOS_COMPILE
  std::string compile_mode = "default";     // KRONOS_COMPILE_MODE
  std::string compile_backend = "inductor";  // KRONOS_COMPILE_BACKEND (inference/README.md)
  std::int64_t threads = 0;                 // LibTorch intra-op threads; 0 = number of cores
  std::string device = "auto";              // auto|cpu|cuda
  // [inference] the dynamic batcher and the middleman
  std::int64_t inference_max_batch_rows = 3072;      // series x samples per batch
  std::int64_t inference_max_queue_delay_us = 2000;
  std::int64_t inference_max_queue_rows = 1 << 20;   // queued rows before `overloaded`
  std::int64_t inference_backfill_max_wait_ms = 2000;
  std::int64_t inference_executors = 1;              // batches in flight at once
  bool inference_publish = false;                    // serve other tradebotd processes
  std::string inference_publish_address = "127.0.0.1";
  std::int64_t inference_publish_port = 4242;        // 0 picks a free one (in /stats)
  std::vector<std::string> inference_remote;         // "host:port" of inference hosts; [] = the local model
  std::string inference_model_identity;              // checkpoint hash (or prefix) the hosts must serve; "" = the first host's
  std::int64_t inference_remote_backoff_max_ms = 5000;  // longest wait between reconnects to a lost host
  // PEM files of the middleman's TLS (CAF's OpenSSL module): this side's certificate and key, and
  // the CA that signed every peer's. All three or none; required beyond loopback.
  std::string inference_tls_certificate;
  std::string inference_tls_key;
  std::string inference_tls_ca;
  // [forecast] the trading bot's sampling parameters
  std::int64_t pred_len = 7;
  std::int64_t lookback = 232;
  std::int64_t max_context = 232;
  double temperature = 0.152;
  std::int64_t top_k = 20;
  double top_p = 0.83;
  std::int64_t sample_count = 192;
  double clip = 1.85;
  // [cache]
  bool cache_enabled = true;                // KRONOS_PREDICTION_CACHE_ENABLED
  std::int64_t cache_ttl_s = 300;           // KRONOS_PREDICTION_CACHE_TTL; 0 = never expires
  std::int64_t cache_history_ttl_s = 7 * 24 * 3600;
  std::int64_t cache_max_size_mb = 1000;    // KRONOS_PREDICTION_CACHE_MAX_SIZE_MB
  std::int64_t cache_decimals = 8;          // KRONOS_CACHE_DECIMALS
  std::string cache_dir = "/var/cache/tradebotd";
  // [cache] tiers and Redis (cache::cache_config; every cache key is read at start only)
  bool cache_memory_enabled = true;         // KRONOS_CACHE_MEMORY_ENABLED
  std::int64_t cache_memory_max_mb = 256;   // KRONOS_CACHE_MEMORY_MAX_MB (MiB)
  bool cache_disk_enabled = true;           // KRONOS_CACHE_DISK_ENABLED
  bool cache_redis_enabled = false;         // KRONOS_REDIS_ENABLED
  std::string cache_redis_host = "127.0.0.1";           // KRONOS_REDIS_HOST
  std::int64_t cache_redis_port = 6379;                 // KRONOS_REDIS_PORT
  std::string cache_redis_username;                     // KRONOS_REDIS_USERNAME; "" = default user
  std::string cache_redis_password;                     // KRONOS_REDIS_PASSWORD (secret); "" = no AUTH
  std::int64_t cache_redis_db = 0;                      // KRONOS_REDIS_DB
  std::string cache_redis_key_prefix = "tradebot:forecast:";  // KRONOS_REDIS_KEY_PREFIX
  std::int64_t cache_redis_connect_timeout_ms = 200;    // KRONOS_REDIS_CONNECT_TIMEOUT_MS
  std::int64_t cache_redis_command_timeout_ms = 200;    // KRONOS_REDIS_COMMAND_TIMEOUT_MS
  std::int64_t cache_redis_backoff_initial_ms = 250;    // KRONOS_REDIS_BACKOFF_INITIAL_MS
  std::int64_t cache_redis_backoff_max_ms = 30000;      // KRONOS_REDIS_BACKOFF_MAX_MS
  std::int64_t cache_write_queue_max = 10000;           // KRONOS_CACHE_WRITE_QUEUE_MAX (entries)
  std::int64_t cache_write_batch_max = 256;             // KRONOS_CACHE_WRITE_BATCH_MAX (entries)
  std::int64_t cache_disk_retry_ms = 30000;             // KRONOS_CACHE_DISK_RETRY_MS
  std::int64_t cache_log_interval_ms = 60000;           // KRONOS_CACHE_LOG_INTERVAL_MS
  // [trading]
  bool paper = true;                        // PAPER; paper = false also needs live = true
  bool live = false;
  std::vector<std::string> symbols;         // the universe
  std::vector<std::string> tradable_pairs;  // TRADABLE_PAIRS: a filter on symbols; [] = all
  // --- the trading loop (issue 5): symbol actors, portfolio, broker actor, schedule ---
  bool trading_enabled = true;              // false: no symbol, portfolio, broker actors at all
  std::int64_t walk_forward_windows = 70;   // walk-forward windows per cycle (window i drops i+1 bars)
  std::int64_t stale_after_bars = 5;        // no proposal when the last bar closed longer ago (bar periods)
  double forecast_timeout_s = 120.0;        // a symbol's forecast request fails after this (wall s)
  double cycle_deadline_s = 180.0;          // the portfolio closes a cycle after this (wall s)
  bool fractional_equity = false;           // equity orders in 1e-6 shares (day); false: whole shares (gtc)
  // [market]
  std::string market_feed = "synthetic";    // synthetic | replay | alpaca
  std::int64_t synthetic_seed = 42;
  std::int64_t synthetic_equities = 18;
  std::int64_t synthetic_crypto = 2;
  std::int64_t synthetic_period_min = 1440; // 1440 = daily; else minutes dividing 30
  std::string synthetic_start = "2024-01-02";
  std::string replay_dir;                   // every *.csv in it; symbol = file name
  std::string market_clock = "simulated";   // simulated | wall
  std::string sim_start = "2025-06-02";     // simulated clock start (UTC date or date-time)
  std::string sim_end;                      // "" = never stops; else the schedule stops there
  std::int64_t sim_cycle_interval_ms = 0;   // simulated clock: at least this much wall time per cycle
  // [schedule] (core::schedule_config)
  std::int64_t open_pass_delay_min = 0;
  std::int64_t midday_pass_min = 630;
  std::int64_t close_backout_lead_min = 60;
  double backout_cross_bps = 5.0;           // close back-out: exits cross the bid / ask by this (bps)
  std::int64_t crypto_refresh_interval_min = 1440;
  bool pass_at_start = true;                // wall clock: one pass when the daemon starts
  // [broker]
  std::string broker_kind = "sim";          // sim | alpaca
  double broker_initial_cash = 100000.0;
  double broker_equity_fee_rate = 0.0000278;
  double broker_crypto_fee_rate = 0.008;
  double broker_default_spread = 0.0005;
  bool broker_allow_short_equity = true;
  // [alpaca] market.feed = "alpaca" and/or broker.kind = "alpaca" (keys: APCA_API_KEY_ID /
  // APCA_API_SECRET_KEY or systemd credentials alpaca_key_id / alpaca_secret_key, never here)
  std::string alpaca_trading_url;           // "" = paper, or live with PAPER=0 and live = true
  std::string alpaca_data_url;              // "" = https://data.alpaca.markets
  std::string alpaca_stock_feed = "iex";    // iex | sip
  std::string alpaca_adjustment = "raw";    // raw | split | dividend | all
  std::string alpaca_crypto_loc = "us";
  std::int64_t alpaca_bar_period_min = 1440;
  std::string alpaca_ca_file;               // "" = the system's trust store
  double alpaca_timeout_s = 15.0;
  std::int64_t alpaca_max_attempts = 4;
  double alpaca_rate_per_minute = 200.0;
  double alpaca_crypto_price_increment = 0.0;  // 0 = 6 significant digits of the price
  // [strategy] selection_params
  double min_sharpe = 0.3;
  std::int64_t recent_windows = 5;
  double min_edge = 0.0;
  double spread_penalty_weight = 1.0;
  bool allow_buy_hold = true;
  // [portfolio] portfolio_params
  std::int64_t max_positions = 10;
  std::int64_t min_positions = 4;
  double min_score = 0.0;
  double kelly_fraction = 0.2;
  double kelly_cap = 0.15;
  // [risk] risk_limits
  double max_symbol_weight = 0.60;
  double max_total_exposure = 1.20;
  double max_leverage = 1.0;
  bool crypto_long_only = true;
  double max_daily_loss = 0.03;
  std::int64_t max_orders_per_minute = 60;
  double max_order_notional = 50000;

  // Where each key's effective value came from, by dotted name ("http.port").
  std::map<std::string, value_source> sources;
  std::string path;  // the file it was loaded from ("" when none)

  // The [forecast] keys as the model's sampling parameters.
  sampling_params sampling() const;

  // `symbols` after the `tradable_pairs` filter: the symbols to trade.
  std::vector<std::string> active_symbols() const;
};

using config_ptr = std::shared_ptr<const config>;

// Reads an environment variable; tests inject their own.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_env();

// One `KEY=VALUE` given on a command line (tradebot's --set, one value of a --grid). `origin` is
// how the user wrote it ("--set portfolio.max_positions=5"); every error about it starts with it.
struct config_override {
  std::string key;     // dotted name, "portfolio.max_positions"
  std::string value;   // as typed, read by the key's type (apply_overrides)
  std::string origin;
};

// Splits `text` = "KEY=VALUE" at its first '='; errc::bad_config "<origin>: ..." when there is no
// '=' or no key. The key is not checked here (apply_overrides does, with a suggestion).
tb::expected<config_override> parse_override(const std::string& text, const std::string& origin);

// Loads `path` (may be "" for defaults plus environment), applies the environment, then the
// overrides (they win over both), validates. Every problem is reported, one per line, naming the
// file, line, key and what is allowed (for an override: its origin).
tb::expected<config_ptr> load_config(const std::string& path, const env_lookup& env = process_env(),
                                     const std::vector<config_override>& overrides = {});

// `base` with the overrides applied in order (a later one for the same key wins), then the
// cross-key rules checked again. A value is read as the key's type exactly as the file's TOML
// would be (`5` is an integer, `5.0` is not; `0.3`, `1e-3`, `true`), with the same bounds and
// choices; a string key also takes unquoted text (`model.dtype=bfloat16`), a list key a comma
// list (`trading.symbols=AAPL,NVDA`). Sources become value_source::command_line. Every problem,
// one per line, starts with the override's origin; errc::bad_config.
tb::expected<config_ptr> apply_overrides(const config& base, const std::vector<config_override>& overrides);

// Whether the override names a key and its value reads by the key's type, bounds and choices
// (as apply_overrides reads it), without the cross-key rules. The error as apply_overrides says it.
tb::expected<bool> check_override(const config_override& o);

// Keys read at start only whose values differ between the two snapshots (a reload warns).
std::vector<std::string> restart_required(const config& running, const config& next);

// Effective values with their sources, for /stats → config.values. Secrets are masked.
nlohmann::json describe(const config& c);

// The documented example file: every key with its description, bounds and default.
std::string example_toml();

}  // namespace tb::core
