#pragma once
// The backtest report's page and files: report.html (one self-contained page, equity curve and
// drawdown as inline SVG, no scripts, no external resources) and write_report, which writes
// report.json (strategy::to_json) and report.html. README.md.
//
// render_html is pure and deterministic: the same report gives the same bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "strategy/report.hpp"

namespace tb::report {

using strategy::backtest_report;

struct html_options {
  std::size_t max_trade_rows = 500;     // longer trade lists show this many rows and a note
  std::size_t max_chart_points = 4000;  // longer curves are thinned (min/max per bucket), noted
};

// The report.html page: one self-contained HTML document (inline CSS and SVG, no scripts, no
// external resources). Every string from the report is HTML-escaped. Deterministic.
std::string render_html(const backtest_report& r, const html_options& o = {});

// & < > " ' as entities; everything else as is.
std::string html_escape(std::string_view s);

// The pages' shared parts (report.html, the sweep's summary.html): the document up to and
// including <body> with the common style, and numbers as the pages show them ("-1.23",
// "12.34%"; NaN "&ndash;", infinities "&infin;"; never "-0.00"). Locale-independent.
std::string html_page_start(std::string_view title);
std::string format_fixed(double x, int decimals = 2);
std::string format_percent(double fraction, int decimals = 2);

// "YYYY-MM-DD" / "YYYY-MM-DD HH:MM:SS" in UTC, from seconds since the epoch.
std::string utc_date(std::int64_t time_s);
std::string utc_date_time(std::int64_t time_s);

// Writes `data` to a temporary file next to `path` (mode 0644, fsync), then renames it over
// `path`, so a reader never sees half a file. errc::io naming the path.
expected<bool> write_file_atomically(const std::string& path, const std::string& data);

// Creates `dir` and its parents when missing; errc::invalid_argument for "", errc::io naming it
// when it cannot be created or is not a directory.
expected<bool> create_report_dir(const std::string& dir);

struct report_paths {
  std::string json;  // DIR/report.json
  std::string html;  // DIR/report.html
};

// Validates the report, creates DIR (and parents) when missing, and writes DIR/report.json and
// DIR/report.html, each to a temporary file in DIR then renamed over the target, so a reader
// never sees half a file. errc::bad_data for an invalid report, errc::io naming the path.
expected<report_paths> write_report(const backtest_report& r, const std::string& dir, const html_options& o = {});

}  // namespace tb::report
