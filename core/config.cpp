#include "core/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include <toml++/toml.h>

#include "core/base_url.hpp"
#include "core/calendar.hpp"
#include "core/endpoint.hpp"
#include "core/forecast.hpp"

namespace tb::core {
namespace {

using member_ptr = std::variant<bool config::*, std::int64_t config::*, double config::*,
                                std::string config::*, std::vector<std::string> config::*>;

// One declared key. Its default is the member's initialiser in `config`.
struct key_spec {
  const char* name;         // "section.key"
  member_ptr member;
  const char* description;  // one line
  const char* env = nullptr;
  double min = 0, max = 0;  // inclusive bounds of integers and reals; max: most entries of a list
  std::vector<std::string> choices = {};  // allowed strings (normalised to lower case); {} = any
  bool secret = false;
  bool restart = false;  // read at start only: a reload that changes it warns instead
  bool endpoints = false;  // a list of "host:port" (core/endpoint.hpp), not of symbols
};

key_spec restart_only(key_spec k) {
  k.restart = true;
  return k;
}

key_spec endpoint_list(key_spec k) {
  k.endpoints = true;
  return k;
}

constexpr double int_max = 9.0e15;
// The largest universe: one symbol actor each and up to walk_forward_windows + 1 forecasts per
// symbol and cycle. Measured on 2 shared cores: 500 symbols get ready in 2-9 s and stop in
// 0.5-7 s, within the default 10 s deadline; 1000 stopped in 1-7 s, past a 5 s one (every symbol
// update re-renders the whole /stats symbols section, so a cycle's cost grows with the square of
// the universe: actors/symbol_actor.cpp symbol_board).
constexpr double max_symbols = 500;

// THE table: every key tradebotd reads, once.
const std::vector<key_spec>& schema() {
  static const std::vector<key_spec> keys = {
      {"daemon.log_level", &config::log_level, "spdlog level; reloadable", nullptr, 0, 0,
       {"trace", "debug", "info", "warn", "error", "critical", "off"}},
      {"daemon.shutdown_deadline_s", &config::shutdown_deadline_s,
       "seconds in-flight work gets to finish or persist after SIGTERM", nullptr, 0.1, 600},
      restart_only({"daemon.scheduler_threads", &config::scheduler_threads,
       "CAF scheduler worker threads; 0 = number of cores", nullptr, 0, 256}),
      restart_only({"daemon.state_dir", &config::state_dir, "journal and demo data (systemd StateDirectory)"}),
      restart_only({"http.address", &config::http_address, "listen address of /health, /stats, /metrics"}),
      restart_only({"http.port", &config::http_port, "listen port; 0 picks a free one (logged, and in STATUS=)",
       nullptr, 0, 65535}),
      restart_only({"http.max_header_bytes", &config::http_max_header_bytes, "largest request header accepted",
       nullptr, 1024, 1 << 20}),
      restart_only({"http.max_body_bytes", &config::http_max_body_bytes, "largest request body accepted",
       nullptr, 0, 1 << 20}),
      restart_only({"http.timeout_ms", &config::http_timeout_ms, "limit on every read and write of a connection",
       nullptr, 10, 600000}),
      restart_only({"http.max_connections", &config::http_max_connections,
       "connections served at once (every path, keep-alive); past it a connection gets a probe slot or a 503",
       nullptr, 1, 100000}),
      restart_only({"http.max_connections_per_client", &config::http_max_connections_per_client,
       "of those, connections one remote address may hold (local clients are all one address)", nullptr, 1, 100000}),
      restart_only({"http.probe_reserve", &config::http_probe_reserve,
       "extra connections kept for /health while the others are taken; each serves one request", nullptr, 0, 1024}),
      restart_only({"http.probe_timeout_ms", &config::http_probe_timeout_ms,
       "limit on reading and answering a probe connection; a slow or idle one is closed", nullptr, 10, 60000}),
      restart_only({"http.auth_token_file", &config::http_auth_token_file,
       "file holding the bearer token that every path but /, /health/live and /health/ready requires; "
       "empty = the systemd credential http_token if loaded, else no token (then http.address must be loopback)"}),
      {"model.dir", &config::model_dir,
       "checkpoint folder holding tokenizer/ and model/; empty = the demo checkpoint under state_dir"},
      {"model.dtype", &config::dtype, "weights and activations on the device", "KRONOS_DTYPE", 0, 0,
       {"float32", "bfloat16", "float16"}},
      {"model.compile", &config::compile, "fastest steady-state path for the device (inference/README.md)",
       "KRONOS_COMPILE"},
      {"model.compile_mode", &config::compile_mode, "compile flavour", "KRONOS_COMPILE_MODE", 0, 0,
       {"default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"}},
      {"model.compile_backend", &config::compile_backend,
       "torch.compile's backend, as the original bot took it: inductor and cudagraphs capture CUDA graphs, eager and "
       "aot_eager run eagerly (inference/README.md)",
       "KRONOS_COMPILE_BACKEND", 0, 0, {"inductor", "cudagraphs", "aot_eager", "eager"}},
      {"model.threads", &config::threads, "LibTorch intra-op threads; 0 = number of cores", nullptr, 0, 256},
      restart_only({"model.device", &config::device, "where the model runs", nullptr, 0, 0, {"auto", "cpu", "cuda"}}),
      restart_only({"inference.max_batch_rows", &config::inference_max_batch_rows,
                    "rows (windows x samples) per batch; a larger window runs alone", nullptr, 1, 1 << 22}),
      restart_only({"inference.max_queue_delay_us", &config::inference_max_queue_delay_us,
                    "how long a window waits for company before its batch starts", nullptr, 0, 10000000}),
      restart_only({"inference.max_queue_rows", &config::inference_max_queue_rows,
                    "queued rows beyond which requests are refused as overloaded", nullptr, 1, 1 << 30}),
      restart_only({"inference.backfill_max_wait_ms", &config::inference_backfill_max_wait_ms,
                    "walk-forward windows older than this go before live ones (no starvation)", nullptr, 0,
                    3600000}),
      restart_only({"inference.executors", &config::inference_executors,
                    "batches computed at once (CUDA streams on a GPU)", nullptr, 1, 16}),
      restart_only({"inference.publish", &config::inference_publish,
                    "publish the inference actor for other tradebotd processes (CAF middleman)"}),
      restart_only({"inference.publish_address", &config::inference_publish_address, "middleman listen address"}),
      restart_only({"inference.publish_port", &config::inference_publish_port,
                    "middleman port; 0 picks a free one (in /stats)", nullptr, 0, 65535}),
      restart_only(endpoint_list({"inference.remote", &config::inference_remote,
                    "\"host:port\" of published inference hosts; non-empty: load no model, forecast there; [] = "
                    "the local model. Beyond loopback TLS is required", nullptr, 0, 64})),
      restart_only({"inference.model_identity", &config::inference_model_identity,
                    "checkpoint hash (or a prefix of it) every remote host must serve; \"\" = the first host "
                    "to answer decides"}),
      restart_only({"inference.remote_backoff_max_ms", &config::inference_remote_backoff_max_ms,
                    "longest wait between reconnects to a lost inference host (starts at 100 ms, doubles)",
                    nullptr, 100, 3600000}),
      restart_only({"inference.tls_certificate", &config::inference_tls_certificate,
                    "PEM certificate this process shows its middleman peers (CAF's OpenSSL module); with tls_key "
                    "and tls_ca, or none of them. Required when publish_address or a remote host is not loopback"}),
      restart_only({"inference.tls_key", &config::inference_tls_key, "PEM private key of tls_certificate"}),
      restart_only({"inference.tls_ca", &config::inference_tls_ca,
                    "PEM CA certificate(s) every peer's certificate must chain to (both directions are verified)"}),
      {"forecast.pred_len", &config::pred_len, "bars forecast per window", nullptr, 1, window_limits::max_pred_len},
      {"forecast.lookback", &config::lookback, "bars of history per window", nullptr, 1, window_limits::max_bars},
      {"forecast.max_context", &config::max_context, "tokens the predictor sees at once", nullptr, 1, window_limits::max_context},
      {"forecast.temperature", &config::temperature, "sampling temperature", nullptr, 1e-6, window_limits::max_temperature},
      {"forecast.top_k", &config::top_k, "keep the k most likely tokens; 0 = off (then top_p applies)",
       nullptr, 0, window_limits::max_top_k},
      {"forecast.top_p", &config::top_p, "nucleus mass; 1 = off; ignored when top_k > 0", nullptr, 1e-6, 1},
      {"forecast.sample_count", &config::sample_count, "samples averaged per forecast", nullptr, 1, window_limits::max_sample_count},
      {"forecast.clip", &config::clip, "normalised inputs clipped to [-clip, clip]", nullptr, 1e-6, window_limits::max_clip},
      // [cache]: every key is read at start only (the cache actor builds its forecast_cache once;
      // the facade's tiers, TTL policy and Redis connections are fixed for its lifetime).
      restart_only({"cache.enabled", &config::cache_enabled,
       "forecast cache on or off; off: no lookups or stores, forecasts are still seeded from their keys",
       "KRONOS_PREDICTION_CACHE_ENABLED"}),
      restart_only({"cache.ttl_s", &config::cache_ttl_s, "lifetime of a forecast whose window holds a still-forming bar; 0 = never expires",
       "KRONOS_PREDICTION_CACHE_TTL", 0, 31536000}),
      restart_only({"cache.history_ttl_s", &config::cache_history_ttl_s,
       "lifetime of a forecast whose bars have all closed (newest bar period ended); 0 = never expires", "KRONOS_PREDICTION_CACHE_HISTORY_TTL",
       0, 31536000}),
      restart_only({"cache.max_size_mb", &config::cache_max_size_mb, "disk tier size cap (MiB), oldest evicted first",
       "KRONOS_PREDICTION_CACHE_MAX_SIZE_MB", 1, 1 << 24}),
      restart_only({"cache.decimals", &config::cache_decimals, "values rounded to this many decimals in cache keys",
       "KRONOS_CACHE_DECIMALS", 0, 15}),
      restart_only({"cache.dir", &config::cache_dir, "disk tier folder (systemd CacheDirectory)"}),
      restart_only({"cache.memory_enabled", &config::cache_memory_enabled, "memory tier (LRU) on or off",
       "KRONOS_CACHE_MEMORY_ENABLED"}),
      restart_only({"cache.memory_max_mb", &config::cache_memory_max_mb, "memory tier budget (MiB), least recently used evicted first",
       "KRONOS_CACHE_MEMORY_MAX_MB", 1, 1 << 20}),
      restart_only({"cache.disk_enabled", &config::cache_disk_enabled, "disk tier (one file per entry) on or off",
       "KRONOS_CACHE_DISK_ENABLED"}),
      restart_only({"cache.redis_enabled", &config::cache_redis_enabled,
       "Redis tier on or off; an unreachable Redis degrades the cache, never stops the daemon", "KRONOS_REDIS_ENABLED"}),
      restart_only({"cache.redis_host", &config::cache_redis_host, "Redis host name or address", "KRONOS_REDIS_HOST"}),
      restart_only({"cache.redis_port", &config::cache_redis_port, "Redis port", "KRONOS_REDIS_PORT", 1, 65535}),
      restart_only({"cache.redis_username", &config::cache_redis_username, "Redis ACL user; empty = the default user",
       "KRONOS_REDIS_USERNAME"}),
      restart_only({"cache.redis_password", &config::cache_redis_password, "Redis password; empty = no AUTH (masked in /stats)",
       "KRONOS_REDIS_PASSWORD", 0, 0, {}, true}),
      restart_only({"cache.redis_db", &config::cache_redis_db, "Redis database (SELECT)", "KRONOS_REDIS_DB", 0, 65535}),
      restart_only({"cache.redis_key_prefix", &config::cache_redis_key_prefix,
       "prefix of every Redis key; `tradebot cache clear` removes only keys under it", "KRONOS_REDIS_KEY_PREFIX"}),
      restart_only({"cache.redis_connect_timeout_ms", &config::cache_redis_connect_timeout_ms, "Redis connect timeout",
       "KRONOS_REDIS_CONNECT_TIMEOUT_MS", 1, 60000}),
      restart_only({"cache.redis_command_timeout_ms", &config::cache_redis_command_timeout_ms,
       "Redis command timeout; also the longest a cache lookup blocks the cache actor", "KRONOS_REDIS_COMMAND_TIMEOUT_MS", 1,
       60000}),
      restart_only({"cache.redis_backoff_initial_ms", &config::cache_redis_backoff_initial_ms,
       "first reconnect delay after a Redis failure (doubles up to the max)", "KRONOS_REDIS_BACKOFF_INITIAL_MS", 1, 3600000}),
      restart_only({"cache.redis_backoff_max_ms", &config::cache_redis_backoff_max_ms, "longest reconnect delay",
       "KRONOS_REDIS_BACKOFF_MAX_MS", 1, 3600000}),
      restart_only({"cache.write_queue_max", &config::cache_write_queue_max,
       "disk and Redis writes queued behind the requester; beyond it a write is dropped (memory keeps the entry)",
       "KRONOS_CACHE_WRITE_QUEUE_MAX", 1, 10000000}),
      restart_only({"cache.write_batch_max", &config::cache_write_batch_max, "entries per pipelined Redis write batch",
       "KRONOS_CACHE_WRITE_BATCH_MAX", 1, 10000}),
      restart_only({"cache.disk_retry_ms", &config::cache_disk_retry_ms,
       "a failing disk tier refuses writes this long before it tries again", "KRONOS_CACHE_DISK_RETRY_MS", 0, 86400000}),
      restart_only({"cache.log_interval_ms", &config::cache_log_interval_ms,
       "cache failures are logged at most once per this interval", "KRONOS_CACHE_LOG_INTERVAL_MS", 0, 86400000}),
      {"trading.paper", &config::paper, "paper trading; false also needs live = true", "PAPER"},
      {"trading.live", &config::live, "allow live trading with real money (only with PAPER=0)"},
      {"trading.symbols", &config::symbols, "the universe: equity tickers and crypto pairs (e.g. BTCUSD); [] = trade nothing (without a config file: every symbol of the feed)",
       nullptr, 0, max_symbols},
      {"trading.tradable_pairs", &config::tradable_pairs,
       "filter on trading.symbols; [] = all of them", "TRADABLE_PAIRS", 0, max_symbols},
      // --- the trading loop (issue 5) ---
      restart_only({"trading.enabled", &config::trading_enabled,
                    "run the trading loop (symbol, portfolio and broker actors, the schedule)"}),
      {"trading.walk_forward_windows", &config::walk_forward_windows,
       "walk-forward windows evaluated per symbol and cycle (window i drops the last i+1 bars)", nullptr, 1, 1000},
      {"trading.stale_after_bars", &config::stale_after_bars,
       "no proposal when the last bar closed more than this many bar periods ago", nullptr, 1, 100000},
      {"trading.forecast_timeout_s", &config::forecast_timeout_s,
       "a symbol's forecast request fails (and the symbol backs off) after this many seconds", nullptr, 0.1, 3600},
      {"trading.cycle_deadline_s", &config::cycle_deadline_s,
       "the portfolio closes a cycle with the proposals it has after this many seconds", nullptr, 0.1, 3600},
      {"trading.fractional_equity", &config::fractional_equity,
       "equity orders in fractional shares (floored to 1e-6; day orders, as Alpaca requires); false = whole "
       "shares (gtc orders), as the original bot"},
      restart_only({"market.feed", &config::market_feed, "market-data source", nullptr, 0, 0,
                    {"synthetic", "replay", "alpaca"}}),
      restart_only({"market.synthetic_seed", &config::synthetic_seed, "synthetic feed: random seed", nullptr, 0,
                    int_max}),
      restart_only({"market.synthetic_equities", &config::synthetic_equities,
                    "synthetic feed: how many equities it generates (DEMO01..)", nullptr, 0, 999}),
      restart_only({"market.synthetic_crypto", &config::synthetic_crypto,
                    "synthetic feed: how many crypto pairs it generates (DEMOnnUSD)", nullptr, 0, 999}),
      restart_only({"market.synthetic_period_min", &config::synthetic_period_min,
                    "synthetic feed: bar period in minutes, 1440 (daily) or a divisor of 30", nullptr, 1, 1440}),
      restart_only({"market.synthetic_start", &config::synthetic_start,
                    "synthetic feed: first bar date, YYYY-MM-DD (UTC)"}),
      restart_only({"market.replay_dir", &config::replay_dir,
                    "replay feed: folder of CSV files, one symbol per file (the file name)"}),
      restart_only({"market.clock", &config::market_clock,
                    "simulated: time jumps from one scheduled event to the next as soon as a cycle is done "
                    "(demo, replay); wall: real time", nullptr, 0, 0, {"simulated", "wall"}}),
      restart_only({"market.sim_start", &config::sim_start,
                    "simulated clock start, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"}),
      restart_only({"market.sim_end", &config::sim_end,
                    "simulated clock: the schedule stops at this instant (same formats); empty = never"}),
      {"market.sim_cycle_interval_ms", &config::sim_cycle_interval_ms,
       "simulated clock: at least this many wall milliseconds from one cycle's start to the next (a demo "
       "pace); 0 = as fast as cycles complete", nullptr, 0, 3600000},
      {"schedule.open_pass_delay_min", &config::open_pass_delay_min,
       "open pass this many minutes after the NYSE open", nullptr, 0, 120},
      {"schedule.midday_pass_min", &config::midday_pass_min,
       "New York time of the midday pass, minutes after midnight (630 = 10:30)", nullptr, 570, 959},
      {"schedule.close_backout_lead_min", &config::close_backout_lead_min,
       "close back-out this many minutes before the NYSE close", nullptr, 1, 180},
      {"schedule.backout_cross_bps", &config::backout_cross_bps,
       "close back-out: an exit sells at the bid less this many basis points, buys at the ask plus them "
       "(without a quote: the last close -/+ broker.default_spread, then the same)", nullptr, 0, 1000},
      {"schedule.crypto_refresh_interval_min", &config::crypto_refresh_interval_min,
       "crypto refresh at multiples of this many minutes since the epoch (1440 = 00:00 UTC)", nullptr, 5, 10080},
      restart_only({"schedule.pass_at_start", &config::pass_at_start,
                    "wall clock: analyse once when the daemon starts (crypto, and equities while NYSE is in "
                    "session); orders already journaled are not sent again"}),
      restart_only({"broker.kind", &config::broker_kind, "who executes orders", nullptr, 0, 0, {"sim", "alpaca"}}),
      restart_only({"broker.initial_cash", &config::broker_initial_cash, "sim broker: starting cash (USD)", nullptr,
                    1, 1e12}),
      restart_only({"broker.equity_fee_rate", &config::broker_equity_fee_rate,
                    "sim broker: fee per fill, fraction of notional, equities", nullptr, 0, 0.1}),
      restart_only({"broker.crypto_fee_rate", &config::broker_crypto_fee_rate,
                    "sim broker: fee per fill, fraction of notional, crypto", nullptr, 0, 0.1}),
      restart_only({"broker.default_spread", &config::broker_default_spread,
                    "sim broker: relative spread when the feed has no quote", nullptr, 0, 0.1}),
      restart_only({"broker.allow_short_equity", &config::broker_allow_short_equity,
                    "sim broker: equity sells may open shorts"}),
      restart_only({"alpaca.trading_url", &config::alpaca_trading_url,
                    "Alpaca Trading API origin; empty = the paper endpoint, or the live one with PAPER=0 and "
                    "trading.live = true (the live endpoint is refused otherwise)"}),
      restart_only({"alpaca.data_url", &config::alpaca_data_url,
                    "Alpaca Market Data API origin; empty = https://data.alpaca.markets"}),
      restart_only({"alpaca.stock_feed", &config::alpaca_stock_feed, "stock bars and quotes: iex (free plan) or sip",
                    nullptr, 0, 0, {"iex", "sip"}}),
      restart_only({"alpaca.adjustment", &config::alpaca_adjustment, "stock bars: corporate-action adjustment",
                    nullptr, 0, 0, {"raw", "split", "dividend", "all"}}),
      restart_only({"alpaca.crypto_loc", &config::alpaca_crypto_loc, "crypto data location (v1beta3/crypto/{loc})"}),
      restart_only({"alpaca.bar_period_min", &config::alpaca_bar_period_min,
                    "bar period in minutes: 1..59, whole hours up to 23 h, or 1440 (daily)", nullptr, 1, 1440}),
      restart_only({"alpaca.ca_file", &config::alpaca_ca_file,
                    "PEM file of the CAs to trust; empty = the system's store (certificates and host names are "
                    "always verified)"}),
      restart_only({"alpaca.timeout_s", &config::alpaca_timeout_s,
                    "connect and read timeout of one HTTPS attempt", nullptr, 0.1, 300}),
      restart_only({"alpaca.max_attempts", &config::alpaca_max_attempts,
                    "attempts per request (429, 5xx and timeouts are retried with backoff)", nullptr, 1, 20}),
      restart_only({"alpaca.rate_per_minute", &config::alpaca_rate_per_minute,
                    "requests per minute to each Alpaca API, market data and trading (Alpaca's limit: 200)", nullptr, 1,
                    10000}),
      restart_only({"alpaca.crypto_price_increment", &config::alpaca_crypto_price_increment,
                    "crypto limit-price tick the portfolio rounds to (any broker); 0 = 6 significant digits of the price", nullptr, 0, 1000}),
      {"strategy.min_sharpe", &config::min_sharpe, "gate: walk-forward Sharpe at least this", nullptr, -10, 10},
      {"strategy.recent_windows", &config::recent_windows, "gate: the last K window returns sum above 0",
       nullptr, 1, 10000},
      {"strategy.min_edge", &config::min_edge, "gate: mean return per window above this", nullptr, -1, 1},
      {"strategy.spread_penalty_weight", &config::spread_penalty_weight,
       "the composite score is return minus this weight x spread cost", nullptr, 0, 100},
      {"strategy.allow_buy_hold", &config::allow_buy_hold, "buy_hold may be chosen"},
      {"portfolio.max_positions", &config::max_positions, "at most this many symbols held", nullptr, 1, 1000},
      {"portfolio.min_positions", &config::min_positions,
       "top up to this many from qualified symbols below min_score", nullptr, 0, 1000},
      {"portfolio.min_score", &config::min_score, "preferred symbols score at least this", nullptr, -1e6, 1e6},
      {"portfolio.kelly_fraction", &config::kelly_fraction, "Kelly-lite weight: min(kelly_cap, this x edge / variance)",
       nullptr, 1e-9, 10},
      {"portfolio.kelly_cap", &config::kelly_cap, "largest Kelly weight of one symbol", nullptr, 1e-9, 1},
      {"risk.max_symbol_weight", &config::max_symbol_weight, "|position| <= this x equity per symbol", nullptr,
       1e-9, 10},
      {"risk.max_total_exposure", &config::max_total_exposure, "sum of |positions| <= this x equity", nullptr,
       1e-9, 10},
      {"risk.max_leverage", &config::max_leverage, "sum of long positions <= this x equity", nullptr, 1e-9, 10},
      {"risk.crypto_long_only", &config::crypto_long_only, "never short crypto"},
      {"risk.max_daily_loss", &config::max_daily_loss,
       "kill switch: no new entries once equity fell this fraction below the day's start", nullptr, 1e-9, 1},
      {"risk.max_orders_per_minute", &config::max_orders_per_minute, "accepted orders in any 60 s (clock time)",
       nullptr, 1, 100000},
      {"risk.max_order_notional", &config::max_order_notional, "largest order (USD)", nullptr, 1e-9, 1e12},
  };
  return keys;
}

const key_spec* find_key(const std::string& name) {
  for (const auto& k : schema())
    if (name == k.name) return &k;
  return nullptr;
}

std::string section_of(const std::string& name) { return name.substr(0, name.find('.')); }

// "[daemon], [http], ...": the schema's sections in declaration order.
std::string section_list() {
  std::string out, last;
  for (const auto& k : schema()) {
    const std::string section = section_of(k.name);
    if (section == last) continue;
    out += (out.empty() ? "[" : ", [") + section + "]";
    last = section;
  }
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string format_number(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// What a key accepts, in words: "an integer in [0, 65535]".
std::string allowed(const key_spec& k) {
  return std::visit(
      [&](auto m) -> std::string {
        using T = std::decay_t<decltype(std::declval<config>().*m)>;
        if constexpr (std::is_same_v<T, bool>) return "true or false";
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return "an integer in [" + std::to_string(static_cast<long long>(k.min)) + ", " +
                 std::to_string(static_cast<long long>(k.max)) + "]";
        else if constexpr (std::is_same_v<T, double>)
          return "a number in [" + format_number(k.min) + ", " + format_number(k.max) + "]";
        else if constexpr (std::is_same_v<T, std::string>) {
          if (k.choices.empty()) return "a string";
          std::string s = "one of";
          for (const auto& c : k.choices) s += " " + quote(c);
          return s;
        } else
          return "a list of at most " + std::to_string(static_cast<long long>(k.max)) +
                 (k.endpoints ? " \"host:port\" strings" : " strings");
      },
      k.member);
}

// A value read from the file or the environment, before it is checked against the key.
using raw_value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

// Checks `raw` against `k` and stores it; returns the problem in words, or "" when stored.
std::string assign(config& c, const key_spec& k, raw_value raw) {
  return std::visit(
      [&](auto m) -> std::string {
        using T = std::decay_t<decltype(c.*m)>;
        if constexpr (std::is_same_v<T, bool>) {
          if (!std::holds_alternative<bool>(raw)) return "expected " + allowed(k);
          c.*m = std::get<bool>(raw);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (!std::holds_alternative<std::int64_t>(raw)) return "expected " + allowed(k);
          auto v = std::get<std::int64_t>(raw);
          if (v < k.min || v > k.max) return std::to_string(v) + " is out of range; expected " + allowed(k);
          c.*m = v;
        } else if constexpr (std::is_same_v<T, double>) {
          double v;
          if (auto* i = std::get_if<std::int64_t>(&raw)) v = static_cast<double>(*i);
          else if (auto* d = std::get_if<double>(&raw)) v = *d;
          else return "expected " + allowed(k);
          if (!std::isfinite(v) || v < k.min || v > k.max)
            return format_number(v) + " is out of range; expected " + allowed(k);
          c.*m = v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!std::holds_alternative<std::string>(raw)) return "expected " + allowed(k);
          auto v = std::get<std::string>(raw);
          if (!k.choices.empty()) {
            v = lower(trim(v));
            if (std::find(k.choices.begin(), k.choices.end(), v) == k.choices.end())
              return quote(excerpt(std::get<std::string>(raw))) + " is not allowed; expected " + allowed(k);
          }
          c.*m = v;
        } else {
          if (!std::holds_alternative<std::vector<std::string>>(raw)) return "expected " + allowed(k);
          const auto n = std::get<std::vector<std::string>>(raw).size();
          if (n > k.max) return std::to_string(n) + " entries; expected " + allowed(k);
          std::vector<std::string> out;
          std::set<std::string> seen;
          for (auto s : std::get<std::vector<std::string>>(raw)) {
            s = trim(s);
            std::string item;  // the entry as stored: "host:port" normalised, or an upper-case symbol
            if (k.endpoints) {
              auto e = parse_endpoint(s);
              if (!e) return e.error().message;
              item = to_string(*e);
            } else {
              for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
              bool ok = !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char ch) {
                return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '/' || ch == '-';
              });
              if (!ok) return quote(excerpt(s)) + " is not a symbol (letters, digits, '.', '/', '-'; at most 16)";
              item = s;
            }
            if (!seen.insert(item).second) return quote(s) + " is listed twice";
            out.push_back(std::move(item));
          }
          c.*m = std::move(out);
        }
        return {};
      },
      k.member);
}

// A TOML node as a raw value; nullopt for types no key takes (tables, dates, ...).
std::optional<raw_value> from_toml(const toml::node& n) {
  if (auto v = n.as_boolean()) return raw_value{v->get()};
  if (auto v = n.as_integer()) return raw_value{v->get()};
  if (auto v = n.as_floating_point()) return raw_value{v->get()};
  if (auto v = n.as_string()) return raw_value{v->get()};
  if (auto arr = n.as_array()) {
    std::vector<std::string> out;
    for (const auto& e : *arr) {
      auto s = e.as_string();
      if (!s) return std::nullopt;
      out.push_back(s->get());
    }
    return raw_value{std::move(out)};
  }
  return std::nullopt;
}

// An environment string as the raw value the key's type expects; nullopt when it does not parse.
std::optional<raw_value> from_env(const key_spec& k, const std::string& text) {
  const std::string s = trim(text);
  return std::visit(
      [&](auto m) -> std::optional<raw_value> {
        using T = std::decay_t<decltype(std::declval<config>().*m)>;
        if constexpr (std::is_same_v<T, bool>) {
          auto l = lower(s);
          if (l == "1" || l == "true" || l == "yes" || l == "on") return raw_value{true};
          if (l == "0" || l == "false" || l == "no" || l == "off") return raw_value{false};
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          std::int64_t v = 0;
          auto res = std::from_chars(s.data(), s.data() + s.size(), v);
          if (res.ec != std::errc() || res.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
          return raw_value{v};
        } else if constexpr (std::is_same_v<T, double>) {
          char* end = nullptr;
          double v = std::strtod(s.c_str(), &end);
          if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
          return raw_value{v};
        } else if constexpr (std::is_same_v<T, std::string>) {
          return raw_value{s};
        } else {
          std::vector<std::string> out;
          std::stringstream ss(s);
          for (std::string item; std::getline(ss, item, ',');)
            if (!trim(item).empty()) out.push_back(item);
          return raw_value{std::move(out)};
        }
      },
      k.member);
}

// An override's text as the raw value its key takes: a TOML value (the file's rules), else, for
// a string or list key, the text as the environment gives it; nullopt when it does not parse.
std::optional<raw_value> from_override(const key_spec& k, const std::string& text) {
  std::optional<raw_value> raw;
  try {
    const auto tbl = toml::parse("v = " + text);
    if (tbl.size() == 1 && tbl.get("v")) raw = from_toml(*tbl.get("v"));  // one value, no smuggled keys
  } catch (const toml::parse_error&) {
  }
  if (std::holds_alternative<std::string config::*>(k.member) && !(raw && std::holds_alternative<std::string>(*raw)))
    return from_env(k, text);
  if (std::holds_alternative<std::vector<std::string> config::*>(k.member) &&
      !(raw && std::holds_alternative<std::vector<std::string>>(*raw)))
    return from_env(k, text);
  return raw;
}

// "unknown key 'x.y'" with the nearest known key, or the section's keys, or "no such section".
std::string unknown_key(const std::string& name) {
  const std::string section = section_of(name);
  std::string best, in_section;
  std::size_t best_d = 3;
  for (const auto& k : schema()) {
    // A suggestion is at most 2 edits away: a name that much longer than every key has none
    // (and a huge one would cost its length times every key's).
    auto d = name.size() <= 64 ? edit_distance(name, k.name) : best_d;
    if (d < best_d) best_d = d, best = k.name;
    if (section_of(k.name) == section) in_section += std::string(in_section.empty() ? "" : ", ") + k.name;
  }
  std::string msg = "unknown key '" + excerpt(name) + "'";
  if (!best.empty()) msg += "; did you mean '" + best + "'?";
  else if (!in_section.empty()) msg += "; keys of [" + excerpt(section) + "]: " + in_section;
  else msg += "; there is no section [" + excerpt(section) + "]";
  return msg;
}

void read_overrides(config& c, const std::vector<config_override>& overrides, std::vector<std::string>& errors) {
  for (const auto& o : overrides) {
    const key_spec* spec = find_key(o.key);
    if (!spec) {
      errors.push_back(o.origin + ": " + unknown_key(o.key));
      continue;
    }
    auto raw = from_override(*spec, o.value);
    std::string problem = raw ? assign(c, *spec, std::move(*raw)) : "expected " + allowed(*spec);
    if (!problem.empty()) {
      errors.push_back(o.origin + ": key '" + o.key + "': " + problem);
      continue;
    }
    c.sources[o.key] = value_source::command_line;
  }
}

std::string where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line) + ": ";
}

