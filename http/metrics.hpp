#pragma once
// /metrics: the /stats document and the health checks in the Prometheus text exposition format,
// version 0.0.4, as Prometheus' naming and exposition documents write it. Pure functions over JSON
// values.
//
// The exposition is declared: one table in metrics.cpp names every family (name, type, HELP, and
// where in /stats its samples come from); README.md ("Metric families") lists them. Nothing is
// derived from key names, so a new /stats key shows in /metrics only once it is declared there.
//  * Counters end in `_total`, gauges are levels, histograms have `_bucket{le}`, `_sum`, `_count`
//    (from the `{"le_seconds", "cumulative_counts", "count", "sum_seconds"}` objects that
//    core::to_json(histogram_counts) publishes), an info family is a gauge of value 1 whose labels
//    are string fields. Durations are seconds and sizes bytes (ms and us in /stats are scaled).
//  * Per-symbol, per-tier, per-route, per-check values are one family with a label.
//  * A family whose sources are absent (a section not yet published) is left out; a value that is
//    not a number (or boolean) is skipped; non-finite gauges are written `NaN`, `+Inf`, `-Inf`; a
//    counter that is negative or non-finite, or a histogram whose counts are not cumulative, is
//    skipped rather than written wrong.
//  * Label values are escaped (`\\`, `\"`, `\n`), invalid UTF-8 becomes U+FFFD, and values are cut
//    at 256 bytes on a character boundary. A second sample with the same labels in one family is
//    dropped.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/snapshot_board.hpp"

namespace tb::http {

// Content-Type of the /metrics response.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Renders `stats` (an object {section: document}, as /stats serves it) and `checks` (as
// core::snapshot_board::checks() returns it) with `overall` the worst check status.
std::string render_metrics(const nlohmann::json& stats, const nlohmann::json& checks, core::health_status overall,
                           const std::string& version);

// A label value escaped for the text format: backslash, double quote and newline escaped, invalid
// UTF-8 replaced by U+FFFD, cut at 256 bytes without splitting a character.
std::string escape_label_value(std::string_view value);

}  // namespace tb::http
