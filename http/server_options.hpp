#pragma once
// The HTTP server's options: the [http] section of the daemon's config (config_rows()).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"

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
  // File holding the bearer token (resolve_auth_token, auth.hpp); "" = the systemd credential
  // http_token if loaded, else no token.
  std::string auth_token_file;
};

// The [http] keys, one row per member above that the config sets (every one read at start only).
const core::rows<server_options>& config_rows();

// What the listener would refuse later (http.address not an IP literal): one line per problem.
void check(const server_options& o, std::vector<std::string>& errors);

}  // namespace tb::http