// Reads the file into `c`; appends one line per problem to `errors`.
void read_file(config& c, const std::string& path, std::vector<std::string>& errors) {
  // Only a regular file with content is a config: a directory reads as empty on some systems, and
  // an empty file (a truncated copy, a failed deploy) would silently drop every setting, the
  // universe included, on a reload as at a start.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    errors.push_back(path + ": cannot read the config file: " + (ec ? ec.message() : "no such file"));
    return;
  }
  if (std::filesystem::is_directory(status)) {
    errors.push_back(path + ": is a directory, not a config file");
    return;
  }
  if (!std::filesystem::is_regular_file(status)) {
    errors.push_back(path + ": is not a regular file");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    errors.push_back(path + ": cannot read the config file");
    return;
  }
  if (trim(text).empty()) {
    errors.push_back(path + ": the file is empty; refusing it (it would drop every setting, trading.symbols "
                            "included). For the built-in defaults start without --config; the generated example "
                            "(tradebotd --print-config, every key commented out) is a valid file");
    return;
  }
  toml::table tbl;
  try {
    tbl = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    errors.push_back(path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
    return;
  }
  for (const auto& [section_key, section_node] : tbl) {
    const std::string section(section_key.str());
    const auto* section_tbl = section_node.as_table();
    if (!section_tbl) {
      errors.push_back(where(path, section_key.source()) + "key '" + excerpt(section) +
                       "' outside a section; every key belongs to one of " + section_list());
      continue;
    }
    for (const auto& [key, node] : *section_tbl) {
      const std::string name = section + "." + std::string(key.str());
      const key_spec* spec = find_key(name);
      if (!spec) {
        errors.push_back(where(path, key.source()) + unknown_key(name));
        continue;
      }
      auto raw = from_toml(node);
      std::string problem = raw ? assign(c, *spec, std::move(*raw)) : "expected " + allowed(*spec);
      if (!problem.empty()) {
        errors.push_back(where(path, node.source()) + "key '" + name + "': " + problem);
        continue;
      }
      c.sources[name] = value_source::file;
    }
  }
}

