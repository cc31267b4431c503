#include "http/request_handler.hpp"

#include <cstdint>
#include <exception>
#include <iterator>

#include "http/auth.hpp"
#include "http/dashboard.hpp"
#include "http/metrics.hpp"
#include "http/process_stats.hpp"

namespace tb::http {
namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::json;

constexpr const char* json_content_type = "application/json";
constexpr std::size_t max_echoed_target = 200;  // bytes of a bad target quoted in an error

response make_response(bhttp::status status, std::string body, const char* content_type, unsigned version,
                       bool keep_alive) {
  response res{status, version};
  res.set(bhttp::field::server, "tradebotd");
  res.set(bhttp::field::content_type, content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// A HEAD response: the GET's headers and Content-Length, no body.
response without_body(response res) {
  const auto size = res.body().size();
  res.body().clear();
  res.content_length(size);
  return res;
}

json config_summary(const core::snapshot_board& board) {
  json out = {{"generation", nullptr}, {"loaded_at", nullptr}, {"last_reload", nullptr}};
  auto cfg = board.section("config");
  if (cfg && cfg->is_object()) {
    for (const char* key : {"generation", "loaded_at", "last_reload"}) {
      auto it = cfg->find(key);
      if (it != cfg->end()) out[key] = *it;
    }
  }
  return out;
}

double uptime_s(const server_info& info) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - info.started_at).count();
}

std::int64_t steady_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// /health/live: {"live", "heartbeat_age_ms", "stale_after_ms"} or {"live": false, "reason"}.
json render_live(const core::snapshot_board& board, bool* live) {
  *live = false;
  auto doc = board.section(liveness_section);
  if (!doc || !doc->is_object() || !doc->contains("heartbeat_steady_ms"))
    return json{{"live", false}, {"reason", "no heartbeat answered yet (starting)"}};
  const std::int64_t age =
      steady_ms(std::chrono::steady_clock::now()) - doc->at("heartbeat_steady_ms").get<std::int64_t>();
  const std::int64_t limit = doc->at("stale_after_ms").get<std::int64_t>();
  *live = age <= limit;
  json out{{"live", *live}, {"heartbeat_age_ms", age}, {"stale_after_ms", limit}};
  if (!*live) out["reason"] = "the actors have not answered a heartbeat for " + std::to_string(age) + " ms";
  return out;
}

// /health/ready: live, and no /health check failing (the "startup" check fails until the model
// is warm; "config", "model", "cycles", ... fail when their component cannot serve).
json render_ready(const core::snapshot_board& board, bool* ready) {
  bool live = false;
  render_live(board, &live);
  json failing = json::array();
  const json checks = board.checks();
  for (const auto& [name, check] : checks.items())
    if (check.value("status", "") == core::to_string(core::health_status::failing)) failing.push_back(name);
  *ready = live && failing.empty();
  return json{{"ready", *ready}, {"live", live}, {"failing_checks", std::move(failing)}};
}

json extras(const sections_source& source) { return source ? source() : json::object(); }

}  // namespace

void publish_heartbeat(core::snapshot_board& board, std::chrono::steady_clock::time_point answered_at,
                       std::chrono::milliseconds stale_after) {
  board.publish(liveness_section,
                {{"heartbeat_steady_ms", steady_ms(answered_at)}, {"stale_after_ms", stale_after.count()}});
}

std::size_t metric_route(std::string_view path) {
  const std::size_t other = std::size(metric_routes) - 1;
  for (std::size_t i = 0; i < other; ++i)
    if (path == metric_routes[i]) return i;
  return other;
}

bool is_probe_path(std::string_view path) {
  return path == "/health" || path == "/health/live" || path == "/health/ready";
}

