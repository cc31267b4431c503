// The backtest report: report.json round trip and errors, report.html (escaping, SVG charts,
// caps, determinism), write_report, headless Chromium rendering the page, and `tradebot compare`
// (daemon/tool_compare.cpp, driven through CLI11 as the tradebot tool drives it).
#define BOOST_TEST_MODULE report
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "daemon/tool_commands.hpp"
#include "report/report.hpp"
#include "strategy/compare.hpp"
#include "strategy/report.hpp"
#include "tests/strategy/test_support.hpp"
#include "tests/support/chromium.hpp"

using namespace tb::strategy;
using namespace tb::report;
using namespace tb::test::chromium;
using nlohmann::json;
using tb::test::decode_png;
using tb::test::pixels_near;
using tb::test::read_file;
using tb::test::temp_dir;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t day = 86400;
constexpr std::int64_t t0 = 1704205800;  // 2024-01-02 14:30:00 UTC

metrics sample_metrics(double sharpe, double win_rate, double total_return) {
  metrics m;
  m.bars = 40;
  m.periods_per_year = 252;
  m.total_return = total_return;
  m.avg_return = total_return / 40;
  m.annualized_return = m.avg_return * 252;
  m.sharpe = sharpe;
  m.sortino = sharpe * 1.4;
  m.win_rate = win_rate;
  m.max_drawdown = 0.0612;
  m.profit_factor = 1.37;
  m.trades = 18;
  m.turnover = 1.25;
  m.volatility = 0.0091;
  return m;
}

// A report with an equity curve of `points` daily points: a rise, a dip to a known trough, a
// recovery to a known peak; `trades` fills.
backtest_report sample_report(std::size_t points = 40, std::size_t trades = 12) {
  backtest_report r;
  r.run.config_path = "/etc/tradebotd/tradebotd.toml";
  r.run.data_dir = "/var/lib/tradebotd/data";
  r.run.from_date = "2024-01-02";
  r.run.to_date = "2024-02-28";
  r.run.symbols = {"AAPL", "MSFT", "BTCUSD"};
  r.run.model = "kronos-small@3f2a9c1e";
  r.run.started_s = 1718000000;
  r.run.finished_s = 1718000042;
  r.metrics = sample_metrics(1.31, 0.54, 0.12);
  r.symbols = {{"AAPL", asset_class::equity, "maxdiff", sample_metrics(1.1, 0.55, 0.08)},
               {"MSFT", asset_class::equity, "simple", sample_metrics(0.7, 0.51, 0.03)},
               {"BTCUSD", asset_class::crypto, "entry_takeprofit", sample_metrics(2.0, 0.6, 0.2)}};
  r.symbols[2].metrics.periods_per_year = 365;
  r.symbols[2].metrics.profit_factor = std::numeric_limits<double>::infinity();  // JSON null
  for (std::size_t i = 0; i < points; ++i) {
    const double x = double(i);
    double e = 100000 * (1 + 0.004 * x) + 2500 * std::sin(x / 3.0);
    r.equity_curve.push_back({t0 + std::int64_t(i) * day, e});
  }
  for (std::size_t i = 0; i < trades; ++i)
    r.trades.push_back({t0 + std::int64_t(i) * 3600, i % 3 == 2 ? "BTCUSD" : (i % 2 ? "MSFT" : "AAPL"),
                        i % 2 ? trade_side::sell : trade_side::buy, 10.0 + double(i) * 0.5, 187.25 + double(i),
                        0.0052 * double(i), "tb-" + std::to_string(1000 + i)});
  r.orders = {int(trades) + 3, int(trades), 3};
  r.cache = {270, 30, 90.0, 30, 30};
  r.inference = {2, 1};
  r.timing = {12.5, 9.75, 41};
  return r;
}

std::string points_attr(const std::string& html, const std::string& id) {
  const std::string key = "<polyline id=\"" + id + "\"";
  auto at = html.find(key);
  if (at == std::string::npos) return {};
  auto p = html.find("points=\"", at);
  auto e = html.find('"', p + 8);
  return html.substr(p + 8, e - p - 8);
}

