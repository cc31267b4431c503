#pragma once
// A small synchronous HTTPS (or loopback HTTP) client for REST APIs such as Alpaca's, on Beast and
// OpenSSL. One client talks to one origin (scheme, host, port) over one kept-alive connection.
//
// - TLS: the peer certificate is verified against the system store, or against `ca_file` when set,
//   AND against the expected host name (SNI + SSL_set1_host; an IP literal is checked against the
//   certificate's IP SANs). A verification failure is never retried.
// - Timeouts: connect (resolve + TCP + TLS handshake), and each write and each response read.
// - Retries: 429 (honouring Retry-After), 5xx (500, 502, 503, 504 and any other >= 500 but 501
//   and 505), timeouts and connection failures, up to `max_attempts` attempts with exponential
//   backoff and jitter. Other statuses (2xx, 3xx, 4xx) come back as responses for the caller to
//   interpret. A request that may not be repeated must be made idempotent by the caller (Alpaca:
//   client_order_id).
// - Rate: a client-side token bucket (default 200 requests per minute, Alpaca's documented limit)
//   paces every attempt, retries included.
// - Reachability: a request that fails for lack of an answer (connection, TLS, timeout, or a 5xx
//   on its last attempt) marks the origin unreachable: one error line when that starts, one info
//   line when it answers again, nothing per request in between (retry lines become debug).
// - Secrets: every string in `secrets` (API keys) is replaced by "***" in every error message and
//   log line this client writes; request headers never appear in them.
//
// Threads: one client may be called from any thread; calls are serialised by an internal mutex
// (a call blocks for the rate limiter, the network and the backoff sleeps).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base_url.hpp"
#include "core/error.hpp"

namespace tb::market {

using core::base_url;
using core::parse_base_url;

struct https_options {
  std::string url;  // the origin, e.g. "https://data.alpaca.markets"
  // The name the certificate must carry (and SNI); empty: the URL's host. Lets a test connect to
  // 127.0.0.1 and verify "localhost".
  std::string tls_server_name;
  // PEM file of trusted CAs; empty: the system's default store.
  std::string ca_file;
  // Plain HTTP is refused unless this is set AND the host is 127.0.0.1 (tests only).
  bool allow_plain_http_loopback = false;

  std::chrono::milliseconds connect_timeout{5000};  // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds io_timeout{15000};      // writing a request; reading its response

  int max_attempts = 4;                            // 1..20, the first attempt included
  std::chrono::milliseconds backoff_initial{500};  // delay before the 2nd attempt (before jitter)
  std::chrono::milliseconds backoff_max{30000};    // cap of the exponential delay
  double backoff_jitter = 0.5;                     // 0..1: the delay is d * (1 - jitter * U[0,1))
  // A Retry-After (or X-RateLimit-Reset) longer than this gives up at once instead of sleeping.
  std::chrono::milliseconds max_retry_after{60000};

  double rate_per_minute = 200;  // token bucket refill; > 0
  double rate_burst = 10;        // bucket capacity, >= 1

  std::size_t max_body_bytes = 64u << 20;  // a larger response is an error
  std::vector<std::string> secrets;        // scrubbed from every message and log line
  std::string user_agent = "tradebotd";
  std::string log_name = "https";  // prefix of log lines and error messages
  std::uint64_t jitter_seed = 0;   // 0: from std::random_device
};

struct http_header {
  std::string name;
  std::string value;
};

struct http_request {
  std::string method = "GET";  // GET, POST, DELETE, PATCH, PUT
  std::string target;          // path and query, e.g. "/v2/orders?status=open"
  std::vector<http_header> headers;
  std::string body;  // sent with Content-Type: application/json when not empty
};

struct http_response {
  int status = 0;
  std::string body;
  std::vector<http_header> headers;
  int attempts = 1;  // attempts it took (> 1: an earlier attempt may have reached the server)
  std::optional<std::string> header(const std::string& name) const;  // case-insensitive
};

// Counters since construction; read with stats(). Monotonic.
struct https_stats {
  std::uint64_t attempts = 0;        // requests written to the wire
  std::uint64_t retries = 0;         // attempts after the first, for any reason
  std::uint64_t connects = 0;        // connections opened (TLS handshakes done)
  std::uint64_t rate_limited = 0;    // 429 answers
  std::uint64_t server_errors = 0;   // 5xx answers
  std::uint64_t timeouts = 0;        // connect, write or read deadlines passed
  std::uint64_t throttle_waits = 0;  // times the token bucket made a request wait
  std::uint64_t outages = 0;         // times the origin became unreachable (each logged once)
};

class https_client {
 public:
  // errc::bad_config for a bad URL, plain HTTP off loopback, an unreadable CA file or bounds.
  static tb::expected<std::unique_ptr<https_client>> create(https_options options);
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  // Sends the request (retrying as described above) and returns the final response. Errors:
  // timeout (every attempt timed out or the last did), unavailable (connection or TLS failure,
  // 5xx after the last attempt), overloaded (429 after the last attempt or a Retry-After beyond
  // max_retry_after), bad_data (unparseable or oversized response). Messages never hold secrets.
  tb::expected<http_response> request(const http_request& req);

  https_stats stats() const;
  const https_options& options() const;

 private:
  struct impl;
  explicit https_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// ---- pure helpers (exposed for tests) ----

// Replaces every occurrence of every non-empty secret in `text` with "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// Token bucket: `rate_per_s` tokens per second, at most `burst` held; starts full.
// Not thread-safe (the client holds its mutex).
class token_bucket {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  token_bucket(double rate_per_s, double burst, time_point start);
  // Takes a token and returns zero when one is available at `now`; otherwise takes nothing and
  // returns how long until one will be.
  std::chrono::nanoseconds try_take(time_point now);

 private:
  double rate_per_s_;
  double burst_;
  double tokens_;
  time_point last_;
};

// The delay before attempt `attempt` (2 = the first retry): min(backoff_max, backoff_initial *
// 2^(attempt-2)) scaled by (1 - backoff_jitter * u), u in [0, 1).
std::chrono::milliseconds backoff_delay(const https_options& o, int attempt, double u);

// Retry-After as delta-seconds ("2") or an HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT", relative
// to `now`); nullopt when unparseable. Never negative.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           std::chrono::system_clock::time_point now);

}  // namespace tb::market
