#pragma once
// The pure request handler: a function from (request, board, server info) to a response, like
// Beast's handle_request. No sockets, no threads; tested directly (tests/http/request_handler_test).
//
//   GET|HEAD /         200, the dashboard page (text/html, its Content-Security-Policy: dashboard.hpp)
//   GET|HEAD /health   200 (503 when the worst check is failing), JSON
//   GET|HEAD /health/live   200 while the liveness heartbeat is fresh, else 503; small JSON
//   GET|HEAD /health/ready  200 when live and no check is failing, else 503; small JSON
//   GET|HEAD /stats    200, JSON: every board section + `process` + the http server's own
//                      counters (`sections_source`); config/cache/inference/symbols/portfolio are
//                      always present ({} until published); `liveness` also has `live` and
//                      `heartbeat_age_ms` as /health/live computes them at that request
//   GET|HEAD /metrics  200, Prometheus text 0.0.4 (see metrics.hpp)
//   other path         404   {"error": ...}
//   other method       405   {"error": ...} with `Allow: GET, HEAD`
// With server_info::auth_token set, every path but is_open_path() (/, /health/live, /health/ready)
// needs `Authorization: Bearer <token>`, checked before routing: else 401 {"error": ...} with
// `WWW-Authenticate: Bearer realm="tradebotd"` (auth.hpp).
// Every response carries Content-Type, Content-Length, `Cache-Control: no-store`, the request's
// HTTP version and its keep-alive choice. The query string is ignored.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/snapshot_board.hpp"

namespace tb::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// What the server says about the process that runs it; fixed at construction.
struct server_info {
  std::string version = "unknown";  // shown in /health and tradebotd_build_info
  // The process start (the daemon sets it first thing in main); uptime_s counts from it.
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  // The bearer token every path but is_open_path() requires; "" = none (auth.hpp).
  std::string auth_token;
};

// The /stats sections that are always present, as {} until a component publishes them.
inline constexpr const char* always_present_sections[] = {"config", "cache", "inference", "symbols", "portfolio"};

// Sections the caller adds to /stats and /metrics: returns an object merged after the board's
// sections (the server returns {"http": its counters}). Called only when one of those two
// routes is rendered, so other requests (probes) do not pay for it; empty = none.
using sections_source = std::function<nlohmann::json()>;

// Routes and renders one request. Never throws: a failure while rendering becomes a 500 with a
// JSON error body. Thread-safe (reads the board through its own locking).
response handle_request(const request& req, const core::snapshot_board& board, const server_info& info,
                        const sections_source& extra_sections = {});

// The /health document; `worst` receives the worst check status.
nlohmann::json render_health(const core::snapshot_board& board, const server_info& info,
                             core::health_status* worst = nullptr);
// The /stats document.
nlohmann::json render_stats(const core::snapshot_board& board, const server_info& info,
                            const nlohmann::json& extra_sections = nlohmann::json::object());

// The board section the daemon's main thread publishes each time the supervisor's heartbeat
// comes back (every child answered): {"heartbeat_steady_ms": steady_clock ms of that answer,
// "stale_after_ms": the age past which /health/live says 503}. Only this process's steady clock
// is compared with it, so wall-clock jumps do not matter.
inline constexpr const char* liveness_section = "liveness";
void publish_heartbeat(core::snapshot_board& board, std::chrono::steady_clock::time_point answered_at,
                       std::chrono::milliseconds stale_after);

// The `route` label values of the HTTP request duration histogram: the served paths, then
// "other" (any other path: a bounded label set whatever clients ask for). handle_request routes
// by the index too.
inline constexpr const char* metric_routes[] = {"/",      "/health",  "/health/live", "/health/ready",
                                                "/stats", "/metrics", "other"};
// The index in metric_routes of a request path.
std::size_t metric_route(std::string_view path);

// Probe paths: served by the server's probe reserve too (see server_options::probe_reserve).
bool is_probe_path(std::string_view path);

// The path of a request target: the target up to its query string ("/health?x=1" -> "/health").
std::string_view request_path(std::string_view target);

// A JSON error response {"error": message}. Also used by the server for 400/413/431/503.
response error_response(boost::beast::http::status status, const std::string& message, unsigned version,
                        bool keep_alive);

// JSON serialisation that never throws on invalid UTF-8 (bytes are replaced by U+FFFD).
std::string dump_json(const nlohmann::json& doc);

}  // namespace tb::http