struct pt {
  double x, y;
};
std::vector<pt> parse_points(const std::string& attr) {
  std::vector<pt> out;
  std::istringstream in(attr);
  std::string tok;
  while (in >> tok) {
    auto c = tok.find(',');
    out.push_back({std::stod(tok.substr(0, c)), std::stod(tok.substr(c + 1))});
  }
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// report.json

BOOST_AUTO_TEST_CASE(json_round_trip_is_exact) {
  const auto r = sample_report();
  const json j = to_json(r);
  BOOST_TEST(j["format"] == "tradebot-report");
  BOOST_TEST(j["version"] == 1);
  BOOST_TEST(j["symbols"][2]["metrics"]["profit_factor"].is_null());
  BOOST_TEST(j["equity_curve"].size() == 40u);
  BOOST_TEST(j["trades"][1]["side"] == "sell");
  BOOST_TEST(j["orders"]["rejected"] == 3);
  BOOST_TEST(j["cache"] ==
             json({{"hits", 270}, {"misses", 30}, {"hit_rate_percent", 90.0}, {"computed", 30}, {"stored", 30}}));
  BOOST_TEST(j["inference"] == json({{"errors", 2}, {"oom_splits", 1}}));
  BOOST_TEST(j["timing"] == json({{"elapsed_s", 12.5}, {"inference_s", 9.75}, {"cycles", 41}}));

  auto back = report_from_json(json::parse(j.dump()));
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().message));
  BOOST_TEST(to_json(*back) == j);
  BOOST_TEST(back->run.model == r.run.model);
  BOOST_TEST(back->run.symbols == r.run.symbols);
  BOOST_TEST(back->symbols[2].asset == asset_class::crypto);
  BOOST_TEST(std::isinf(back->symbols[2].metrics.profit_factor));
  BOOST_TEST(back->equity_curve[7].equity == r.equity_curve[7].equity);  // bit-exact doubles
  BOOST_TEST(back->trades[5].client_order_id == "tb-1005");
  BOOST_TEST(back->trades[5].fee == r.trades[5].fee);
  BOOST_TEST(back->cache.misses == 30);
  BOOST_TEST(back->timing.inference_s == 9.75);
  BOOST_TEST(back->inference.oom_splits == 1);
}

BOOST_AUTO_TEST_CASE(a_report_without_cache_and_timing_reads_as_zeros) {
  json j = to_json(sample_report());
  j.erase("cache");
  j.erase("inference");
  j.erase("timing");
  auto back = report_from_json(j);
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().message));
  BOOST_TEST(back->cache.hits == 0);
  BOOST_TEST(back->timing.cycles == 0);
  BOOST_TEST(back->inference.errors == 0);
}

