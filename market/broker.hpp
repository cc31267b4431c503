#pragma once
// The broker interface: account, positions, open orders, limit orders with a client_order_id,
// cancel. Implementations: sim_broker (the embedded paper broker) and later Alpaca's trading REST
// API (paper unless live is explicitly enabled). Synchronous, no actors: the broker actor owns
// one and calls it from its own (detached) thread.
//
// Units: prices in the symbol's quote currency (USD), quantities in shares or coins (fractional
// allowed), money in USD, times core::time_point (UTC).
//
// client_order_id: unique per account for ever. A second submit with a client_order_id that was
// already accepted is refused (errc::invalid_argument, as Alpaca answers 422) and changes nothing:
// the first order stands and is never filled twice. order_by_client_id() finds the first one, so
// a restarted broker actor can reconcile its journal.
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace tb::market {

enum class side { buy, sell };
const char* to_string(side s);

// gtc: until filled or canceled. day: expires at the close of the NYSE session in which it was
// submitted (or the next session's close when submitted outside one). Alpaca (and the original
// bot) use gtc for crypto and whole-share equity orders, day for fractional equity orders.
enum class time_in_force { gtc, day };
const char* to_string(time_in_force t);
// The original bot's choice: gtc for crypto and for whole-share equity orders, day for fractional
// equity orders (Alpaca accepts fractional equity orders as day orders only).
time_in_force default_time_in_force(const std::string& symbol, double qty);

enum class order_status {
  open,      // accepted, working (Alpaca: new, accepted, partially_filled)
  filled,    // completely filled
  canceled,  // canceled by the client
  expired,   // a day order that reached its session's close unfilled
};
const char* to_string(order_status s);

struct order_request {
  std::string client_order_id;  // 1..128 characters, unique for ever
  std::string symbol;
  market::side side = side::buy;
  double qty = 0;          // > 0
  double limit_price = 0;  // > 0
  time_in_force tif = time_in_force::gtc;
};

struct order {
  std::string id;  // the broker's id
  std::string client_order_id;
  std::string symbol;
  market::side side = side::buy;
  double qty = 0;
  double limit_price = 0;
  time_in_force tif = time_in_force::gtc;
  order_status status = order_status::open;
  double filled_qty = 0;
  double filled_avg_price = 0;  // 0 until filled
  core::time_point submitted_at{};
  core::time_point updated_at{};  // last status change
};

// A position: qty > 0 long, < 0 short. Marked at the last price the broker knows.
struct position {
  std::string symbol;
  double qty = 0;
  double avg_entry_price = 0;
  double market_price = 0;
  double market_value() const { return qty * market_price; }
  double unrealized_pl() const { return qty * (market_price - avg_entry_price); }
};

// One execution. The sim broker fills an order completely in one fill.
struct fill {
  std::string order_id;
  std::string client_order_id;
  std::string symbol;
  market::side side = side::buy;
  double qty = 0;
  double price = 0;  // execution price, spread included
  double fee = 0;    // USD, fee rate x qty x price
  core::time_point at{};
};

struct account {
  double cash = 0;
  double equity = 0;        // cash + sum of position market values
  double buying_power = 0;  // cash not reserved by open buy orders (sim: no margin)
};

class broker {
 public:
  virtual ~broker() = default;
  virtual tb::expected<market::account> account() = 0;
  virtual tb::expected<std::vector<position>> positions() = 0;
  virtual tb::expected<std::vector<order>> open_orders() = 0;
  // Accepts (status open) or refuses with an error; a refused request leaves no order behind.
  virtual tb::expected<order> submit_limit_order(const order_request& req) = 0;
  // Asks the broker to cancel the open order with broker id `order_id` and returns it as the
  // broker has it then: canceled, or still open where cancels are asynchronous (Alpaca's
  // pending_cancel; a fill may still race the cancel, so the order is not final until the broker
  // says so). An order that is no longer open (filled, canceled, expired) is
  // errc::invalid_argument; so is an unknown id.
  virtual tb::expected<order> cancel_order(const std::string& order_id) = 0;
  // The order submitted with `client_order_id`, whatever its status; nullopt when none was.
  virtual tb::expected<std::optional<order>> order_by_client_id(const std::string& client_order_id) = 0;
};

}  // namespace tb::market
