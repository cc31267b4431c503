#include "http/request_handler.hpp"

#include <exception>

#include "http/metrics.hpp"
#include "http/process_stats.hpp"

namespace tb::http {
namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::json;

constexpr const char* json_content_type = "application/json";
constexpr std::size_t max_echoed_target = 200;  // bytes of a bad target quoted in an error

response make_response(bhttp::status status, std::string body, const char* content_type,
                       unsigned version, bool keep_alive) {
  response res{status, version};
  res.set(bhttp::field::server, "tradebotd");
  res.set(bhttp::field::content_type, content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
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

}  // namespace

std::string dump_json(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

json render_health(const core::snapshot_board& board, const server_info& info,
                   core::health_status* worst) {
  core::health_status w = core::health_status::ok;
  json checks = board.checks(&w);
  if (worst) *worst = w;
  return json{{"status", core::to_string(w)},
              {"checks", std::move(checks)},
              {"version", info.version},
              {"uptime_s", uptime_s(info)},
              {"config", config_summary(board)}};
}

json render_stats(const core::snapshot_board& board, const server_info& info,
                  const json& extra_sections) {
  json out = board.sections();
  for (const char* name : always_present_sections)
    if (!out.contains(name)) out[name] = json::object();
  if (extra_sections.is_object())
    for (const auto& [name, doc] : extra_sections.items()) out[name] = doc;
  out["process"] = process_stats(info.started_at);  // always computed now, never published
  return out;
}

std::string_view request_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

response error_response(bhttp::status status, const std::string& message, unsigned version,
                        bool keep_alive) {
  return make_response(status, dump_json(json{{"error", message}}) + "\n", json_content_type,
                       version, keep_alive);
}

response handle_request(const request& req, const core::snapshot_board& board,
                        const server_info& info, const json& extra_sections) {
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  try {
    std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = request_path(target);

    enum class route { health, stats, metrics, none };
    route r = route::none;
    if (path == "/health") r = route::health;
    else if (path == "/stats") r = route::stats;
    else if (path == "/metrics") r = route::metrics;

    if (r == route::none) {
      std::string shown(path.substr(0, max_echoed_target));
      return error_response(bhttp::status::not_found, "no such path: " + shown, version,
                            keep_alive);
    }
    const bool head = req.method() == bhttp::verb::head;
    if (req.method() != bhttp::verb::get && !head) {
      response res = error_response(bhttp::status::method_not_allowed,
                                    "method not allowed; use GET or HEAD", version, keep_alive);
      res.set(bhttp::field::allow, "GET, HEAD");
      return res;
    }

    response res;
    switch (r) {
      case route::health: {
        core::health_status worst = core::health_status::ok;
        json doc = render_health(board, info, &worst);
        res = make_response(worst == core::health_status::failing
                                ? bhttp::status::service_unavailable
                                : bhttp::status::ok,
                            dump_json(doc) + "\n", json_content_type, version, keep_alive);
        break;
      }
      case route::stats:
        res = make_response(bhttp::status::ok,
                            dump_json(render_stats(board, info, extra_sections)) + "\n",
                            json_content_type, version, keep_alive);
        break;
      case route::metrics: {
        core::health_status worst = core::health_status::ok;
        json checks = board.checks(&worst);
        res = make_response(bhttp::status::ok,
                            render_metrics(render_stats(board, info, extra_sections), checks,
                                           worst, info.version),
                            metrics_content_type, version, keep_alive);
        break;
      }
      case route::none: break;
    }
    if (head) {
      // Same headers as GET, Content-Length of the GET body, no body.
      const auto size = res.body().size();
      res.body().clear();
      res.content_length(size);
    }
    return res;
  } catch (const std::exception& e) {
    return error_response(bhttp::status::internal_server_error,
                          std::string("internal error: ") + e.what(), version, keep_alive);
  } catch (...) {
    return error_response(bhttp::status::internal_server_error, "internal error", version,
                          keep_alive);
  }
}

}  // namespace tb::http
