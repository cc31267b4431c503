#include "http/metrics.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace tb::http {
namespace {

using json = nlohmann::json;
using labels = std::vector<std::pair<std::string, std::string>>;  // (name, value), in order

constexpr std::size_t max_label_value_bytes = 256;

enum class metric_type { counter, gauge, histogram, info };

// Where some of a family's samples come from.
struct source {
  // Keys from the document root joined by '/'; a "{name}" segment takes every child of an object,
  // its key the value of the label `name` ("cache/tiers/{tier}/hits"); a "[name=field]" segment
  // takes every object element of an array, its string member `field` the value of the label
  // `name` ("inference/remote/[host=address]/requests"; an element without it, or with the key of
  // an earlier element, is skipped).
  std::string path;
  labels constant = {};  // labels every sample of this source carries, after the path's
  // The value is divided by it: ms to seconds 1000 (a division is correctly rounded, so 40.9 ms
  // is 0.0409 s, not a neighbour of it).
  double divisor = 1;
  std::vector<std::string> segments = {};  // `path` split at '/': filled once, by families()
};

struct family_spec {
  std::string name;
  metric_type type;
  std::string help;
  std::vector<source> sources;
  // info: the fields of the object at the path that become labels (strings, numbers, booleans).
  std::vector<std::string> info_fields = {};
};

constexpr auto counter = metric_type::counter;
constexpr auto gauge = metric_type::gauge;
constexpr auto histogram = metric_type::histogram;
constexpr auto info = metric_type::info;
constexpr double ms = 1000;                    // per second
constexpr double mib = 1 / (1024.0 * 1024.0);  // MiB per byte: a power of two, exact

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

std::vector<family_spec> with_segments(std::vector<family_spec> all) {
  for (auto& f : all)
    for (auto& s : f.sources) s.segments = split_path(s.path);
  return all;
}

// Every family /metrics can show, in the order it shows them. README.md ("Metric families")
// documents the same table; keep them together.
const std::vector<family_spec>& families() {
  // The table is laid out by hand, a family per entry; clang-format would put every field of a
  // long entry on a line of its own.
  // clang-format off
  static const std::vector<family_spec> all = with_segments({
      // ---- the process (the standard names of Prometheus' client libraries) ----
      {"process_cpu_seconds_total", counter, "Total user and system CPU time spent in seconds.",
       {{"process/cpu_seconds"}}},
      {"process_resident_memory_bytes", gauge, "Resident memory size in bytes.", {{"process/rss_bytes"}}},
      {"process_virtual_memory_bytes", gauge, "Virtual memory size in bytes.",
       {{"process/virtual_memory_bytes"}}},
      {"process_open_fds", gauge, "Number of open file descriptors.", {{"process/open_fds"}}},
      {"process_max_fds", gauge, "Maximum number of open file descriptors (soft RLIMIT_NOFILE).",
       {{"process/max_fds"}}},
      {"process_start_time_seconds", gauge, "Start time of the process since unix epoch in seconds.",
       {{"process/start_time_unix_s"}}},
      {"tradebotd_process_threads", gauge, "Threads of the daemon process.", {{"process/threads"}}},
      {"tradebotd_build_info", info, "The daemon's build: always 1, the labels say which.", {{"build"}},
       {"version", "compiler"}},

      // ---- health and liveness ----
      {"tradebotd_health_status", gauge, "Worst /health check: 0 ok, 1 degraded, 2 failing.",
       {{"health/status"}}},
      {"tradebotd_health_check_status", gauge, "Each /health check: 0 ok, 1 degraded, 2 failing.",
       {{"health/checks/{check}"}}},
      {"tradebotd_live", gauge,
       "1 while the actors' last answered heartbeat is fresh (/health/live answers 200), else 0.",
       {{"liveness/live"}}},
      {"tradebotd_liveness_heartbeat_age_seconds", gauge,
       "Seconds since the supervisor last answered a heartbeat for every actor.",
       {{"liveness/heartbeat_age_ms", {}, ms}}},
      {"tradebotd_liveness_stale_after_seconds", gauge,
       "Heartbeat age past which the daemon is not live.", {{"liveness/stale_after_ms", {}, ms}}},
      {"tradebotd_config_generation", gauge, "Generation of the config in force (1 at start, +1 per accepted reload).",
       {{"config/generation"}}},
      {"tradebotd_config_last_reload_success", gauge,
       "1 if the last SIGHUP reload was accepted, 0 if it was rejected (absent before the first).",
       {{"config/last_reload/ok"}}},

      // ---- the scheduler and the trading cycles ----
      {"tradebotd_cycles_total", counter, "Trading cycles the scheduler completed.", {{"schedule/cycles"}}},
      {"tradebotd_cycle_duration_seconds", histogram,
       "Duration of a trading cycle, from its start to the portfolio's answer.",
       {{"schedule/cycle_duration_seconds"}}},
      {"tradebotd_schedule_finished", gauge, "1 once a simulated run reached market.sim_end.",
       {{"schedule/finished"}}},
      {"tradebotd_symbol_actor_running", gauge, "1 while the symbol's actor runs.",
       {{"schedule/symbols/{symbol}/running"}}},
      {"tradebotd_symbol_actor_restarts_total", counter, "Restarts of the symbol's actor after a failure.",
       {{"schedule/symbols/{symbol}/restarts"}}},
      {"tradebotd_symbol_actor_gave_up", gauge, "1 when the symbol's actor failed too often to be restarted.",
       {{"schedule/symbols/{symbol}/gave_up"}}},

      // ---- the symbols ----
      {"tradebotd_symbol_cycles_total", counter, "Cycles the symbol's actor ran.", {{"symbols/{symbol}/cycles"}}},
      {"tradebotd_symbol_windows_asked_total", counter, "Forecast windows the symbol asked for (cache or model).",
       {{"symbols/{symbol}/windows_asked"}}},
      {"tradebotd_symbol_windows_computed_total", counter, "Forecast windows of the symbol the model computed.",
       {{"symbols/{symbol}/windows_computed"}}},
      {"tradebotd_symbol_consecutive_failures", gauge, "Failed cycles of the symbol in a row (backoff).",
       {{"symbols/{symbol}/failures"}}},
      {"tradebotd_symbol_bars_held", gauge, "Bars the symbol's actor holds.", {{"symbols/{symbol}/bars_held"}}},
      {"tradebotd_symbol_state", info, "The symbol's state (ok, flat, stale, error, ...): always 1.",
       {{"symbols/{symbol}"}}, {"state"}},
      {"tradebotd_symbol_forecast_price", gauge, "The symbol's last forecast of the next bar's close, high and low.",
       {{"symbols/{symbol}/forecast/{price}"}}},
      {"tradebotd_symbol_proposal_side", gauge, "The symbol's last proposal: 1 long, -1 short, 0 none.",
       {{"symbols/{symbol}/proposal/side"}}},
      {"tradebotd_symbol_proposal_score", gauge, "Score of the symbol's last proposal.",
       {{"symbols/{symbol}/proposal/score"}}},
      {"tradebotd_symbol_proposal_edge", gauge, "Expected edge (a fraction) of the symbol's last proposal.",
       {{"symbols/{symbol}/proposal/edge"}}},

      // ---- the feed ----
      {"tradebotd_feed_requests_total", counter, "Bar and quote requests the feed actor served.",
       {{"feed/requests"}}},
      {"tradebotd_feed_failures_total", counter, "Feed requests that failed.", {{"feed/failures"}}},
      {"tradebotd_feed_bars_total", counter, "Bars the feed returned.", {{"feed/bars"}}},

      // ---- the forecast cache ----
      {"tradebotd_cache_enabled", gauge, "1 when the forecast cache is enabled.", {{"cache/enabled"}}},
      {"tradebotd_cache_hits_total", counter, "Cache lookups some tier answered.", {{"cache/hits"}}},
      {"tradebotd_cache_misses_total", counter, "Cache lookups no tier answered.", {{"cache/misses"}}},
      {"tradebotd_cache_saves_total", counter, "Forecasts stored in the cache.", {{"cache/saves"}}},
      {"tradebotd_cache_entries", gauge, "Entries in the cache (the disk tier if enabled, else memory).",
       {{"cache/num_entries"}}},
      {"tradebotd_cache_size_bytes", gauge, "Bytes of the cache (the disk tier if enabled, else memory).",
       {{"cache/cache_size_mb", {}, mib}}},
      {"tradebotd_cache_ttl_seconds", gauge, "Lifetime of a forecast entry (0: never expires).",
       {{"cache/ttl_seconds"}}},
      {"tradebotd_cache_write_queue_depth", gauge, "Writes queued for the slow tiers.",
       {{"cache/write_queue_depth"}}},
      {"tradebotd_cache_write_drops_total", counter, "Writes dropped because the write queue was full.",
       {{"cache/write_drops"}}},
      {"tradebotd_cache_tier_hits_total", counter, "Lookups the tier answered.", {{"cache/tiers/{tier}/hits"}}},
      {"tradebotd_cache_tier_misses_total", counter, "Lookups the tier could not answer.",
       {{"cache/tiers/{tier}/misses"}}},
      {"tradebotd_cache_tier_errors_total", counter, "Failed tier operations (I/O, Redis).",
       {{"cache/tiers/{tier}/errors"}}},
      {"tradebotd_cache_tier_saves_total", counter, "Entries the tier stored.", {{"cache/tiers/{tier}/saves"}}},
      {"tradebotd_cache_tier_evictions_total", counter, "Entries the tier removed to stay under its size budget.",
       {{"cache/tiers/{tier}/evictions"}}},
      {"tradebotd_cache_tier_expired_total", counter, "Entries the tier found expired and removed.",
       {{"cache/tiers/{tier}/expired"}}},
      {"tradebotd_cache_tier_corrupt_total", counter, "Entries of the tier that failed to decode, removed.",
       {{"cache/tiers/{tier}/corrupt"}}},
      {"tradebotd_cache_tier_rejected_total", counter,
       "Requests the tier refused without trying (circuit open, degraded).", {{"cache/tiers/{tier}/rejected"}}},
      {"tradebotd_cache_tier_entries", gauge, "Entries the tier holds (0 for redis: not tracked).",
       {{"cache/tiers/{tier}/entries"}}},
      {"tradebotd_cache_tier_bytes", gauge, "Bytes the tier holds (memory footprint, disk file bytes).",
       {{"cache/tiers/{tier}/bytes"}}},
      {"tradebotd_cache_tier_state", info, "The tier's state (ok, degraded; connected, connecting, down): always 1.",
       {{"cache/tiers/{tier}"}}, {"state"}},
      {"tradebotd_cache_get_duration_seconds", histogram, "Duration of one get or get_many call on the tier.",
       {{"cache/tiers/{tier}/latency_seconds"}}},
      {"tradebotd_cache_actor_requests_total", counter, "Forecast requests the cache actor received.",
       {{"cache/actor/requests"}}},
      {"tradebotd_cache_actor_windows_total", counter,
       "Forecast windows the cache actor handled, by outcome (requested, from_cache, forwarded to the model, "
       "computed, bypassed).",
       {{"cache/actor/windows", {{"outcome", "requested"}}},
        {"cache/actor/answered_from_cache", {{"outcome", "from_cache"}}},
        {"cache/actor/forwarded_windows", {{"outcome", "forwarded"}}},
        {"cache/actor/computed_windows", {{"outcome", "computed"}}},
        {"cache/actor/bypassed_windows", {{"outcome", "bypassed"}}}}},
      {"tradebotd_cache_actor_errors_total", counter, "Cache actor failures, by kind.",
       {{"cache/actor/key_errors", {{"kind", "key"}}},
        {"cache/actor/inference_errors", {{"kind", "inference"}}},
        {"cache/actor/store_errors", {{"kind", "store"}}}}},
      {"tradebotd_cache_actor_stores_total", counter, "Forecasts the cache actor stored.", {{"cache/actor/stores"}}},
      {"tradebotd_cache_actor_stores_skipped_total", counter,
       "Forecasts not stored because the model changed while they were computed.",
       {{"cache/actor/stores_skipped_model_changed"}}},
      {"tradebotd_cache_actor_identity_changes_total", counter, "Changes of the model identity the cache keys on.",
       {{"cache/actor/identity_changes"}}},
      {"tradebotd_cache_actor_waiting_requests", gauge, "Requests waiting for the cache actor.",
       {{"cache/actor/waiting_requests"}}},
      {"tradebotd_cache_actor_in_flight_requests", gauge, "Requests of the cache actor at the model now.",
       {{"cache/actor/in_flight_requests"}}},

      // ---- inference ----
      {"tradebotd_inference_requests_total", counter, "Forecast requests the batcher finished, by result.",
       {{"inference/request_success", {{"result", "success"}}},
        {"inference/request_failure", {{"result", "failure"}}}}},
      {"tradebotd_inference_windows_total", counter, "Forecast windows the model computed.",
       {{"inference/inference_count"}}},
      {"tradebotd_inference_batches_total", counter, "Model batches that ran successfully.",
       {{"inference/exec_count"}}},
      {"tradebotd_inference_batch_rows_total", counter, "Rows (windows x samples) of the successful batches.",
       {{"inference/batch_rows"}}},
      {"tradebotd_inference_window_errors_total", counter,
       "Windows answered with an error, by reason (deadline passed, non-finite forecast, cancelled at stop).",
       {{"inference/timeouts", {{"reason", "timeout"}}},
        {"inference/non_finite", {{"reason", "non_finite"}}},
        {"inference/cancelled", {{"reason", "cancelled"}}}}},
      {"tradebotd_inference_overloaded_requests_total", counter, "Requests refused because the queue was full.",
       {{"inference/overloaded"}}},
      {"tradebotd_inference_oom_splits_total", counter, "Batches split in two after running out of memory.",
       {{"inference/oom_splits"}}},
      {"tradebotd_inference_isolated_reruns_total", counter, "Failed batches rerun one window at a time.",
       {{"inference/isolated_reruns"}}},
      {"tradebotd_inference_queued_windows", gauge, "Windows waiting in the batcher's queue.",
       {{"inference/queued_windows"}}},
      {"tradebotd_inference_queued_rows", gauge, "Rows waiting in the batcher's queue.", {{"inference/queued_rows"}}},
      {"tradebotd_inference_max_batch_rows", gauge, "Rows a batch may hold now (lowered after an out-of-memory split).",
       {{"inference/max_batch_rows"}}},
      {"tradebotd_inference_queue_wait_seconds", histogram, "Time a window waited in the queue before its batch ran.",
       {{"inference/queue_wait_seconds"}}},
      {"tradebotd_inference_compute_seconds", histogram, "Model time of one successful batch.",
       {{"inference/compute_seconds"}}},
      {"tradebotd_inference_model_info", info, "The loaded model: always 1, the labels say which.",
       {{"inference/model"}}, {"device", "dtype", "compile", "compile_mode", "checkpoint_hash"}},
      {"tradebotd_inference_remote_up", gauge, "1 while the pool is connected to the remote inference host, else 0.",
       {{"inference/remote/[host=address]/up"}}},
      {"tradebotd_inference_remote_state", info,
       "The remote inference host's state (connecting, connected, down, refused): always 1.",
       {{"inference/remote/[host=address]"}}, {"state"}},
      {"tradebotd_inference_remote_requests_total", counter, "Forecast requests the pool sent to the host.",
       {{"inference/remote/[host=address]/requests"}}},
      {"tradebotd_inference_remote_failures_total", counter, "Failures at the host: forecast and status requests, connection attempts.",
       {{"inference/remote/[host=address]/failures"}}},
      {"tradebotd_inference_remote_in_flight_requests", gauge, "The pool's requests at the host now.",
       {{"inference/remote/[host=address]/in_flight"}}},
      {"tradebotd_inference_remote_in_flight_rows", gauge, "Rows of the pool's requests at the host now.",
       {{"inference/remote/[host=address]/in_flight_rows"}}},
      {"tradebotd_inference_remote_queued_rows", gauge, "Rows in the host's batcher queue, as the host last reported.",
       {{"inference/remote/[host=address]/queued_rows"}}},
      {"tradebotd_inference_remote_computed_windows_total", counter,
       "Windows the host's model computed (for every client), as the host last reported.",
       {{"inference/remote/[host=address]/computed_windows"}}},
      {"tradebotd_inference_remote_rtt_seconds", histogram,
       "From a request sent to the host to its successful reply.",
       {{"inference/remote/[host=address]/rtt_seconds"}}},
      {"tradebotd_inference_model_parameters", gauge, "Parameters of the loaded model.",
       {{"inference/model/parameters"}}},

      // ---- the portfolio ----
      {"tradebotd_portfolio_equity", gauge, "Account equity, in the account currency.", {{"portfolio/equity"}}},
      {"tradebotd_portfolio_cash", gauge, "Account cash, in the account currency.", {{"portfolio/cash"}}},
      {"tradebotd_portfolio_buying_power", gauge, "Account buying power, in the account currency.",
       {{"portfolio/buying_power"}}},
      {"tradebotd_portfolio_position_quantity", gauge, "Held quantity of the symbol (negative: short).",
       {{"portfolio/positions/{symbol}/qty"}}},
      {"tradebotd_portfolio_position_market_value", gauge, "Market value of the position, in the account currency.",
       {{"portfolio/positions/{symbol}/market_value"}}},
      {"tradebotd_portfolio_position_avg_entry_price", gauge, "Average entry price of the position.",
       {{"portfolio/positions/{symbol}/avg_entry_price"}}},
      {"tradebotd_portfolio_position_market_price", gauge, "Last market price of the position's symbol.",
       {{"portfolio/positions/{symbol}/market_price"}}},
      {"tradebotd_portfolio_open_orders", gauge, "Orders open at the broker.", {{"portfolio/open_orders"}}},
      {"tradebotd_portfolio_orders_sent_total", counter, "Orders the portfolio sent to the broker actor.",
       {{"portfolio/orders_sent"}}},
      {"tradebotd_portfolio_orders_total", counter,
       "Orders of the portfolio by outcome (accepted, rejected, duplicate, failed at the broker; risk_rejected "
       "before sending).",
       {{"portfolio/orders_accepted", {{"result", "accepted"}}},
        {"portfolio/orders_rejected", {{"result", "rejected"}}},
        {"portfolio/orders_duplicate", {{"result", "duplicate"}}},
        {"portfolio/orders_failed", {{"result", "failed"}}},
        {"portfolio/orders_risk_rejected", {{"result", "risk_rejected"}}}}},
      {"tradebotd_portfolio_cycles_total", counter, "Cycles the portfolio finished.", {{"portfolio/cycles"}}},
      {"tradebotd_portfolio_deadline_closes_total", counter, "Cycles the portfolio closed at their deadline.",
       {{"portfolio/deadline_closes"}}},
      {"tradebotd_portfolio_late_proposals_total", counter, "Proposals that arrived after their cycle closed.",
       {{"portfolio/late_proposals"}}},
      {"tradebotd_portfolio_halted", gauge, "1 while the kill switch halts trading.",
       {{"portfolio/kill_switch/halted"}}},
      {"tradebotd_portfolio_day_loss_ratio", gauge, "Today's loss as a fraction of the day's starting equity.",
       {{"portfolio/kill_switch/day_loss"}}},
      {"tradebotd_portfolio_total_return_ratio", gauge, "Return of the run so far (a fraction).",
       {{"portfolio/metrics/total_return"}}},
      {"tradebotd_portfolio_max_drawdown_ratio", gauge, "Largest drawdown of the run so far (a fraction).",
       {{"portfolio/metrics/max_drawdown"}}},
      {"tradebotd_portfolio_sharpe", gauge, "Annualised Sharpe ratio of the run so far.",
       {{"portfolio/metrics/sharpe"}}},

      // ---- the broker ----
      {"tradebotd_broker_orders_total", counter,
       "Orders the broker actor submitted, by outcome (accepted, rejected, duplicate_refused, failed, canceled).",
       {{"broker/accepted", {{"result", "accepted"}}},
        {"broker/rejected", {{"result", "rejected"}}},
        {"broker/duplicates_refused", {{"result", "duplicate_refused"}}},
        {"broker/failed", {{"result", "failed"}}},
        {"broker/canceled", {{"result", "canceled"}}}}},
      {"tradebotd_broker_fills_total", counter, "Orders of the journal that were filled.", {{"broker/fills"}}},
      {"tradebotd_broker_journal_orders", gauge, "Orders of the journal by their last state.",
       {{"broker/journal_orders/{state}"}}},
      {"tradebotd_broker_reconciled_at_start", gauge, "Orders reconciled with the broker at start, by outcome.",
       {{"broker/reconciled_at_start/{outcome}"}}},

      // ---- the HTTP server ----
      {"tradebotd_http_requests_total", counter, "HTTP requests read whole.", {{"http/requests_total"}}},
      {"tradebotd_http_responses_total", counter, "HTTP responses by status class.",
       {{"http/responses_2xx_total", {{"code", "2xx"}}},
        {"http/responses_4xx_total", {{"code", "4xx"}}},
        {"http/responses_5xx_total", {{"code", "5xx"}}}}},
      {"tradebotd_http_request_duration_seconds", histogram,
       "From an HTTP request read whole to its response written, by route.",
       {{"http/request_duration_seconds/{route}"}}},
      {"tradebotd_http_bad_requests_total", counter, "Requests the parser refused (400, 413, 431).",
       {{"http/bad_requests_total"}}},
      {"tradebotd_http_timeouts_total", counter, "Connections closed by a read or write timeout.",
       {{"http/timeouts_total"}}},
      {"tradebotd_http_unauthorized_total", counter, "Requests answered 401: a missing or wrong bearer token.",
       {{"http/unauthorized_total"}}},
      {"tradebotd_http_connections_accepted_total", counter, "Connections accepted into the general pool.",
       {{"http/connections_accepted_total"}}},
      {"tradebotd_http_connections_open", gauge, "Open connections of the general pool.",
       {{"http/connections_open"}}},
      {"tradebotd_http_connections_rejected_total", counter, "Connections shed with the overload 503.",
       {{"http/connections_rejected_total"}}},
      {"tradebotd_http_connections_over_client_limit_total", counter,
       "Connections refused a general slot because their address held max_connections_per_client.",
       {{"http/connections_over_client_limit_total"}}},
      {"tradebotd_http_probe_connections_total", counter, "Connections served from the probe reserve.",
       {{"http/probe_connections_total"}}},
      {"tradebotd_http_probe_connections_open", gauge, "Open connections of the probe reserve.",
       {{"http/probe_connections_open"}}},
      {"tradebotd_http_probe_evictions_total", counter,
       "Reserve connections closed to make room for a newer one.", {{"http/probe_evictions_total"}}},
  });
  // clang-format on
  return all;
}

// The label name and key field of an array segment "[name=field]", or nullopt.
std::optional<std::pair<std::string, std::string>> array_segment(const std::string& seg) {
  if (seg.size() < 5 || seg.front() != '[' || seg.back() != ']') return std::nullopt;
  const auto eq = seg.find('=');
  if (eq == std::string::npos || eq == 1 || eq + 2 == seg.size()) return std::nullopt;
  return std::make_pair(seg.substr(1, eq - 1), seg.substr(eq + 1, seg.size() - eq - 2));
}

// Calls `emit(node, labels)` for every node at `segs[i..]` below `node`.
template <class Emit>
void resolve(const json& node, const std::vector<std::string>& segs, std::size_t i, labels& ls, Emit& emit) {
  if (i == segs.size()) {
    emit(node, ls);
    return;
  }
  const std::string& seg = segs[i];
  if (const auto by_field = array_segment(seg)) {
    if (!node.is_array()) return;
    std::set<std::string> keys;  // the first element with a key wins, in every family alike
    for (const auto& element : node) {
      if (!element.is_object()) continue;
      const auto key = element.find(by_field->second);
      if (key == element.end() || !key->is_string() || !keys.insert(key->get<std::string>()).second) continue;
      ls.emplace_back(by_field->first, key->get<std::string>());
      resolve(element, segs, i + 1, ls, emit);
      ls.pop_back();
    }
    return;
  }
  if (!node.is_object()) return;
  if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
    const std::string label = seg.substr(1, seg.size() - 2);
    for (const auto& [key, child] : node.items()) {
      ls.emplace_back(label, key);
      resolve(child, segs, i + 1, ls, emit);
      ls.pop_back();
    }
    return;
  }
  const auto it = node.find(seg);
  if (it != node.end()) resolve(*it, segs, i + 1, ls, emit);
}

