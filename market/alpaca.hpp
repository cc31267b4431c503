#pragma once
// Alpaca's REST APIs behind the market/ interfaces: a market-data feed (stock bars v2, crypto bars
// v1beta3, latest quotes for the spread) and a broker (Trading API v2: account, positions, open
// orders, limit orders with a client_order_id, cancel, lookup by client_order_id). Both go through
// market/https_client (certificate + host-name verification, timeouts, retries with backoff on
// 429/5xx/timeouts, a 200/min token bucket). See market/README.md, "Alpaca".
//
// Credentials come from APCA_API_KEY_ID / APCA_API_SECRET_KEY or from systemd credentials
// ($CREDENTIALS_DIRECTORY/alpaca_key_id, alpaca_secret_key). They are sent only in the
// APCA-API-KEY-ID / APCA-API-SECRET-KEY headers and scrubbed from every error message and log.
//
// Symbols: the bot writes crypto pairs as BTCUSD; Alpaca's data and order APIs take BTC/USD.
// Requests are sent in Alpaca's form, everything returned (bars, orders, positions) is in the
// bot's form (BTCUSD), whatever form Alpaca answered with.
//
// Threads: both classes may be called from any thread; each call blocks (network, rate limiter,
// backoff) and calls on one object are serialised. The broker actor and symbol actors call them
// from detached actors / their own executors, never from a CAF scheduler worker.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "market/broker.hpp"
#include "market/feed.hpp"
#include "market/https_client.hpp"

namespace tb::market {

inline constexpr const char* alpaca_paper_url = "https://paper-api.alpaca.markets";
inline constexpr const char* alpaca_live_url = "https://api.alpaca.markets";
inline constexpr const char* alpaca_data_url = "https://data.alpaca.markets";

// ---- credentials ----

// The API key pair. Deliberately not printable (no operator<<, no to_string); secrets() lists
// both values for redaction.
class alpaca_credentials {
 public:
  alpaca_credentials(std::string key_id, std::string secret_key)
      : key_id_(std::move(key_id)), secret_key_(std::move(secret_key)) {}
  const std::string& key_id() const { return key_id_; }
  const std::string& secret_key() const { return secret_key_; }
  std::vector<std::string> secrets() const { return {key_id_, secret_key_}; }

 private:
  std::string key_id_;
  std::string secret_key_;
};

// Reads an environment variable; nullopt when unset.
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// systemd credentials first: when $CREDENTIALS_DIRECTORY is set and holds both alpaca_key_id and
// alpaca_secret_key (surrounding whitespace trimmed), those; else APCA_API_KEY_ID and
// APCA_API_SECRET_KEY. errc::bad_config naming what is missing (never a value) otherwise, or when
// only one half of a pair is present, or a value is empty or holds whitespace/control characters.
tb::expected<alpaca_credentials> load_alpaca_credentials(const env_lookup& env);
tb::expected<alpaca_credentials> load_alpaca_credentials();  // the process environment

// ---- symbols, formatting (pure); ticks: market/symbols.hpp ----

// BTCUSD -> BTC/USD for crypto (BTC/USD unchanged); equities upper-cased as they are.
std::string to_alpaca_symbol(const std::string& symbol);
// BTC/USD -> BTCUSD; anything else unchanged.
std::string from_alpaca_symbol(const std::string& symbol);

// A decimal string with at most `max_decimals` decimals, trailing zeros dropped ("1.5", "190").
std::string format_decimal(double v, int max_decimals);

// RFC 3339 ("2024-01-02T05:00:00Z", fractional seconds and +hh:mm offsets accepted).
tb::expected<core::time_point> parse_rfc3339(const std::string& s);

// Alpaca order status -> ours: new, accepted, pending_new, accepted_for_bidding, partially_filled,
// pending_cancel, pending_replace, done_for_day, calculated, held and anything unknown -> open
// (never assume an order is gone); filled -> filled; canceled, replaced, rejected, stopped,
// suspended -> canceled; expired -> expired.
order_status map_alpaca_order_status(const std::string& status);

// ---- the market-data feed ----

struct alpaca_feed_options {
  std::string url;     // empty: alpaca_data_url; tests: their fake server
  https_options http;  // transport knobs; url and secrets are filled in by the feed
  // As the bot writes them (AAPL, BTCUSD); others are unknown symbols. Empty: any symbol (the
  // daemon's choice: a reload may add symbols; Alpaca itself refuses the ones it does not know).
  std::vector<std::string> symbols;
  // Bar period: 1..59 minutes, 1..23 hours or exactly 24 hours (timeframe nMin, nHour, 1Day).
  core::duration bar_period = std::chrono::hours(24);
  std::string stock_feed = "iex";  // iex (free plan) or sip
  std::string adjustment = "raw";  // raw, split, dividend, all (stock bars only)
  std::string crypto_loc = "us";   // v1beta3/crypto/{loc}
  int page_limit = 10000;          // bars per page, 1..10000 (Alpaca's maximum)
  int max_pages = 1000;            // a longer pagination chain is an error
  // How far back a query with neither closed_after nor max_bars reaches, and where a max_bars
  // query starts searching (newest first).
  core::duration history = std::chrono::hours(24 * 730);
};

// Bars are labelled period_start (Alpaca's t is the bar's open). Daily stock bars are stamped at
// New York midnight (04:00/05:00 UTC), so they become visible 24 h after that, never early.
class alpaca_feed final : public feed {
 public:
  static tb::expected<std::unique_ptr<alpaca_feed>> create(const core::clock& clock, const alpaca_credentials& creds,
                                                           alpaca_feed_options options);

