#include "http/server_options.hpp"

#include <arpa/inet.h>

namespace tb::http {

const core::rows<server_options>& config_rows() {
  using o = server_options;
  using core::key;
  using core::restart_only;
  static const core::rows<server_options> rows = {
      restart_only(key("http.address", &o::address, "listen address of /health, /stats, /metrics")),
      restart_only(
          key("http.port", &o::port, "listen port; 0 picks a free one (logged, and in STATUS=)", nullptr, 0, 65535)),
      restart_only(key("http.max_header_bytes", &o::max_header_bytes, "largest request header accepted", nullptr, 1024,
                       1 << 20)),
      restart_only(
          key("http.max_body_bytes", &o::max_body_bytes, "largest request body accepted", nullptr, 0, 1 << 20)),
      restart_only(
          key("http.timeout_ms", &o::io_timeout, "limit on every read and write of a connection", nullptr, 10, 600000)),
      restart_only(key("http.max_connections", &o::max_connections,
                       "connections served at once (every path, keep-alive); past it a connection gets a probe slot "
                       "or a 503",
                       nullptr, 1, 100000)),
      restart_only(key("http.max_connections_per_client", &o::max_connections_per_client,
                       "of those, connections one remote address may hold (local clients are all one address)", nullptr,
                       1, 100000)),
      restart_only(key("http.probe_reserve", &o::probe_reserve,
                       "extra connections kept for /health while the others are taken; each serves one request",
                       nullptr, 0, 1024)),
      restart_only(key("http.probe_timeout_ms", &o::probe_timeout,
                       "limit on reading and answering a probe connection; a slow or idle one is closed", nullptr, 10,
                       60000)),
      restart_only(key("http.auth_token_file", &o::auth_token_file,
                       "file holding the bearer token that every path but /, /health/live and /health/ready requires; "
                       "empty = the systemd credential http_token if loaded, else no token (then http.address must be "
                       "loopback)")),
  };
  return rows;
}

void check(const server_options& o, std::vector<std::string>& errors) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, o.address.c_str(), addr) != 1 && inet_pton(AF_INET6, o.address.c_str(), addr) != 1)
    errors.push_back("http.address \"" + excerpt(o.address) +
                     "\" is not an IPv4 or IPv6 address literal (e.g. 127.0.0.1, 0.0.0.0, ::1)");
}

}  // namespace tb::http
