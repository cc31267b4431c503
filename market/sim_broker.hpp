#pragma once
// The simulated paper broker (the embedded default): cash, positions, open orders and fills, kept
// in memory; limit orders fill against bars that trade through their price.
//
// Fill rule (s = the relative spread recorded on the order at submission, see below):
//   A bar can fill an order only if it closes strictly after the order was submitted (a bar still
//   in progress at submission counts: the broker sees bars, not ticks) and the order is open.
//   Buy limit L:  the bar's lowest ask is low x (1 + s/2). It fills when low x (1 + s/2) <= L, at
//                 min(L, open x (1 + s/2)): at the open's ask when the bar opens through the
//                 limit (a gap), else at the limit.
//   Sell limit L: the bar's highest bid is high x (1 - s/2). It fills when high x (1 - s/2) >= L,
//                 at max(L, open x (1 - s/2)).
//   Orders fill completely in one fill (bar volume is not consulted); several open orders of a
//   symbol are checked in submission order. The fill's time is the bar's close.
// Spread: the relative spread of the feed's latest quote at submission ((ask - bid) / mid); when
//   the broker has no feed, the feed has no quote yet or its quote gives no finite spread,
//   cfg.default_spread. A replay passes the
//   spread an order was submitted with instead (submit_limit_order(req, spread)): the feed's quote
//   at replay time is another one.
// Fees, as the original bot: fee rate x notional of every fill, 0.0000278 for equities and
//   0.008 for crypto (market/symbols.hpp decides which); paid from cash.
// Cash: a buy pays qty x price + fee, a sell receives qty x price - fee.
// Acceptance (otherwise an error and no order): client_order_id 1..128 characters and not used
//   before; qty and limit finite and > 0; a buy's qty x limit x (1 + fee rate) <= buying power
//   (cash minus what open buys reserve the same way); crypto: never short (a sell may not exceed
//   the held qty minus open sells) and time in force gtc only; equity: the part of a sell that
//   opens a short is allowed when cfg.allow_short_equity and its notional <= buying power.
//   Day orders (equities) expire at the close of their NYSE session (calendar 1980-2099; outside
//   it a day order is refused): when a bar opening at or after that close is processed, or when
//   the clock is one bar period past it (see catch_up).
// Position: avg_entry_price is the quantity-weighted fill price while it grows; reducing keeps
//   it; crossing zero starts anew at the fill price. Marked at the last processed bar's close.
//
// Bars reach the broker in one of two ways: from the feed it was given, pulled by catch_up()
// (every interface call catches up first, up to the clock's now; not again at the instant of the
// last catch-up that succeeded: the feed has nothing new then), or pushed by process_bar()
// (tests, and a broker without a feed). Both are idempotent per symbol: a bar that does not close
// after the last processed bar of its symbol is ignored. A catch-up applies the bars of all its
// symbols in the order of their close (ties: by symbol), so cash is summed in the same order
// whatever the instants of the catch-ups: a replay that catches up less often reaches the same
// account, bit for bit. A feed failure of one symbol does not
// fail the interface calls: that symbol's orders wait for its bars, the others go on; the error
// is logged (spdlog warn) and kept in last_feed_error() until a catch-up succeeds. With a feed,
// orders for symbols the feed cannot time (unknown, unreadable file) are refused.
//
// Thread: not thread-safe; one owner (the broker actor) calls it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "market/broker.hpp"
#include "market/feed.hpp"

namespace tb::market {

// Bounds and descriptions: sim_broker_rows().
struct sim_broker_config {
  double initial_cash = 100000.0;      // USD
  double equity_fee_rate = 0.0000278;  // fraction of notional per fill
  double crypto_fee_rate = 0.008;      // fraction of notional per fill
  double default_spread = 0.0005;      // relative spread without a quote
  bool allow_short_equity = true;      // crypto is never shorted
};

// The config rows of the fields above ([broker] keys): bound into the daemon's schema by
// broker_rows(), and what validate() checks a config built in code against.
const core::rows<sim_broker_config>& sim_broker_rows();

// errc::bad_config naming each key out of its row's bounds, one per line.
std::optional<tb::error> validate(const sim_broker_config& cfg);

class sim_broker final : public broker {
 public:
  // `clock` must not be null; `feed` may be (bars then arrive through process_bar only).
  // Precondition: validate(cfg) passed (asserted).
  sim_broker(sim_broker_config cfg, std::shared_ptr<const core::clock> clock, std::shared_ptr<feed> feed);