std::string dump_json(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

json render_health(const core::snapshot_board& board, const server_info& info, core::health_status* worst) {
  core::health_status w = core::health_status::ok;
  json checks = board.checks(&w);
  if (worst) *worst = w;
  return json{{"status", core::to_string(w)},
              {"checks", std::move(checks)},
              {"version", info.version},
              {"uptime_s", uptime_s(info)},
              {"config", config_summary(board)}};
}

json render_stats(const core::snapshot_board& board, const server_info& info, const json& extra_sections) {
  json out = board.sections();
  for (const char* name : always_present_sections)
    if (!out.contains(name)) out[name] = json::object();
  if (extra_sections.is_object())
    for (const auto& [name, doc] : extra_sections.items()) out[name] = doc;
  out["process"] = process_stats(info.started_at);  // always computed now, never published
  if (out.contains(liveness_section)) {             // the heartbeat as /health/live judges it now
    bool live = false;
    const json now = render_live(board, &live);
    out[liveness_section]["live"] = live;
    out[liveness_section]["heartbeat_age_ms"] = now.value("heartbeat_age_ms", json());
  }
  return out;
}

std::string_view request_path(std::string_view target) { return target.substr(0, target.find('?')); }

response error_response(bhttp::status status, const std::string& message, unsigned version, bool keep_alive) {
  return make_response(status, dump_json(json{{"error", message}}) + "\n", json_content_type, version, keep_alive);
}

response handle_request(const request& req, const core::snapshot_board& board, const server_info& info,
                        const sections_source& extra_sections) {
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  try {
    std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = request_path(target);

    const bool head = req.method() == bhttp::verb::head;
    if (!info.auth_token.empty() && !is_open_path(path)) {
      const auto authorization = req[bhttp::field::authorization];
      if (!bearer_matches({authorization.data(), authorization.size()}, info.auth_token)) {
        response res =
            error_response(bhttp::status::unauthorized,
                           authorization.empty() ? "this path needs Authorization: Bearer <token>" : "wrong token",
                           version, keep_alive);
        res.set(bhttp::field::www_authenticate, authorization.empty()
                                                    ? R"(Bearer realm="tradebotd")"
                                                    : R"(Bearer realm="tradebotd", error="invalid_token")");
        return head ? without_body(std::move(res)) : res;
      }
    }

    // In metric_routes' order: the route is the path's index there ("other" is none).
    enum class route { dashboard, health, live, ready, stats, metrics, none };
    static_assert(std::size(metric_routes) == static_cast<std::size_t>(route::none) + 1);
    const route r = static_cast<route>(metric_route(path));

    if (r == route::none) {
      std::string shown(path.substr(0, max_echoed_target));
      return error_response(bhttp::status::not_found, "no such path: " + shown, version, keep_alive);
    }
    if (req.method() != bhttp::verb::get && !head) {
      response res =
          error_response(bhttp::status::method_not_allowed, "method not allowed; use GET or HEAD", version, keep_alive);
      res.set(bhttp::field::allow, "GET, HEAD");
      return res;
    }

    response res;
    switch (r) {
      case route::dashboard:
        res = make_response(bhttp::status::ok, std::string(dashboard_html()), "text/html; charset=utf-8", version,
                            keep_alive);
        res.set("Content-Security-Policy", dashboard_csp());
        res.set("X-Content-Type-Options", "nosniff");
        res.set("Referrer-Policy", "no-referrer");
        break;
      case route::health: {
        core::health_status worst = core::health_status::ok;
        json doc = render_health(board, info, &worst);
        res = make_response(
            worst == core::health_status::failing ? bhttp::status::service_unavailable : bhttp::status::ok,
            dump_json(doc) + "\n", json_content_type, version, keep_alive);
        break;
      }
      case route::live:
      case route::ready: {
        bool ok = false;
        json doc = r == route::live ? render_live(board, &ok) : render_ready(board, &ok);
        res = make_response(ok ? bhttp::status::ok : bhttp::status::service_unavailable, dump_json(doc) + "\n",
                            json_content_type, version, keep_alive);
        break;
      }
      case route::stats:
        res = make_response(bhttp::status::ok, dump_json(render_stats(board, info, extras(extra_sections))) + "\n",
                            json_content_type, version, keep_alive);
        break;
      case route::metrics: {
        core::health_status worst = core::health_status::ok;
        json checks = board.checks(&worst);
        res = make_response(
            bhttp::status::ok,
            render_metrics(render_stats(board, info, extras(extra_sections)), checks, worst, info.version),
            metrics_content_type, version, keep_alive);
        break;
      }
      case route::none:
        break;
    }
    return head ? without_body(std::move(res)) : res;
  } catch (const std::exception& e) {
    return error_response(bhttp::status::internal_server_error, std::string("internal error: ") + e.what(), version,
                          keep_alive);
  } catch (...) {
    return error_response(bhttp::status::internal_server_error, "internal error", version, keep_alive);
  }
}

}  // namespace tb::http