BOOST_AUTO_TEST_CASE(empty_report_round_trips) {
  backtest_report r;
  auto back = report_from_json(to_json(r));
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : back.error().message));
  BOOST_TEST(to_json(*back) == to_json(r));
  const auto html = render_html(r);
  BOOST_TEST(count(html, "no data") == 2u);
  BOOST_TEST(html.find("No fills.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(compare_reads_what_the_writer_writes) {
  auto base = sample_report();
  auto cand = sample_report();
  cand.metrics.sharpe = 1.31 * 0.85;  // down 15%
  cand.symbols[0].metrics.win_rate = 0.4;
  auto c = compare(to_json(base), to_json(cand));
  BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  BOOST_TEST(c->result == verdict::rollback);
  BOOST_TEST(c->table.find("AAPL win_rate") != std::string::npos);
  auto same = compare(to_json(base), to_json(base));
  BOOST_REQUIRE(same);
  BOOST_TEST(same->result == verdict::ok);
  // The writer's inference and cache figures are judged: one more inference error rolls back.
  BOOST_TEST(same->table.find("OK       inference_errors: 2 -> 2") != std::string::npos);
  BOOST_TEST(same->table.find("OK       cache_hit_rate: 90.00% -> 90.00%") != std::string::npos);
  auto errors = sample_report();
  errors.inference.errors = 3;
  auto e = compare(to_json(base), to_json(errors));
  BOOST_REQUIRE(e);
  BOOST_TEST(e->result == verdict::rollback);
  BOOST_REQUIRE(e->reasons.size() == 1u);
  BOOST_TEST(e->reasons[0] == "ROLLBACK inference_errors: 2 -> 3, increase 1 (ROLLBACK over 0)");
}

BOOST_AUTO_TEST_CASE(from_json_errors_name_the_field) {
  const json good = to_json(sample_report());
  auto expect_error = [&](json j, const std::string& field) {
    auto r = report_from_json(j);
    BOOST_REQUIRE_MESSAGE(!r, "expected an error naming " + field);
    BOOST_TEST(r.error().code == tb::errc::bad_data);
    BOOST_TEST_MESSAGE(r.error().message);
    BOOST_TEST(r.error().message.find(field) != std::string::npos, r.error().message << " should name " << field);
  };
  // One broken field per line, so the field and the path it must name read side by side.
  // clang-format off
  { json j = good; j["trades"][1].erase("price"); expect_error(j, "report.trades[1].price"); }
  { json j = good; j["trades"][3]["price"] = "12"; expect_error(j, "report.trades[3].price"); }
  { json j = good; j["trades"][3]["price"] = -1.0; expect_error(j, "report.trades[3].price"); }
  { json j = good; j["trades"][0]["side"] = "hold"; expect_error(j, "report.trades[0].side"); }
  { json j = good; j["trades"][4]["time_s"] = 1.5; expect_error(j, "report.trades[4].time_s"); }
  { json j = good; j["equity_curve"][3]["equity"] = -5.0; expect_error(j, "report.equity_curve[3].equity"); }
  { json j = good; j["equity_curve"][3]["equity"] = nullptr; expect_error(j, "report.equity_curve[3].equity"); }
  { json j = good; j["equity_curve"][9]["time_s"] = 0; expect_error(j, "report.equity_curve[9].time_s"); }
  { json j = good; j["symbols"][1]["metrics"]["sharpe"] = "high"; expect_error(j, "report.symbols[1].metrics.sharpe"); }
  { json j = good; j["symbols"][1]["metrics"].erase("win_rate"); expect_error(j, "report.symbols[1].metrics.win_rate"); }
  { json j = good; j["symbols"][0]["asset"] = "bond"; expect_error(j, "report.symbols[0].asset"); }
  { json j = good; j["metrics"] = 3; expect_error(j, "report.metrics"); }
  { json j = good; j["run"]["symbols"][1] = 7; expect_error(j, "report.run.symbols[1]"); }
  { json j = good; j["run"]["finished_s"] = 1; expect_error(j, "report.run.finished_s"); }
  { json j = good; j.erase("orders"); expect_error(j, "report.orders"); }
  { json j = good; j["orders"]["sent"] = -1; expect_error(j, "report.orders.sent"); }
  { json j = good; j["cache"].erase("computed"); expect_error(j, "report.cache.computed"); }
  { json j = good; j["cache"]["misses"] = -2; expect_error(j, "report.cache.misses"); }
  { json j = good; j["inference"].erase("oom_splits"); expect_error(j, "report.inference.oom_splits"); }
  { json j = good; j["inference"]["errors"] = -1; expect_error(j, "report.inference.errors"); }
  { json j = good; j["timing"]["elapsed_s"] = "fast"; expect_error(j, "report.timing.elapsed_s"); }
  { json j = good; j["timing"]["inference_s"] = -1.0; expect_error(j, "report.timing.inference_s"); }
  { json j = good; j["format"] = "something-else"; expect_error(j, "report.format"); }
  { json j = good; j["version"] = 2; expect_error(j, "report.version"); }
  { json j = good; j["trades"] = json::object(); expect_error(j, "report.trades"); }
  // clang-format on
  expect_error(json::array(), "report");
}

BOOST_AUTO_TEST_CASE(validate_rejects_what_json_cannot_hold) {
  auto r = sample_report();
  r.symbols[1].metrics.sharpe = std::nan("");
  auto v = validate(r);
  BOOST_REQUIRE(!v);
  BOOST_TEST(v.error().message.find("report.symbols[1].metrics.sharpe") != std::string::npos);
  r = sample_report();
  r.trades[2].qty = 0;
  v = validate(r);
  BOOST_REQUIRE(!v);
  BOOST_TEST(v.error().message.find("report.trades[2].qty") != std::string::npos);
  BOOST_TEST(validate(sample_report()).has_value());
}

BOOST_AUTO_TEST_CASE(drawdown_curve_against_hand_values) {
  std::vector<equity_point> c = {{1, 100}, {2, 120}, {3, 90}, {4, 130}, {5, 117}, {6, 130}};
  auto dd = drawdown_curve(c);
  BOOST_REQUIRE(dd.size() == 6u);
  const double want[] = {0, 0, 0.25, 0, 0.1, 0};
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(dd[i].time_s == c[i].time_s);
    BOOST_TEST(dd[i].drawdown == want[i], boost::test_tools::tolerance(1e-12));
  }
  BOOST_TEST(drawdown_curve({}).empty());
}

