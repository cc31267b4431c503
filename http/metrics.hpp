#pragma once
// /metrics: the /stats document and the health checks in the Prometheus text exposition format,
// version 0.0.4. Pure functions over JSON values; the mapping rule is documented in README.md
// ("The /metrics mapping") and summarised here:
//
//  * A numeric leaf at path section.a.b becomes the sample `tradebotd_section_a_b <value>`;
//    a boolean leaf becomes 1 or 0. Each path segment is sanitised to [a-zA-Z0-9_:] (every other
//    byte becomes '_') and segments are joined with '_'.
//  * Labelled collections: the children of an object whose key is `symbols` or `positions`
//    (label `symbol`), `checks` (label `check`), `by_<label>` or `<name>_by_<label>` are entries
//    keyed by a label: the child's key becomes the label's value and leaves the metric name.
//    symbols.AAPL.cache_hits = 3      -> tradebotd_symbols_cache_hits{symbol="AAPL"} 3
//    cache.hits_by_tier.disk = 2      -> tradebotd_cache_hits{tier="disk"} 2
//    Collections nest: their labels accumulate.
//  * String leaves of an object become labels of one `<object path>_info` gauge of value 1:
//    inference.device = "cuda:0"      -> tradebotd_inference_info{device="cuda:0"} 1
//  * null and arrays are skipped.
//  * A metric whose name ends in `_total` is a counter, every other metric a gauge. Every family
//    has one `# TYPE` line; families are sorted by name; a second sample with the same name and
//    labels as an earlier one (two paths that sanitise alike) is dropped.
//  * Health: tradebotd_health_status (0 ok, 1 degraded, 2 failing), the worst check;
//    tradebotd_health_check_status{check="<name>"} per check; tradebotd_build_info{version} 1.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/snapshot_board.hpp"

namespace tb::http {

// Content-Type of the /metrics response.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Renders `stats` (an object {section: document}, as /stats serves it) and `checks` (as
// core::snapshot_board::checks() returns it) with `overall` the worst check status.
std::string render_metrics(const nlohmann::json& stats, const nlohmann::json& checks,
                           core::health_status overall, const std::string& version);

// One path segment of a metric name: bytes outside [a-zA-Z0-9_:] become '_'.
std::string sanitize_metric_segment(std::string_view segment);
// A label name: bytes outside [a-zA-Z0-9_] become '_'; a leading digit or a reserved "__" prefix
// gets an extra leading character so the result is valid.
std::string sanitize_label_name(std::string_view name);
// A label value escaped for the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

}  // namespace tb::http