void read_env(config& c, const env_lookup& env, std::vector<std::string>& errors) {
  for (const auto& k : schema()) {
    if (!k.env) continue;
    auto text = env(k.env);
    if (!text) continue;
    auto raw = from_env(k, *text);
    std::string problem = raw ? assign(c, k, std::move(*raw)) : "expected " + allowed(k);
    if (!problem.empty()) {
      errors.push_back("environment " + std::string(k.env) + "=" + quote(excerpt(*text)) + " (key '" + k.name +
                       "'): " + problem);
      continue;
    }
    c.sources[k.name] = value_source::env;
  }
}

// The middleman beyond loopback needs mutual TLS: a non-loopback inference.publish_address (when
// publishing) or inference.remote host is refused without the three inference.tls_* files, which
// must be readable. (Their content is checked where the daemon starts: actors/middleman_transport.)
void validate_tls(const config& c, std::vector<std::string>& errors) {
  const std::pair<const char*, const std::string*> files[] = {{"inference.tls_certificate", &c.inference_tls_certificate},
                                                             {"inference.tls_key", &c.inference_tls_key},
                                                             {"inference.tls_ca", &c.inference_tls_ca}};
  const auto set = std::count_if(std::begin(files), std::end(files), [](const auto& f) { return !f.second->empty(); });
  if (set != 0 && set != 3) {
    errors.push_back("inference.tls_certificate, inference.tls_key and inference.tls_ca go together: set all three "
                     "(TLS) or none (plain, loopback only)");
    return;
  }
  for (const auto& [key, path] : files)
    if (!path->empty() && !std::ifstream(*path))
      errors.push_back(std::string(key) + " " + excerpt(*path) + " cannot be read");
  if (set == 3) return;
  std::vector<std::string> beyond;
  if (c.inference_publish && !is_loopback_host(c.inference_publish_address))
    beyond.push_back("inference.publish_address " + excerpt(c.inference_publish_address));
  for (const auto& r : c.inference_remote)
    if (auto e = parse_endpoint(r); e && !is_loopback_host(e->host)) beyond.push_back("inference.remote " + r);
  if (!beyond.empty()) {
    std::string which;
    for (const auto& b : beyond) which += (which.empty() ? "" : ", ") + b;
    errors.push_back(which + (beyond.size() > 1 ? " are" : " is") +
                     " not loopback: the middleman beyond this machine needs mutual TLS; set inference.tls_certificate, "
                     "inference.tls_key and inference.tls_ca (README.md, \"Two machines\")");
  }
}