BOOST_AUTO_TEST_CASE(utc_dates) {
  BOOST_TEST(utc_date(0) == "1970-01-01");
  BOOST_TEST(utc_date(1709164800) == "2024-02-29");
  BOOST_TEST(utc_date_time(t0) == "2024-01-02 14:30:00");
  BOOST_TEST(utc_date_time(-1) == "1969-12-31 23:59:59");
  BOOST_TEST(utc_date(951782400) == "2000-02-29");
}

// ---------------------------------------------------------------------------------------------
// report.html

BOOST_AUTO_TEST_CASE(html_escapes_every_string) {
  auto r = sample_report();
  r.symbols[0].symbol = "<script>alert(1)</script>";
  r.symbols[0].strategy = "max\"diff";
  r.run.symbols[0] = "<script>alert(1)</script>";
  r.run.config_path = "/tmp/<b>bold</b>&x.toml";
  r.run.model = "m'odel<i>";
  r.run.from_date = "<2024>";
  r.trades[0].symbol = "<script>alert(2)</script>";
  r.trades[0].client_order_id = "id\"onmouseover=\"x";
  const auto html = render_html(r);
  BOOST_TEST(html.find("<script") == std::string::npos);
  BOOST_TEST(html.find("<b>bold") == std::string::npos);
  BOOST_TEST(html.find("<i>") == std::string::npos);
  BOOST_TEST(html.find("\"onmouseover") == std::string::npos);
  BOOST_TEST(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(html.find("&lt;script&gt;alert(2)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(html.find("/tmp/&lt;b&gt;bold&lt;/b&gt;&amp;x.toml") != std::string::npos);
  BOOST_TEST(html.find("m&#39;odel&lt;i&gt;") != std::string::npos);
  BOOST_TEST(html.find("max&quot;diff") != std::string::npos);
  BOOST_TEST(html.find("id&quot;onmouseover=&quot;x") != std::string::npos);
  BOOST_TEST(html_escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

BOOST_AUTO_TEST_CASE(html_is_self_contained) {
  const auto html = render_html(sample_report());
  BOOST_TEST(html.rfind("<!DOCTYPE html>", 0) == 0u);
  BOOST_TEST(html.find("</html>") != std::string::npos);
  for (const char* external : {"<script", "<link", "<img", "<iframe", "src=", "href=", "@import", "url(", "https://"})
    BOOST_TEST(html.find(external) == std::string::npos, "found " << external);
  // The only URL is the SVG namespace name, which is never fetched.
  BOOST_TEST(count(html, "http://") == count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  BOOST_TEST(count(html, "<svg ") == 2u);
  BOOST_TEST(html.find("<td>out-of-memory splits</td><td>1</td>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(svg_has_one_point_per_equity_point) {
  const auto r = sample_report(40);
  const auto html = render_html(r);
  const auto eq = parse_points(points_attr(html, "equity-line"));
  const auto dd = parse_points(points_attr(html, "drawdown-line"));
  BOOST_TEST(eq.size() == 40u);
  BOOST_TEST(dd.size() == 40u);
  // x grows with time, inside the plot; the highest equity is drawn highest (smallest y).
  for (std::size_t i = 1; i < eq.size(); ++i) BOOST_TEST(eq[i].x > eq[i - 1].x);
  std::size_t imax = 0, imin = 0;
  for (std::size_t i = 0; i < r.equity_curve.size(); ++i) {
    if (r.equity_curve[i].equity > r.equity_curve[imax].equity) imax = i;
    if (r.equity_curve[i].equity < r.equity_curve[imin].equity) imin = i;
  }
  for (const auto& p : eq) {
    BOOST_TEST(p.y >= eq[imax].y);
    BOOST_TEST(p.y <= eq[imin].y);
  }
  // Drawdown: 0 at the top line, the deepest point lowest.
  const auto ddv = drawdown_curve(r.equity_curve);
  std::size_t ideep = 0;
  for (std::size_t i = 0; i < ddv.size(); ++i)
    if (ddv[i].drawdown > ddv[ideep].drawdown) ideep = i;
  for (const auto& p : dd) BOOST_TEST(p.y <= dd[ideep].y);
  BOOST_TEST(dd[0].y < dd[ideep].y);
  // Min and max labelled with value and date; date axis labels from the first to the last day.
  BOOST_TEST(html.find("(" + utc_date(r.equity_curve[imax].time_s) + ")") != std::string::npos);
  BOOST_TEST(html.find("(" + utc_date(r.equity_curve[imin].time_s) + ")") != std::string::npos);
  BOOST_TEST(html.find(">max ") != std::string::npos);
  BOOST_TEST(html.find(">min ") != std::string::npos);
  BOOST_TEST(html.find(">" + utc_date(r.equity_curve.front().time_s) + "<") != std::string::npos);
  BOOST_TEST(html.find(">" + utc_date(r.equity_curve.back().time_s) + "<") != std::string::npos);
  BOOST_TEST(html.find(">time (UTC)<") != std::string::npos);
  // One point: still drawn (a dot), no division by a zero span.
  const auto one = render_html(sample_report(1));
  BOOST_TEST(parse_points(points_attr(one, "equity-line")).size() == 1u);
  BOOST_TEST(one.find("nan") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(long_curves_are_thinned_keeping_extremes) {
  auto r = sample_report(20000, 0);
  r.equity_curve[12345].equity = 50000;  // a deep trough, below every other point
  r.equity_curve[777].equity = 2e7;      // a spike, above every other point (the trend ends near 8.1e6)
  html_options o;
  o.max_chart_points = 1000;
  const auto html = render_html(r, o);
  const auto eq = parse_points(points_attr(html, "equity-line"));
  BOOST_TEST(eq.size() <= 1002u);
  BOOST_TEST(eq.size() >= 500u);
  double ymin = 1e9, ymax = -1e9;
  for (const auto& p : eq) ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
  // The spike and the trough survive: they set the top and bottom of the drawn line.
  const auto full = parse_points(points_attr(render_html(r, html_options{500, 100000}), "equity-line"));
  BOOST_REQUIRE(full.size() == 20000u);
  BOOST_TEST(ymin == full[777].y);
  BOOST_TEST(ymax == full[12345].y);
  BOOST_TEST(html.find("20000 points") != std::string::npos);
  BOOST_TEST(html.find("drawn from") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(long_trade_lists_are_capped_with_a_note) {
  const auto r = sample_report(10, 1200);
  const auto html = render_html(r);
  const auto table = html.substr(html.find("<table id=\"trades\">"));
  BOOST_TEST(count(table.substr(0, table.find("</table>")), "<tr>") == 501u);  // header + 500
  BOOST_TEST(html.find("Showing the first 500 of 1200 fills") != std::string::npos);
  const auto small = render_html(sample_report(10, 12));
  BOOST_TEST(small.find("Showing the first") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(html_tables_show_the_metrics) {
  const auto html = render_html(sample_report());
  BOOST_TEST(html.find("<td>Sharpe</td><td>1.310</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>win rate</td><td>54.00%</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>max drawdown</td><td>6.12%</td>") != std::string::npos);
  BOOST_TEST(html.find("&infin;") != std::string::npos);  // BTCUSD's profit factor
  BOOST_TEST(html.find(">entry_takeprofit<") != std::string::npos);
  BOOST_TEST(html.find("15 sent, 12 filled, 3 rejected") != std::string::npos);
  BOOST_TEST(html.find("100,000.00") != std::string::npos);
  BOOST_TEST(html.find("<td>cache hits</td><td>270</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>cache misses</td><td>30</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>hit rate</td><td>90.0 %</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>windows computed</td><td>30</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>forecasts stored</td><td>30</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>elapsed</td><td>12.50 s</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>inference</td><td>9.75 s</td>") != std::string::npos);
  BOOST_TEST(html.find("<td>cycles</td><td>41</td>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_is_deterministic) {
  const auto r = sample_report(300, 700);
  BOOST_TEST(render_html(r) == render_html(sample_report(300, 700)));
  BOOST_TEST(to_json(r).dump() == to_json(sample_report(300, 700)).dump());
  temp_dir a, b;
  BOOST_REQUIRE(write_report(r, a.path.string()));
  BOOST_REQUIRE(write_report(r, b.path.string()));
  BOOST_TEST(read_file(a.path / "report.json") == read_file(b.path / "report.json"));
  BOOST_TEST(read_file(a.path / "report.html") == read_file(b.path / "report.html"));
}

// ---------------------------------------------------------------------------------------------
// write_report

BOOST_AUTO_TEST_CASE(write_report_writes_both_files) {
  temp_dir t;
  const auto dir = t.path / "nested" / "run-1";  // created
  const auto r = sample_report();
  auto w = write_report(r, dir.string());
  BOOST_REQUIRE_MESSAGE(w, (w ? "" : w.error().message));
  BOOST_TEST(w->json == (dir / "report.json").string());
  BOOST_TEST(w->html == (dir / "report.html").string());
  auto back = report_from_json(json::parse(read_file(w->json)));
  BOOST_REQUIRE(back);
  BOOST_TEST(to_json(*back) == to_json(r));
  BOOST_TEST(read_file(w->html) == render_html(r));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    BOOST_TEST(e.path().filename().string().find(".tmp") == std::string::npos);
  }
  BOOST_TEST(files == 2u);  // no temporary files left behind
  BOOST_TEST(((fs::status(w->json).permissions() & fs::perms::others_read) != fs::perms::none));
  // Overwrites a previous report.
  auto r2 = sample_report(5, 1);
  BOOST_REQUIRE(write_report(r2, dir.string()));
  BOOST_TEST(json::parse(read_file(w->json))["equity_curve"].size() == 5u);
}

BOOST_AUTO_TEST_CASE(write_report_errors_name_the_path) {
  temp_dir t;
  const auto file = t.path / "a-file";
  std::ofstream(file) << "x";
  // A directory below a regular file can never be made, even by root.
  const auto bad_dir = (file / "report").string();
  auto w = write_report(sample_report(), bad_dir);
  BOOST_REQUIRE(!w);
  BOOST_TEST(w.error().code == tb::errc::io);
  BOOST_TEST(w.error().message.find(bad_dir) != std::string::npos, w.error().message);
  // The directory is a file.
  w = write_report(sample_report(), file.string());
  BOOST_REQUIRE(!w);
  BOOST_TEST(w.error().code == tb::errc::io);
  BOOST_TEST(w.error().message.find(file.string()) != std::string::npos, w.error().message);
  // report.json is a directory: the rename fails, naming it; no temporary file stays.
  const auto blocked = t.path / "blocked";
  fs::create_directories(blocked / "report.json" / "x");
  w = write_report(sample_report(), blocked.string());
  BOOST_REQUIRE(!w);
  BOOST_TEST(w.error().code == tb::errc::io);
  BOOST_TEST(w.error().message.find((blocked / "report.json").string()) != std::string::npos, w.error().message);
  for (const auto& e : fs::directory_iterator(blocked))
    BOOST_TEST(e.path().filename().string().find(".tmp") == std::string::npos);
  // A read-only directory (not for root, who writes anyway).
  if (::geteuid() != 0) {
    const auto ro = t.path / "ro";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    w = write_report(sample_report(), ro.string());
    fs::permissions(ro, fs::perms::owner_all);
    BOOST_REQUIRE(!w);
    BOOST_TEST(w.error().message.find(ro.string()) != std::string::npos, w.error().message);
  }
  // An invalid report writes nothing.
  auto bad = sample_report();
  bad.equity_curve[2].equity = std::numeric_limits<double>::quiet_NaN();
  const auto target = t.path / "never";
  w = write_report(bad, target.string());
  BOOST_REQUIRE(!w);
  BOOST_TEST(w.error().code == tb::errc::bad_data);
  BOOST_TEST(!fs::exists(target / "report.json"));
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium renders the chart (tests/support/chromium.hpp)

BOOST_AUTO_TEST_CASE(chromium_renders_the_charts) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    BOOST_TEST_MESSAGE("chromium is not installed (scripts/setup.sh installs it): skipping the rendering check");
    return;
  }
  temp_dir t;
  auto r = sample_report(120, 40);
  r.symbols[0].symbol = "<script>";
  auto w = write_report(r, (t.path / "report").string());
  BOOST_REQUIRE_MESSAGE(w, (w ? "" : w.error().message));
  const fs::path html = w->html;

  // The DOM Chromium built from the page: both polylines with every point, the escaped symbol as
  // text (no script element).
  const auto dom_file = t.path / "dom.html";
  int rc = run_chromium(chromium, t.path / "profile-dom", "--dump-dom --window-size=1200,900",
                        "file://" + html.string(), dom_file, t.path / "dom.log");
  BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --dump-dom exited " << rc << ": " << read_file(t.path / "dom.log"));
  const auto dom = read_file(dom_file);
  BOOST_TEST(dom.find("<polyline id=\"equity-line\"") != std::string::npos);
  BOOST_TEST(parse_points(points_attr(dom, "equity-line")).size() == 120u);
  BOOST_TEST(parse_points(points_attr(dom, "drawdown-line")).size() == 120u);
  BOOST_TEST(dom.find("<script") == std::string::npos);
  BOOST_TEST(dom.find("&lt;script&gt;") != std::string::npos);

  // The screenshot: a real picture, with the equity line's blue and the drawdown line's red drawn.
  const auto png_file = t.path / "shot.png";
  rc = run_chromium(chromium, t.path / "profile-shot",
                    "--screenshot=" + shell_quote(png_file.string()) + " --window-size=1200,900",
                    "file://" + html.string(), t.path / "shot.out", t.path / "shot.log");
  BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --screenshot exited " << rc << ": " << read_file(t.path / "shot.log"));
  BOOST_REQUIRE(fs::exists(png_file));
  BOOST_TEST(fs::file_size(png_file) > 20000u, "screenshot is only " << fs::file_size(png_file) << " bytes");
  const auto img = decode_png(read_file(png_file));
  BOOST_REQUIRE_MESSAGE(img.error.empty(), img.error);
  BOOST_TEST(img.width >= 1000u);
  BOOST_TEST(img.height >= 700u);
  std::set<std::uint32_t> colours;
  for (std::size_t i = 0; i + 2 < img.rgb.size(); i += 3)
    colours.insert((std::uint32_t(img.rgb[i]) << 16) | (std::uint32_t(img.rgb[i + 1]) << 8) | img.rgb[i + 2]);
  BOOST_TEST(colours.size() > 20u, "only " << colours.size() << " colours");
  const auto blue = pixels_near(img, 0x1f, 0x5f, 0xbf, 40);  // the equity line
  const auto red = pixels_near(img, 0xb4, 0x23, 0x18, 40);   // the drawdown line
  BOOST_TEST_MESSAGE("screenshot " << img.width << "x" << img.height << ", " << colours.size() << " colours, " << blue
                                   << " equity-blue and " << red << " drawdown-red pixels");
  BOOST_TEST(blue > 800u);
  BOOST_TEST(red > 400u);
  if (const char* keep = std::getenv("TRADEBOT_KEEP_SCREENSHOT"); keep && *keep)
    fs::copy_file(png_file, keep, fs::copy_options::overwrite_existing);
}

// ---------------------------------------------------------------------------------------------
// tradebot compare

namespace {

struct tool_result {
  int exit_code = 0;
  std::string out, err;
};

// Runs `tradebot compare ARGS...` as the tradebot main does: parse, and CLI::ParseError
// (RuntimeError included) becomes the exit code through app.exit.
tool_result run_tool(std::vector<std::string> args) {
  CLI::App app{"tradebot"};
  app.require_subcommand(1);
  tb::daemon::add_compare_commands(app);
  std::vector<const char*> argv{"tradebot"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  tool_result res;
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    res.exit_code = app.exit(e, out, err);
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  res.out = out.str();
  res.err = err.str();
  return res;
}

}  // namespace

BOOST_AUTO_TEST_CASE(compare_tool_verdicts_and_exit_codes) {
  temp_dir t;
  auto write = [&](const std::string& name, const backtest_report& r) {
    auto w = write_report(r, (t.path / name).string());
    BOOST_REQUIRE(w);
    return w->json;
  };
  const auto base = write("base", sample_report());
  auto warn_r = sample_report();
  warn_r.metrics.sharpe = 1.31 * 0.965;  // down 3.5%
  auto rollback_r = sample_report();
  rollback_r.metrics.win_rate = 0.54 - 0.06;  // down 6 points
  auto better_r = sample_report();
  better_r.metrics.sharpe = 1.8;

  auto ok = run_tool({"compare", base, write("better", better_r)});
  BOOST_TEST(ok.exit_code == 0);
  BOOST_TEST(ok.out.find("verdict: OK") != std::string::npos, ok.out);
  BOOST_TEST(ok.out.find("sharpe") != std::string::npos);
  BOOST_TEST(ok.out.find("AAPL sharpe") != std::string::npos);  // per-symbol rows
  BOOST_TEST(ok.out.find(base) != std::string::npos);           // names what it compared

  auto warn = run_tool({"compare", base, write("warn", warn_r)});
  BOOST_TEST(warn.exit_code == 0);
  BOOST_TEST(warn.out.find("verdict: WARN") != std::string::npos, warn.out);

  auto rb = run_tool({"compare", base, write("rollback", rollback_r)});
  BOOST_TEST(rb.exit_code == 1);
  BOOST_TEST(rb.out.find("verdict: ROLLBACK") != std::string::npos, rb.out);
  BOOST_TEST(rb.out.find("\n  ROLLBACK win_rate: 54.00% -> 48.00%, drop 6.0000 points (WARN over 1.5 points, "
                         "ROLLBACK over 3 points)\n") != std::string::npos,
             rb.out);

  // Thresholds from the command line: a 3.5% drop is a rollback at 3%, a 6-point one a warning at 10.
  auto strict =
      run_tool({"compare", "--rollback-sharpe-drop-pct", "3", base, (t.path / "warn" / "report.json").string()});
  BOOST_TEST(strict.exit_code == 1);
  auto lenient =
      run_tool({"compare", "--rollback-win-rate-drop", "10", base, (t.path / "rollback" / "report.json").string()});
  BOOST_TEST(lenient.exit_code == 0);
  BOOST_TEST(lenient.out.find("verdict: WARN") != std::string::npos, lenient.out);
  auto errors_r = sample_report();
  errors_r.inference.errors += 2;
  const auto errors = write("errors", errors_r);
  BOOST_TEST(run_tool({"compare", base, errors}).exit_code == 1);
  BOOST_TEST(run_tool({"compare", "--rollback-inference-errors-increase", "2", base, errors}).exit_code == 0);
  auto bad_params = run_tool({"compare", "--warn-sharpe-drop-pct", "20", base, base});
  BOOST_TEST(bad_params.exit_code == 2);
  BOOST_TEST(bad_params.err.find("warn") != std::string::npos, bad_params.err);
}

BOOST_AUTO_TEST_CASE(compare_tool_bad_input_exits_2_naming_the_file) {
  temp_dir t;
  auto w = write_report(sample_report(), (t.path / "base").string());
  BOOST_REQUIRE(w);
  const std::string base = w->json;
  auto file = [&](const std::string& name, const std::string& text) {
    const auto p = (t.path / name).string();
    std::ofstream(p) << text;
    return p;
  };
  const std::string missing = (t.path / "nope" / "report.json").string();
  const std::string not_json = file("broken.json", "{\"metrics\": {\"sharpe\": 1.0,");
  const std::string no_sharpe = file("nosharpe.json", R"({"metrics": {"win_rate": 0.5}})");
  const std::string bad_symbols = file("badsyms.json", R"({"metrics": {"sharpe": 1, "win_rate": 0.5}, "symbols": 3})");
  const std::string bad_cache =
      file("badcache.json", R"({"metrics": {"sharpe": 1, "win_rate": 0.5}, "cache": {"hits": 1}})");

  struct cas {
    std::vector<std::string> args;
    std::string names;
  };
  for (const auto& c : {cas{{"compare", missing, base}, missing}, cas{{"compare", base, missing}, missing},
                        cas{{"compare", base, not_json}, not_json}, cas{{"compare", not_json, base}, not_json},
                        cas{{"compare", base, no_sharpe}, no_sharpe}, cas{{"compare", bad_symbols, base}, bad_symbols},
                        cas{{"compare", base, bad_cache}, bad_cache}}) {
    auto res = run_tool(c.args);
    BOOST_TEST(res.exit_code == 2, c.args[1] << " vs " << c.args[2]);
    BOOST_TEST(res.err.find(c.names) != std::string::npos, res.err);
    BOOST_TEST(res.err.find("tradebot compare: ") == 0u, res.err);
    BOOST_TEST(res.out.empty());
  }
  auto no_sharpe_res = run_tool({"compare", base, no_sharpe});
  BOOST_TEST(no_sharpe_res.err.find("sharpe") != std::string::npos, no_sharpe_res.err);
  // A missing argument is a usage error from CLI11 (non-zero, not 1).
  auto usage = run_tool({"compare", base});
  BOOST_TEST(usage.exit_code != 0);
  BOOST_TEST(usage.exit_code != 1);
}