std::string render_labels(const labels& ls) {
  if (ls.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (i) out += ',';
    out += ls[i].first;
    out += "=\"";
    out += escape_label_value(ls[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

// A float as the text format writes it: NaN, +Inf, -Inf, else the shortest round trip.
std::string float_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  return json(d).dump();
}

// An `le` bound as Prometheus' client libraries write it (1, 2.5, 0.001, 1e-05): the same text
// from every daemon, so the buckets of several aggregate.
std::string le_text(double d) {
  std::string s = float_text(d);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

// The sample value of a counter or gauge, or nullopt when it is not one.
std::optional<std::string> value_text(const json& v, double divisor, metric_type type) {
  if (v.is_boolean()) return std::string(v.get<bool>() ? "1" : "0");
  if (!v.is_number()) return std::nullopt;
  if (divisor == 1 && v.is_number_unsigned()) return v.dump();
  if (divisor == 1 && v.is_number_integer()) {
    if (type == counter && v.get<std::int64_t>() < 0) return std::nullopt;
    return v.dump();
  }
  const double d = v.get<double>() / divisor;
  if (type == counter && (!std::isfinite(d) || d < 0)) return std::nullopt;
  return float_text(d);
}

// A count: a non-negative integer.
std::optional<std::uint64_t> count_value(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

// A label value of an info family: strings as they are, numbers and booleans as JSON writes them.
std::optional<std::string> info_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

// One family's sample lines; the set holds the label sets written so far.
class family_writer {
 public:
  explicit family_writer(const family_spec& f) : f_(f) {}

  void add(const json& node, labels ls) {
    switch (f_.type) {
      case metric_type::counter:
      case metric_type::gauge:
        if (auto v = value_text(node, divisor_, f_.type)) line(f_.name, ls, *v);
        return;
      case metric_type::info: {
        if (!node.is_object()) return;
        const std::size_t before = ls.size();
        for (const auto& field : f_.info_fields) {
          const auto it = node.find(field);
          if (it == node.end()) continue;
          if (auto v = info_value(*it)) ls.emplace_back(field, std::move(*v));
        }
        if (ls.size() > before) line(f_.name, ls, "1");
        return;
      }
      case metric_type::histogram:
        add_histogram(node, std::move(ls));
        return;
    }
  }

  void set_source(const source& s) { divisor_ = s.divisor; }
  const std::string& text() const { return text_; }

 private:
  // {"le_seconds": [...], "cumulative_counts": [...], "count", "sum_seconds"}, checked whole first.
  void add_histogram(const json& h, labels ls) {
    if (!h.is_object()) return;
    const auto le = h.find("le_seconds"), cum = h.find("cumulative_counts"), count = h.find("count"),
               sum = h.find("sum_seconds");
    if (le == h.end() || cum == h.end() || count == h.end() || sum == h.end()) return;
    if (!le->is_array() || !cum->is_array() || le->size() != cum->size() || !sum->is_number()) return;
    const auto total = count_value(*count);
    if (!total) return;
    double prev_le = -INFINITY;
    std::uint64_t prev = 0;
    for (std::size_t i = 0; i < le->size(); ++i) {
      const auto& b = (*le)[i];
      const auto n = count_value((*cum)[i]);
      if (!b.is_number() || !n) return;
      const double bound = b.get<double>();
      if (!std::isfinite(bound) || bound <= prev_le || *n < prev || *n > *total) return;
      prev_le = bound;
      prev = *n;
    }
    const auto rendered = seen_.insert(render_labels(ls));
    if (!rendered.second) return;
    for (std::size_t i = 0; i <= le->size(); ++i) {
      labels with_le = ls;
      with_le.emplace_back("le", i < le->size() ? le_text((*le)[i].get<double>()) : "+Inf");
      write(f_.name + "_bucket", render_labels(with_le),
            std::to_string(i < le->size() ? *count_value((*cum)[i]) : *total));
    }
    write(f_.name + "_sum", *rendered.first, float_text(sum->get<double>() / divisor_));
    write(f_.name + "_count", *rendered.first, std::to_string(*total));
  }

  void line(const std::string& name, const labels& ls, const std::string& value) {
    const auto rendered = seen_.insert(render_labels(ls));
    if (!rendered.second) return;  // e.g. two keys alike once made valid UTF-8
    write(name, *rendered.first, value);
  }

  // `rendered_labels`: render_labels() of the sample's labels.
  void write(const std::string& name, const std::string& rendered_labels, const std::string& value) {
    text_ += name;
    text_ += rendered_labels;
    text_ += ' ';
    text_ += value;
    text_ += '\n';
  }

  const family_spec& f_;
  double divisor_ = 1;
  std::set<std::string> seen_;
  std::string text_;
};

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::histogram:
      return "histogram";
    case metric_type::gauge:
    case metric_type::info:
      break;
  }
  return "gauge";
}

int status_code(const std::string& s) {
  if (s == core::to_string(core::health_status::ok)) return 0;
  if (s == core::to_string(core::health_status::degraded)) return 1;
  return 2;
}

// The sections /metrics adds to /stats: "health" ({"status", "checks": {name: code}}) and "build".
json extra_sections(const json& checks, core::health_status overall, const std::string& version) {
  json codes = json::object();
  if (checks.is_object()) {
    for (const auto& [name, check] : checks.items()) {
      const std::string s = check.is_object() && check.contains("status") && check["status"].is_string()
                                ? check["status"].get<std::string>()
                                : "failing";
      codes[name] = status_code(s);
    }
  }
#if defined(__clang__)
  const std::string compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = std::string("gcc ") + __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  return {{"health", {{"status", static_cast<int>(overall)}, {"checks", std::move(codes)}}},
          {"build", {{"version", version}, {"compiler", compiler}}}};
}

// Appends `cp` as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The code point of the UTF-8 sequence at s[i] and its length; length 0 when it is not a valid,
// shortest-form sequence of a Unicode scalar value.
std::pair<std::uint32_t, std::size_t> decode_utf8(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  std::uint32_t cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0)
    len = 2, cp = b0 & 0x1F, min = 0x80;
  else if ((b0 & 0xF0) == 0xE0)
    len = 3, cp = b0 & 0x0F, min = 0x800;
  else if ((b0 & 0xF8) == 0xF0)
    len = 4, cp = b0 & 0x07, min = 0x10000;
  else
    return {0, 0};
  if (i + len > s.size()) return {0, 0};
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, len};
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  std::size_t raw = 0;  // bytes of `value` taken, counted against the cut
  for (std::size_t i = 0; i < value.size();) {
    auto [cp, len] = decode_utf8(value, i);
    if (len == 0) cp = 0xFFFD, len = 1;  // one invalid byte, one replacement character
    if (raw + len > max_label_value_bytes) break;
    raw += len;
    i += len;
    switch (cp) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        append_utf8(out, cp);
    }
  }
  return out;
}

std::string render_metrics(const json& stats, const json& checks, core::health_status overall,
                           const std::string& version) {
  const json extra = extra_sections(checks, overall, version);
  std::string out;
  for (const auto& f : families()) {
    family_writer w(f);
    for (const auto& s : f.sources) {
      w.set_source(s);
      auto emit = [&](const json& node, const labels& path_labels) {
        labels ls = path_labels;
        ls.insert(ls.end(), s.constant.begin(), s.constant.end());
        w.add(node, std::move(ls));
      };
      labels ls;
      for (const json* root : {&stats, &extra})
        if (root->is_object()) resolve(*root, s.segments, 0, ls, emit);
    }
    if (w.text().empty()) continue;
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    out += w.text();
  }
  return out;
}

}  // namespace tb::http