void validate(const config& c, std::vector<std::string>& errors) {
  const std::string file = c.path.empty() ? "the config file" : c.path;
  if (c.pred_len > c.max_context)
    errors.push_back("forecast.pred_len (" + std::to_string(c.pred_len) +
                     ") must be <= forecast.max_context (" + std::to_string(c.max_context) + ")");
  if (!c.paper && !c.live)
    errors.push_back("PAPER=0 / trading.paper = false asks for live trading, which also needs "
                     "`live = true` under [trading] in " + file + "; refusing to start");
  if (c.min_positions > c.max_positions)
    errors.push_back("portfolio.min_positions (" + std::to_string(c.min_positions) +
                     ") must be <= portfolio.max_positions (" + std::to_string(c.max_positions) + ")");
  if (c.alpaca_bar_period_min != 1440 && c.alpaca_bar_period_min >= 60 && c.alpaca_bar_period_min % 60 != 0)
    errors.push_back("alpaca.bar_period_min (" + std::to_string(c.alpaca_bar_period_min) +
                     ") must be 1..59, a whole number of hours up to 23 h, or 1440");
  if (c.market_feed == "replay" && c.replay_dir.empty())
    errors.push_back("market.feed = \"replay\" needs market.replay_dir (a folder of CSV files)");
  else if (c.market_feed == "replay" && !std::filesystem::is_directory(c.replay_dir))
    errors.push_back("market.replay_dir " + c.replay_dir + " is not a directory");
  if (c.cache_redis_backoff_initial_ms > c.cache_redis_backoff_max_ms)
    errors.push_back("cache.redis_backoff_initial_ms (" + std::to_string(c.cache_redis_backoff_initial_ms) +
                     ") must be <= cache.redis_backoff_max_ms (" + std::to_string(c.cache_redis_backoff_max_ms) + ")");
  if (c.cache_redis_key_prefix.empty())
    errors.push_back("cache.redis_key_prefix must not be empty (`tradebot cache clear` removes <prefix>*)");
  if (c.cache_redis_enabled && c.cache_redis_host.empty())
    errors.push_back("cache.redis_host must not be empty when cache.redis_enabled = true");
  if (c.cache_disk_enabled && c.cache_dir.empty())
    errors.push_back("cache.dir must not be empty when cache.disk_enabled = true");
  for (const auto& s : c.tradable_pairs)
    if (std::find(c.symbols.begin(), c.symbols.end(), s) == c.symbols.end())
      errors.push_back("TRADABLE_PAIRS / trading.tradable_pairs names '" + s +
                       "', which is not in trading.symbols");
  // What the start-up would refuse later (feed, clock, broker, HTTP listener), said here so that
  // `--check` and a reload refuse it too. Dates must be real and inside the NYSE calendar's years,
  // so a run is refused here rather than stopped on a year the calendar cannot answer.
  const auto instant = [&](const std::string& text, const char* key) -> std::optional<time_point> {
    auto t = parse_utc_instant(text, key);
    if (!t) errors.push_back(t.error().message);
    return t ? std::optional<time_point>(*t) : std::nullopt;
  };
  const auto start = instant(c.sim_start, "market.sim_start");
  const auto end = c.sim_end.empty() ? std::nullopt : instant(c.sim_end, "market.sim_end");
  if (c.market_clock == "simulated" && start && end && *end <= *start)
    errors.push_back("market.sim_end (" + c.sim_end + ") must be after market.sim_start (" + c.sim_start + ")");
  instant(c.synthetic_start, "market.synthetic_start");
  if (c.synthetic_period_min != 1440 && 30 % c.synthetic_period_min != 0)
    errors.push_back("market.synthetic_period_min (" + std::to_string(c.synthetic_period_min) +
                     ") must be 1440 (daily) or divide 30 (1, 2, 3, 5, 6, 10, 15, 30)");
  const auto generated = c.synthetic_equities + c.synthetic_crypto;
  if (c.market_feed == "synthetic" && c.symbols.empty() && generated < 1)
    errors.push_back("market.synthetic_equities + market.synthetic_crypto is 0: the synthetic feed has no symbol "
                     "(set one of them, or trading.symbols)");
  if (generated > 999)
    errors.push_back("market.synthetic_equities + market.synthetic_crypto (" + std::to_string(generated) +
                     ") must be <= 999");
  unsigned char addr[16];
  if (inet_pton(AF_INET, c.http_address.c_str(), addr) != 1 && inet_pton(AF_INET6, c.http_address.c_str(), addr) != 1)
    errors.push_back("http.address \"" + excerpt(c.http_address) +
                     "\" is not an IPv4 or IPv6 address literal (e.g. 127.0.0.1, 0.0.0.0, ::1)");
  const bool alpaca = c.market_feed == "alpaca" || c.broker_kind == "alpaca";
  for (const auto& [key, url] : {std::pair<const char*, const std::string&>{"alpaca.trading_url", c.alpaca_trading_url},
                                 std::pair<const char*, const std::string&>{"alpaca.data_url", c.alpaca_data_url}}) {
    if (url.empty()) continue;
    auto u = parse_base_url(url);
    if (!u) errors.push_back(std::string(key) + ": " + u.error().message);
    else if (u->scheme != "https") errors.push_back(std::string(key) + " (" + excerpt(url) + ") must be https://");
    else if (key == std::string("alpaca.trading_url") && lower(u->host) == "api.alpaca.markets" && !(!c.paper && c.live))
      errors.push_back("alpaca.trading_url " + url + " is the live endpoint but live trading is not enabled "
                       "(PAPER=0 and trading.live = true)");
  }
  if (alpaca && !c.alpaca_ca_file.empty() && !std::ifstream(c.alpaca_ca_file))
    errors.push_back("alpaca.ca_file " + c.alpaca_ca_file + " cannot be read");
  validate_tls(c, errors);
}