  tb::expected<market::account> account() override;
  tb::expected<std::vector<position>> positions() override;
  tb::expected<std::vector<order>> open_orders() override;
  tb::expected<order> submit_limit_order(const order_request& req) override;
  // The same with the order's relative spread given, not taken from the feed's quote: the replay
  // of a recorded order (durable_sim_broker) passes the spread it was submitted with.
  // Precondition: spread finite (asserted).
  tb::expected<order> submit_limit_order(const order_request& req, double spread);
  // The relative spread order `order_id` was submitted with; nullopt for an unknown id.
  std::optional<double> spread_of(const std::string& order_id) const;
  tb::expected<order> cancel_order(const std::string& order_id) override;
  tb::expected<std::optional<order>> order_by_client_id(const std::string& client_order_id) override;

  // Pulls, from the feed, every bar of each symbol with an open order or a position that closed
  // after the last one processed and by the clock's now, applies them (process_bar), then expires
  // day orders whose session close is one bar period behind now. Returns the first feed error;
  // the other symbols are still caught up. Without a feed it only expires day orders (period 0).
  std::optional<tb::error> catch_up();

  // Applies one closed bar of `symbol`: marks the position at bar.close, expires day orders whose
  // session closed by the bar's open, and fills open orders per the rule above.
  void process_bar(const std::string& symbol, const core::bar& b, const bar_timing& timing);

  // Every fill, oldest first; every order ever accepted, in submission order.
  const std::vector<fill>& fills() const { return fills_; }
  std::vector<order> all_orders() const;
  const sim_broker_config& config() const { return cfg_; }
  // The error of the last catch-up an interface call ran; nullopt when it succeeded.
  const std::optional<tb::error>& last_feed_error() const { return last_feed_error_; }

 private:
  struct order_state {
    order o;
    double spread = 0;                           // relative, at submission
    std::optional<core::time_point> expires_at;  // day orders
  };
  struct position_state {
    double qty = 0;
    double avg_entry_price = 0;
  };

  void sync();  // catch_up() for interface calls: logs and keeps the error, never fails them
  // submit_limit_order with the given spread, or the feed's (default_spread without a quote).
  tb::expected<order> submit(const order_request& req, std::optional<double> spread);
  double fee_rate(const std::string& symbol) const;
  double reserved_for_buys() const;
  market::account account_now() const;
  void apply_fill(order_state& os, double price, core::time_point at);
  void expire(order_state& os, core::time_point at);

  sim_broker_config cfg_;
  std::shared_ptr<const core::clock> clock_;
  std::shared_ptr<feed> feed_;

  double cash_;
  std::vector<order_state> orders_;                      // submission order
  std::map<std::string, std::size_t> by_client_id_;      // client_order_id -> index in orders_
  std::map<std::string, std::size_t> by_id_;             // order id -> index in orders_
  std::map<std::string, position_state> positions_;      // symbol -> open position (qty != 0)
  std::map<std::string, double> marks_;                  // symbol -> last processed close
  std::map<std::string, core::time_point> last_closed_;  // symbol -> close of last processed bar
  std::map<std::string, core::duration> periods_;        // symbol -> bar period seen
  // The clock's now at the last catch_up that asked the feed without an error: another one at
  // the same instant would get no bar it has not processed (simulated clocks call many at once).
  std::optional<core::time_point> caught_up_at_;
  std::vector<fill> fills_;
  std::uint64_t next_seq_ = 1;
  std::optional<tb::error> last_feed_error_;
};

}  // namespace tb::market
