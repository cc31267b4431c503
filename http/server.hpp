#pragma once
// The HTTP server: a listener plus one session per connection, each on its own strand, all on
// io_context thread(s) the server owns (Beast's http_server_async shape). It renders snapshots of
// a core::snapshot_board through handle_request() and never waits on an actor.
//
// Lifecycle (the daemon's main thread): construct, start() once, stop() once (the destructor
// calls stop()). start() and stop() are not to be called concurrently with each other.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/snapshot_board.hpp"
#include "http/request_handler.hpp"

namespace tb::http {

struct server_options {
  // IPv4 or IPv6 literal to bind (no host names: nothing is resolved).
  std::string address = "127.0.0.1";
  // TCP port; 0 lets the kernel pick a free one, which start() returns and logs.
  std::uint16_t port = 8787;
  // Request line plus header fields, in bytes. A larger request gets 431 and the connection is
  // closed.
  std::size_t max_header_bytes = 8192;
  // Request body in bytes (Content-Length or the sum of chunks). Larger: 413, connection closed.
  std::size_t max_body_bytes = 4096;
  // Bound on reading one whole request (including the idle wait for the next request on a
  // keep-alive connection), on writing one response, and on the lingering close after a
  // response with `Connection: close`. A client that sends nothing is closed after it.
  std::chrono::milliseconds io_timeout{5000};
  // The general pool: connections served at once, every path, keep-alive. A connection past it
  // (or past max_connections_per_client) goes to the probe reserve, else is shed (503).
  std::size_t max_connections = 256;
  // General-pool connections one remote address may hold (loopback clients are all 127.0.0.1).
  std::size_t max_connections_per_client = 64;
  // Connections kept for probes while the general pool is full or the client is at its limit.
  // A reserve connection serves one request, GET|HEAD /health, /health/live or /health/ready
  // only (is_probe_path; anything else gets the
  // overload 503), then closes. When every reserve slot is taken, a new connection takes the
  // slot of the oldest one that has not sent a whole request yet, which is closed. 0: no reserve.
  std::size_t probe_reserve = 8;
  // Bound on reading the one request of a reserve connection, on writing its response, and on
  // the lingering close of a reserve or shed connection. Kept short: idle or slow clients do
  // not hold the reserve.
  std::chrono::milliseconds probe_timeout{1000};
  // io_context threads; one is plenty for rendering snapshots.
  std::size_t threads = 1;
  // How long stop() waits for sessions to finish closing before it stops the io_context hard.
  std::chrono::milliseconds stop_timeout{2000};
};

class server {
 public:
  // Stores everything; binds nothing. `board` must not be null.
  server(server_options options, std::shared_ptr<const core::snapshot_board> board,
         server_info info);
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens on the caller's thread, then starts the io thread(s). Returns the bound
  // port. Errors: errc::io "http: cannot listen on 127.0.0.1:8787: Address already in use";
  // errc::bad_config for an address that is not an IP literal or a zero io_timeout;
  // errc::invalid_argument when called twice.
  tb::expected<std::uint16_t> start();

  // Graceful and prompt: stops accepting, closes every open connection (requests in flight are
  // abandoned; no response is rendered after this is called), joins the io thread(s). Waits at
  // most about options.stop_timeout. Idempotent.
  void stop();

  // The bound port after a successful start(), else 0.
  std::uint16_t port() const;

  // The server's own counters, served as the `http` section of /stats and /metrics:
  // connections_accepted_total (general pool), connections_open (general pool),
  // connections_rejected_total (shed with the overload 503: general pool and reserve full, or
  // a non-probe request on a reserve connection), connections_over_client_limit_total
  // (connections refused a general slot, while the pool had room, because their address held
  // max_connections_per_client),
  // probe_connections_total, probe_connections_open, probe_evictions_total (reserve
  // connections closed to make room for a newer one), requests_total,
  // responses_{2xx,4xx,5xx}_total, bad_requests_total (400/413/431), timeouts_total,
  // request_duration_seconds ({route: histogram} per metric_routes entry: from the request read
  // whole to its response written; requests the parser refused are not timed),
  // unauthorized_total (401: a missing or wrong bearer token).
  // Thread-safe.
  nlohmann::json counters() const;

  struct impl;  // server.cpp; public so that the session and listener there can name it

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace tb::http