nlohmann::json value_json(const config& c, const key_spec& k) {
  return std::visit([&](auto m) { return nlohmann::json(c.*m); }, k.member);
}

std::string value_toml(const config& c, const key_spec& k) {
  return std::visit(
      [&](auto m) -> std::string {
        using T = std::decay_t<decltype(c.*m)>;
        const auto& v = c.*m;
        if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<T, double>) return format_number(v);
        else if constexpr (std::is_same_v<T, std::string>) return quote(v);
        else {
          std::string s = "[";
          for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
          return s + "]";
        }
      },
      k.member);
}

}  // namespace

const char* to_string(value_source s) {
  switch (s) {
    case value_source::default_value: return "default";
    case value_source::file: return "file";
    case value_source::env: return "env";
    case value_source::command_line: return "cli";
  }
  return "default";
}

sampling_params config::sampling() const {
  sampling_params p;
  p.pred_len = static_cast<int>(pred_len);
  p.max_context = static_cast<int>(max_context);
  p.temperature = temperature;
  p.top_k = static_cast<int>(top_k);
  p.top_p = top_p;
  p.sample_count = static_cast<int>(sample_count);
  p.clip = clip;
  return p;
}

std::vector<std::string> config::active_symbols() const {
  if (tradable_pairs.empty()) return symbols;
  std::vector<std::string> out;
  for (const auto& s : symbols)
    if (std::find(tradable_pairs.begin(), tradable_pairs.end(), s) != tradable_pairs.end()) out.push_back(s);
  return out;
}

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

