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
#include "http/server_options.hpp"

namespace tb::http {

class server {
 public:
  // Stores everything; binds nothing. `board` must not be null.
  server(server_options options, std::shared_ptr<const core::snapshot_board> board, server_info info);
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
