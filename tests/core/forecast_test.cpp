// core::window_problem and core::forecast_problem: what the inference actor refuses before
// queuing a window (from this process or another), and what the cache actor refuses in an answer.
#define BOOST_TEST_MODULE forecast_checks
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include "core/forecast.hpp"

using namespace tb::core;

namespace {

forecast_window good_window(std::size_t bars = 32) {
  forecast_window w;
  w.symbol = "JD";
  w.bars.resize(bars);
  for (std::size_t i = 0; i < bars; ++i)
    w.bars[i] = {static_cast<std::int64_t>(i) * 86400, 0, 10, 11, 9, 10.5, 1e6, 1e7};
  w.params.pred_len = 2;
  w.params.max_context = 32;
  w.params.sample_count = 2;
  return w;
}

bool says(const std::string& problem, const std::string& words) { return problem.find(words) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_good_window_passes_and_each_bad_one_is_named) {
  BOOST_TEST(window_problem(good_window()).empty());
  auto w = good_window(window_limits::max_bars + 1);
  BOOST_TEST(says(window_problem(w), "100001 bars (at most 100000)"));
  w = good_window();
  w.bars[5].close = std::nan("");
  BOOST_TEST(says(window_problem(w), "bar 5 holds NaN or infinity"));
  w = good_window();
  w.bars[0].volume = std::numeric_limits<double>::infinity();
  BOOST_TEST(says(window_problem(w), "bar 0 holds NaN or infinity"));
  w = good_window();
  w.params.sample_count = 0;
  BOOST_TEST(says(window_problem(w), "sample_count 0 outside 1..4096"));
  w.params.sample_count = 4097;
  BOOST_TEST(says(window_problem(w), "sample_count 4097 outside 1..4096"));
  w = good_window();
  w.params.pred_len = 33;
  BOOST_TEST(says(window_problem(w), "pred_len 33 outside"));
  w = good_window();
  w.params.max_context = 8193;
  BOOST_TEST(says(window_problem(w), "max_context 8193 outside 1..8192"));
  w = good_window();
  w.params.temperature = std::nan("");
  BOOST_TEST(says(window_problem(w), "temperature"));
  w = good_window();
  w.params.top_p = 0;
  BOOST_TEST(says(window_problem(w), "top_p"));
  w = good_window();
  w.symbol.assign(65, 'A');
  BOOST_TEST(says(window_problem(w), "symbol of 65 characters"));
  BOOST_TEST(says(window_problem(good_window(0)), "no bars"));
}

BOOST_AUTO_TEST_CASE(a_forecast_must_have_pred_len_finite_rows) {
  sampling_params p;
  p.pred_len = 2;
  forecast f;
  f.rows.assign(2, feature_row{1, 2, 0.5, 1.5, 10, 20});
  BOOST_TEST(forecast_problem(f, p).empty());
  f.rows.push_back(feature_row{1, 2, 0.5, 1.5, 10, 20});
  BOOST_TEST(says(forecast_problem(f, p), "3 rows for pred_len 2"));
  f.rows.resize(2);
  f.rows[1][3] = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(says(forecast_problem(f, p), "row 1 holds NaN or infinity"));
  f.rows.clear();
  BOOST_TEST(says(forecast_problem(f, p), "0 rows for pred_len 2"));
}