namespace {

tb::expected<config_ptr> validated(std::shared_ptr<config> c, std::vector<std::string>& errors) {
  if (errors.empty()) validate(*c, errors);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return tb::error{errc::bad_config, msg};
  }
  return config_ptr(std::move(c));
}

}  // namespace

tb::expected<config_override> parse_override(const std::string& text, const std::string& origin) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    return tb::error{errc::bad_config, origin + ": expected KEY=VALUE (e.g. strategy.min_sharpe=0.3)"};
  config_override o{trim(text.substr(0, eq)), text.substr(eq + 1), origin};
  if (o.key.empty()) return tb::error{errc::bad_config, origin + ": no key before '='"};
  return o;
}

tb::expected<config_ptr> load_config(const std::string& path, const env_lookup& env,
                                     const std::vector<config_override>& overrides) {
  auto c = std::make_shared<config>();
  c->path = path;
  for (const auto& k : schema()) c->sources[k.name] = value_source::default_value;
  std::vector<std::string> errors;
  if (!path.empty()) read_file(*c, path, errors);
  read_env(*c, env, errors);
  read_overrides(*c, overrides, errors);
  return validated(std::move(c), errors);
}

tb::expected<config_ptr> apply_overrides(const config& base, const std::vector<config_override>& overrides) {
  auto c = std::make_shared<config>(base);
  std::vector<std::string> errors;
  read_overrides(*c, overrides, errors);
  return validated(std::move(c), errors);
}

