#pragma once
// A fake Alpaca server for tests: Beast on 127.0.0.1, port 0, HTTPS (with a test certificate) or
// plain HTTP, one io thread, a session per connection (keep-alive). It answers the JSON of
// Alpaca's Market Data API (stock bars v2, crypto bars v1beta3, latest quotes) and Trading API v2
// (account, positions, orders: submit, list, get, cancel, by_client_order_id) from state it
// keeps, checks the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers on every request, and can be
// told to answer the next N requests with a status (429 with Retry-After, 5xx) or slowly.
//
// Threads: the server runs its own io thread; every public method may be called from the test's
// thread at any time (state under one mutex).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bar.hpp"

namespace tb::test {

// What the next request(s) get instead of (or before) the normal answer.
struct fault {
  int status = 0;           // > 0: answer this status with `body` (not processed)
  std::string retry_after;  // Retry-After header value when not empty
  std::string body = R"({"message":"injected"})";
  std::chrono::milliseconds delay{0};  // > 0 with status 0: process normally, answer this late
};

struct seen_request {
  std::string method;
  std::string target;
  std::string body;
  bool authorized = false;
  std::chrono::steady_clock::time_point at;
};

class fake_alpaca {
 public:
  struct options {
    bool tls = true;
    std::string cert_file;  // PEM, when tls
    std::string key_file;   // PEM, when tls
    std::string key_id;
    std::string secret_key;
    double cash = 100000;  // account cash and buying power at start
  };

  explicit fake_alpaca(options o);  // listening when it returns; throws on failure
  ~fake_alpaca();
  fake_alpaca(const fake_alpaca&) = delete;
  fake_alpaca& operator=(const fake_alpaca&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "https://127.0.0.1:<port>" or "http://..."

  // Market data. `symbol` as Alpaca writes it (AAPL, BTC/USD); bar times are the bars' opens.
  void add_bars(const std::string& symbol, const std::vector<core::bar>& bars);
  void set_quote(const std::string& symbol, double bid, double ask);

  // Trading state.
  void set_position(const std::string& symbol, double qty, double avg_entry_price, double current_price);
  // Marks an open order filled at `price` (as the exchange would); with 0 < qty < the order's qty,
  // partially filled (status partially_filled, still open).
  bool fill(const std::string& order_id, double price, double qty = 0);
  // Cancels as Alpaca makes them: DELETE answers 204 and leaves the order pending_cancel (still
  // open: listed, and a fill may race the cancel) until settle_cancels(). Off by default: DELETE
  // cancels at once.
  void set_asynchronous_cancels(bool on);
  // Every pending_cancel order becomes canceled.
  void settle_cancels();

  // The next `n` requests get `f`.
  void fail_next(int n, const fault& f);

  std::vector<seen_request> requests() const;
  std::size_t request_count() const;
  std::size_t connection_count() const;  // connections accepted so far

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tb::test
