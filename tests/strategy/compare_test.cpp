// compare(base, new): the OK / WARN / ROLLBACK boundaries, the table and malformed reports.
#define BOOST_TEST_MODULE strategy_compare
#include <boost/test/unit_test.hpp>

#include "strategy/compare.hpp"
#include "test_support.hpp"

using namespace tb::strategy;
using nlohmann::json;
namespace tt = boost::test_tools;

namespace {

json report(double sharpe, double win_rate) {
  return json{{"metrics", {{"sharpe", sharpe}, {"win_rate", win_rate}, {"total_return", 0.1}}}};
}

verdict v(double base_sharpe, double new_sharpe, double base_wr = 0.6, double new_wr = 0.6) {
  auto c = compare(report(base_sharpe, base_wr), report(new_sharpe, new_wr));
  BOOST_REQUIRE(c);
  return c->result;
}

// The verdict of a report whose metrics.`key` is `base` against one where it is `cand` (Sharpe
// and win rate equal).
verdict metric_v(const char* key, double base, double cand, const compare_params& p = {}) {
  json b = report(1, 0.6), n = report(1, 0.6);
  b["metrics"][key] = base;
  n["metrics"][key] = cand;
  auto c = compare(b, n, p);
  BOOST_REQUIRE(c);
  return c->result;
}

// Reports with `inference` {errors, oom_splits} and `cache` {hits, misses, hit_rate_percent}.
json with_figures(double errors, double oom_splits, double hits, double misses) {
  json r = report(1, 0.6);
  r["inference"] = {{"errors", errors}, {"oom_splits", oom_splits}};
  r["cache"] = {{"hits", hits},
                {"misses", misses},
                {"hit_rate_percent", hits + misses > 0 ? 100 * hits / (hits + misses) : 0.0},
                {"computed", misses},
                {"stored", misses}};
  return r;
}

verdict figures_v(const json& base, const json& cand) {
  auto c = compare(base, cand);
  BOOST_REQUIRE(c);
  return c->result;
}

const judgement* find(const comparison& c, const std::string& criterion) {
  for (const auto& j : c.judgements)
    if (j.criterion == criterion) return &j;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sharpe_boundaries) {
  BOOST_TEST(v(1.0, 1.0) == verdict::ok);
  BOOST_TEST(v(1.0, 1.3) == verdict::ok);    // better
  BOOST_TEST(v(1.0, 0.975) == verdict::ok);  // down exactly 2.5%: not more than 2.5%
  BOOST_TEST(v(1.0, 0.9749) == verdict::warn);
  BOOST_TEST(v(1.0, 0.95) == verdict::warn);  // down exactly 5%: the original bot's limit
  BOOST_TEST(v(1.0, 0.9499) == verdict::rollback);
  BOOST_TEST(v(2.0, 1.93) == verdict::warn);  // 3.5%
  // A negative base: down means more negative, relative to |base|.
  BOOST_TEST(v(-1.0, -1.06) == verdict::rollback);
  BOOST_TEST(v(-1.0, -1.03) == verdict::warn);
  BOOST_TEST(v(-1.0, -0.5) == verdict::ok);
  // A zero base: any negative Sharpe is a rollback, anything else is fine.
  BOOST_TEST(v(0.0, -0.01) == verdict::rollback);
  BOOST_TEST(v(0.0, 0.0) == verdict::ok);
  BOOST_TEST(v(0.0, 0.5) == verdict::ok);
}

BOOST_AUTO_TEST_CASE(win_rate_boundaries) {
  BOOST_TEST(v(1, 1, 0.60, 0.585) == verdict::ok);  // down exactly 1.5 points
  BOOST_TEST(v(1, 1, 0.60, 0.5849) == verdict::warn);
  BOOST_TEST(v(1, 1, 0.60, 0.57) == verdict::warn);  // exactly 3 points: the original bot's limit
  BOOST_TEST(v(1, 1, 0.60, 0.5699) == verdict::rollback);
  BOOST_TEST(v(1, 1, 0.60, 0.70) == verdict::ok);
  // Either criterion alone decides; the worse one wins.
  BOOST_TEST(v(1, 0.97, 0.60, 0.5) == verdict::rollback);
}

BOOST_AUTO_TEST_CASE(avg_return_band) {
  // Base 0.1% per bar: WARN over a 10% relative drop, ROLLBACK over 20%.
  BOOST_TEST(metric_v("avg_return", 0.001, 0.0012) == verdict::ok);  // up
  BOOST_TEST(metric_v("avg_return", 0.001, 0.0009) == verdict::ok);  // exactly 10%
  BOOST_TEST(metric_v("avg_return", 0.001, 0.000899) == verdict::warn);
  BOOST_TEST(metric_v("avg_return", 0.001, 0.0008) == verdict::warn);  // exactly 20%
  BOOST_TEST(metric_v("avg_return", 0.001, 0.000799) == verdict::rollback);
  // Near zero the absolute floor (0.01 points per bar) decides: a 100% relative drop of 0.005
  // points is noise, one of 0.0101 points is not.
  BOOST_TEST(metric_v("avg_return", 0.00005, 0.0) == verdict::ok);
  BOOST_TEST(metric_v("avg_return", 0.0001, 0.0) == verdict::ok);  // exactly the floor
  BOOST_TEST(metric_v("avg_return", 0.0, -0.000101) == verdict::rollback);
  BOOST_TEST(metric_v("avg_return", -0.001, -0.00115) == verdict::warn);  // 15% more negative
  compare_params p;
  p.avg_return_floor_points = 0;
  BOOST_TEST(metric_v("avg_return", 0.00005, 0.0, p) == verdict::rollback);
}

BOOST_AUTO_TEST_CASE(max_drawdown_band) {
  // Base 10%: WARN deeper by over 10% of it (1 point), ROLLBACK over 20% (2 points), and the
  // deepening must exceed the 1-point floor.
  BOOST_TEST(metric_v("max_drawdown", 0.10, 0.05) == verdict::ok);  // shallower
  BOOST_TEST(metric_v("max_drawdown", 0.10, 0.11) == verdict::ok);  // 10%, 1 point: neither over
  BOOST_TEST(metric_v("max_drawdown", 0.10, 0.1101) == verdict::warn);
  BOOST_TEST(metric_v("max_drawdown", 0.10, 0.12) == verdict::warn);  // exactly 20%
  BOOST_TEST(metric_v("max_drawdown", 0.10, 0.1201) == verdict::rollback);
  // Base 2%: 1.5 points deeper is 75% relatively and over the floor, so ROLLBACK;
  // 0.9 points deeper is 45% relatively and under the floor, so OK.
  BOOST_TEST(metric_v("max_drawdown", 0.02, 0.035) == verdict::rollback);
  BOOST_TEST(metric_v("max_drawdown", 0.02, 0.029) == verdict::ok);
  BOOST_TEST(metric_v("max_drawdown", 0.0, 0.0101) == verdict::rollback);  // from none at all
  BOOST_TEST(metric_v("max_drawdown", 0.0, 0.0) == verdict::ok);
}

BOOST_AUTO_TEST_CASE(inference_and_cache_figures) {
  const json base = with_figures(2, 3, 900, 100);  // 90% hit rate
  BOOST_TEST(figures_v(base, base) == verdict::ok);
  BOOST_TEST(figures_v(base, with_figures(1, 0, 900, 100)) == verdict::ok);        // fewer of both
  BOOST_TEST(figures_v(base, with_figures(3, 3, 900, 100)) == verdict::rollback);  // one more error
  BOOST_TEST(figures_v(base, with_figures(2, 4, 900, 100)) == verdict::warn);      // one more split
  BOOST_TEST(figures_v(base, with_figures(2, 3, 800, 200)) == verdict::ok);        // exactly 10 points
  BOOST_TEST(figures_v(base, with_figures(2, 3, 799, 201)) == verdict::warn);      // 10.1 points
  BOOST_TEST(figures_v(base, with_figures(2, 3, 0, 1000)) == verdict::warn);       // never ROLLBACK
  compare_params p;
  p.rollback_inference_errors_increase = 1;
  p.warn_oom_splits_increase = 1;
  p.warn_cache_hit_rate_drop_points = 100;
  auto lenient = compare(base, with_figures(3, 4, 0, 1000), p);
  BOOST_REQUIRE(lenient);
  BOOST_TEST(lenient->result == verdict::ok);
  // A report without lookups (cache off) or without inference figures: not judged, and said so.
  auto off = compare(base, with_figures(2, 3, 0, 0));
  BOOST_REQUIRE(off);
  BOOST_TEST(off->result == verdict::ok);
  BOOST_TEST(!find(*off, "cache_hit_rate"));
  BOOST_TEST(off->table.find("not judged: cache_hit_rate: the new report made no cache lookups") != std::string::npos);
  auto old = compare(report(1, 0.6), base);
  BOOST_REQUIRE(old);
  BOOST_TEST(!find(*old, "inference_errors"));
  BOOST_TEST(old->table.find("not judged: inference_errors, oom_splits: the base report has no") != std::string::npos);
  // Malformed figures are bad data naming the report and the field.
  json bad = base;
  bad["inference"]["oom_splits"] = -1;
  auto e = compare(base, bad);
  BOOST_REQUIRE(!e);
  BOOST_TEST(e.error().code == tb::errc::bad_data);
  BOOST_TEST(e.error().message == "new report: inference.oom_splits is missing or not a finite number >= 0");
  bad = base;
  bad["cache"] = 3;
  BOOST_TEST(!compare(bad, base));
}

BOOST_AUTO_TEST_CASE(numbers_reasons_table_exit_code) {
  auto c = compare(report(1.0, 0.6), report(0.85, 0.58));
  BOOST_REQUIRE(c);
  BOOST_TEST(c->result == verdict::rollback);
  BOOST_TEST(c->sharpe_drop_pct == 15.0, tt::tolerance(1e-9));
  BOOST_TEST(c->win_rate_drop_points == 2.0, tt::tolerance(1e-9));
  BOOST_REQUIRE(c->reasons.size() == 1u);  // the win rate is only a WARN
  // Each verdict line names the criterion, both values and the thresholds.
  BOOST_TEST(c->reasons[0] == "ROLLBACK sharpe: 1.0000 -> 0.8500, drop 15.0000% (WARN over 2.5%, ROLLBACK over 5%)");
  const auto* wr = find(*c, "win_rate");
  BOOST_REQUIRE(wr);
  BOOST_TEST(wr->result == verdict::warn);
  BOOST_TEST(wr->line ==
             "WARN     win_rate: 60.00% -> 58.00%, drop 2.0000 points (WARN over 1.5 points, ROLLBACK over 3 points)");
  const auto* dd = find(*c, "max_drawdown");
  BOOST_REQUIRE(dd);
  BOOST_TEST(dd->line.find("OK       max_drawdown: 0.00% -> 0.00%") == 0u);
  BOOST_TEST(c->table.find("sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("verdict: ROLLBACK\n  ROLLBACK sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("\n  WARN     win_rate") != std::string::npos);
  BOOST_TEST(c->table.find("\n  OK       avg_return") != std::string::npos);
  BOOST_TEST(exit_code(verdict::rollback) == 1);
  BOOST_TEST(exit_code(verdict::warn) == 0);
  BOOST_TEST(exit_code(verdict::ok) == 0);
  BOOST_TEST(std::string(to_string(verdict::warn)) == "WARN");
}

BOOST_AUTO_TEST_CASE(reads_full_reports_with_symbols) {
  metrics m;
  m.bars = 100;
  m.sharpe = 1.5;
  m.win_rate = 0.55;
  m.total_return = 0.2;
  m.profit_factor = std::numeric_limits<double>::infinity();
  json base{{"format", "tradebot-report"},
            {"version", 1},
            {"metrics", to_json(m)},
            {"symbols", json::array({{{"symbol", "AAPL"}, {"strategy", "maxdiff"}, {"metrics", to_json(m)}},
                                     {{"symbol", "BTCUSD"}, {"strategy", "simple"}, {"metrics", to_json(m)}}})},
            {"equity_curve", json::array()}};
  json cand = base;
  cand["metrics"]["sharpe"] = 1.47;  // -2%
  cand["symbols"] = json::array({{{"symbol", "AAPL"}, {"metrics", to_json(m)}}});
  auto c = compare_text(base.dump(), cand.dump());
  BOOST_REQUIRE(c);
  BOOST_TEST(c->result == verdict::ok);
  BOOST_TEST(c->base.bars == 100);
  BOOST_TEST(c->table.find("AAPL sharpe") != std::string::npos);
  BOOST_TEST(c->table.find("BTCUSD win_rate") != std::string::npos);
  BOOST_TEST(c->table.find("inf") != std::string::npos);  // profit factor without losses
}

BOOST_AUTO_TEST_CASE(malformed_reports) {
  auto no_metrics = compare(json::object(), report(1, 0.5));
  BOOST_REQUIRE(!no_metrics);
  BOOST_TEST(no_metrics.error().code == tb::errc::bad_data);
  BOOST_TEST(no_metrics.error().message.find("base") != std::string::npos);
  auto no_wr = compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}}}});
  BOOST_REQUIRE(!no_wr);
  BOOST_TEST(no_wr.error().message.find("new") != std::string::npos);
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", "1.0"}, {"win_rate", 0.5}}}}));
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}, {"win_rate", 0.5}, {"trades", "x"}}}}));
  BOOST_TEST(!compare(report(1, 0.5), json{{"metrics", {{"sharpe", 1.0}, {"win_rate", 0.5}}}, {"symbols", 3}}));
  compare_params bad;
  bad.warn_sharpe_drop_pct = 20;  // above the rollback threshold
  auto params = compare(report(1, 0.5), report(1, 0.5), bad);
  BOOST_REQUIRE(!params);
  BOOST_TEST(params.error().code == tb::errc::bad_config);
  bad = {};
  bad.warn_drawdown_increase_pct = 30;
  BOOST_TEST(!validate(bad));
  bad = {};
  bad.avg_return_floor_points = -1;
  BOOST_TEST(!validate(bad));
  auto text = compare_text("{", report(1, 0.5).dump());
  BOOST_REQUIRE(!text);
  BOOST_TEST(text.error().code == tb::errc::bad_data);
}