  std::vector<std::string> symbols() const override;
  tb::expected<bar_timing> timing(const std::string& symbol) const override;
  // One request per page (GET /v2/stocks/bars or /v1beta3/crypto/{loc}/bars), following
  // next_page_token. Errors: invalid_argument (unknown symbol; Alpaca 400/404/422), bad_config
  // (401/403: the keys), bad_data (malformed JSON), and the transport's (timeout, unavailable,
  // overloaded).
  tb::expected<core::bar_series> bars(const bar_query& q) override;
  // GET /v2/stocks/quotes/latest or /v1beta3/crypto/{loc}/latest/quotes. errc::unavailable
  // without a two-sided quote (bid or ask missing or zero, or ask < bid).
  tb::expected<quote> latest_quote(const std::string& symbol) override;

  https_stats stats() const;
  // "1Day", "15Min", "1Hour": Alpaca's timeframe for a period; invalid_argument if it has none.
  static tb::expected<std::string> timeframe_of(core::duration period);

 private:
  struct state;
  explicit alpaca_feed(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;

 public:
  ~alpaca_feed() override;
};

// ---- the broker ----

struct alpaca_broker_options {
  // true: the live endpoint (alpaca_live_url). The daemon sets it only when PAPER=0 and the config
  // says live = true; everything else trades on paper.
  bool live = false;
  // Endpoint override (tests: the fake server). Empty: paper or live per `live`. Pointing it at
  // api.alpaca.markets without live = true is refused (bad_config).
  std::string url;
  https_options http;                 // transport knobs; url and secrets are filled in
  double crypto_price_increment = 0;  // > 0: a fixed crypto tick; 0: see price_increment()
};

// Chooses the trading endpoint as described above.
tb::expected<std::string> alpaca_trading_url(bool live, const std::string& url_override);

// A submit whose client_order_id Alpaca already knows (its 422 "client_order_id must be unique",
// or a 409) is refused with errc::invalid_argument and a message starting with this prefix; the
// caller reconciles with order_by_client_id() instead of resubmitting (submit_or_reconcile does).
inline constexpr const char* already_submitted_prefix = "already submitted: ";
bool is_already_submitted(const tb::error& e);

struct submit_outcome {
  market::order order;
  bool already_submitted = false;  // the order existed before this call (found by client id)
};

class alpaca_broker final : public broker {
 public:
  static tb::expected<std::unique_ptr<alpaca_broker>> create(const alpaca_credentials& creds,
                                                             alpaca_broker_options options);

  tb::expected<market::account> account() override;          // GET /v2/account
  tb::expected<std::vector<position>> positions() override;  // GET /v2/positions
  tb::expected<std::vector<order>> open_orders() override;   // GET /v2/orders?status=open
  // POST /v2/orders {symbol, qty, side, type=limit, time_in_force, limit_price, client_order_id}.
  // The limit is rounded with round_limit_price(). Time in force is the request's; combinations
  // Alpaca refuses are refused here first (invalid_argument): crypto must be gtc, a fractional
  // equity quantity must be day (default_time_in_force() gives the original bot's choice).
  // When the request needed more than one attempt (a timeout or 5xx after which the first may
  // have landed) and Alpaca then answers "duplicate client_order_id", the order is looked up and
  // returned: it is this one. On a first attempt the duplicate is is_already_submitted().
  tb::expected<order> submit_limit_order(const order_request& req) override;
  // DELETE /v2/orders/{id} (204), then the order as it stands: canceled, or still open while
  // Alpaca says pending_cancel (the cancel is asynchronous there, and a fill may race it; the
  // caller follows the order until it ends). Alpaca's 404 (unknown id) and 422 (no longer
  // cancelable) are invalid_argument.
  tb::expected<order> cancel_order(const std::string& order_id) override;
  // GET /v2/orders:by_client_order_id?client_order_id=...; 404 -> nullopt.
  tb::expected<std::optional<order>> order_by_client_id(const std::string& client_order_id) override;

  // submit_limit_order, but a duplicate client_order_id is resolved by lookup and returned with
  // already_submitted = true instead of an error.
  tb::expected<submit_outcome> submit_or_reconcile(const order_request& req);

  bool live() const;
  https_stats stats() const;

 private:
  struct state;
  explicit alpaca_broker(std::unique_ptr<state> s);
  // submit_or_reconcile; `post_attempts` gets the attempts the POST took (0 if not sent).
  tb::expected<submit_outcome> submit(const order_request& req, int& post_attempts);
  std::unique_ptr<state> s_;

 public:
  ~alpaca_broker() override;
};

}  // namespace tb::market