tb::expected<bool> check_override(const config_override& o) {
  config scratch;
  std::vector<std::string> errors;
  read_overrides(scratch, {o}, errors);
  if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
  return true;
}

std::vector<std::string> restart_required(const config& running, const config& next) {
  std::vector<std::string> out;
  for (const auto& k : schema())
    if (k.restart && value_json(running, k) != value_json(next, k)) out.push_back(k.name);
  return out;
}

nlohmann::json describe(const config& c) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : schema()) {
    auto it = c.sources.find(k.name);
    out[k.name] = {{"value", k.secret ? nlohmann::json("***") : value_json(c, k)},
                   {"source", to_string(it == c.sources.end() ? value_source::default_value : it->second)}};
  }
  return out;
}

std::string example_toml() {
  const config defaults;
  std::string out =
      "# tradebotd configuration. Every key, with its default; uncomment to change.\n"
      "# Unknown keys, wrong types and out-of-range values are errors (tradebotd --check).\n"
      "# Environment variables named below override the file. SIGHUP reloads this file.\n"
      "# Generated by `tradebotd --print-config`; tests keep this copy in sync.\n";
  std::string section;
  for (const auto& k : schema()) {
    const std::string name = k.name;
    if (section_of(name) != section) {
      section = section_of(name);
      out += "\n[" + section + "]\n";
    }
    out += "# " + std::string(k.description) + ". Allowed: " + allowed(k);
    if (k.restart) out += ". Read at start only";
    if (k.env) out += ". Env: " + std::string(k.env);
    out += ".\n# " + name.substr(section.size() + 1) + " = " + value_toml(defaults, k) + "\n";
  }
  return out;
}

}  // namespace tb::core
