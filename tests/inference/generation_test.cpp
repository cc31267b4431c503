// Generation: cached (ours) against the plain port with random sampling, determinism, seed
// sensitivity, batch independence, the sampling filters, argument checks, future stamps.
#define BOOST_TEST_MODULE generation
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>

#include "core/bar_csv.hpp"
#include "inference/bar_calendar.hpp"
#include "inference/kronos_model.hpp"

namespace tbi = tb::inference;
using tb::core::forecast_window;

namespace {

const std::string data_dir = TRADEBOT_TEST_DATA;
const std::string fixture = data_dir + "/kronos-parity";

const tbi::kronos_model& model() {
  static const tbi::kronos_model* m = [] {
    tbi::device_options o;
    o.cpu_threads = 1;
    auto r = tbi::kronos_model::load(fixture + "/tokenizer", fixture + "/model", o);
    if (!r) BOOST_FAIL(r.error().message);
    return new tbi::kronos_model(*r);
  }();
  return *m;
}

// The bars of tests/data/FILE, loaded once.
const std::vector<tb::core::bar>& bars_of(const std::string& file) {
  static std::map<std::string, std::vector<tb::core::bar>> loaded;
  auto it = loaded.find(file);
  if (it == loaded.end()) {
    auto s = tb::core::load_bars_csv(data_dir + "/" + file);
    BOOST_TEST_REQUIRE(s.has_value());
    it = loaded.emplace(file, std::move(s->bars)).first;
  }
  return it->second;
}

const std::vector<tb::core::bar>& intraday() { return bars_of("intraday/XSHG_600977_5min.csv"); }
const std::vector<tb::core::bar>& daily() { return bars_of("daily/NIO.csv"); }

forecast_window window(const std::vector<tb::core::bar>& all, int a, int b, int pred_len, int ctx, int samples,
                       std::uint64_t seed) {
  forecast_window w;
  w.symbol = "s" + std::to_string(a);
  w.bars.assign(all.begin() + a, all.begin() + b);
  w.params.pred_len = pred_len;
  w.params.max_context = ctx;
  w.params.sample_count = samples;
  w.params.temperature = 1.0;
  w.params.top_k = 0;
  w.params.top_p = 0.9;
  w.params.clip = 5;
  w.seed = seed;
  return w;
}

std::vector<tb::core::forecast> run(const std::vector<forecast_window>& batch,
                                    tbi::generation_mode mode = tbi::generation_mode::cached) {
  tbi::generate_options o;
  o.mode = mode;
  auto r = model().generate(batch, o);
  if (!r) BOOST_FAIL(r.error().message);
  return *r;
}

}  // namespace

// The same draws go through both paths, so sampled (not only greedy) forecasts agree.
BOOST_AUTO_TEST_CASE(cached_equals_plain_when_sampling) {
  struct shape {
    int a, b, pred_len, ctx, samples;
    int top_k;
    double top_p, temperature;
  };
  const shape shapes[] = {
      {100, 140, 8, 64, 6, 0, 0.9, 1.0},    // fits the context (KV cache all along)
      {300, 364, 8, 64, 5, 5, 1.0, 0.7},    // slides from the second step
      {400, 500, 6, 48, 4, 0, 0.6, 1.3},    // history longer than the context
      {10, 70, 5, 64, 3, 20, 0.83, 0.152},  // fits, then slides mid-way
      {700, 705, 5, 5, 3, 0, 1.0, 1.0},     // pred_len == max_context
      {900, 903, 1, 1, 2, 0, 0.9, 1.0},     // a window of one token
  };
  for (const auto& s : shapes) {
    auto w = window(intraday(), s.a, s.b, s.pred_len, s.ctx, s.samples, 1000 + s.a);
    w.params.top_k = s.top_k;
    w.params.top_p = s.top_p;
    w.params.temperature = s.temperature;
    const auto ours = run({w});
    const auto plain = run({w}, tbi::generation_mode::plain);
    const double e = tb::core::relative_difference(ours[0], plain[0]);
    BOOST_TEST(e < 1e-4, "rows " << s.a << ":" << s.b << " ctx " << s.ctx << " rel error " << e);
  }
}

BOOST_AUTO_TEST_CASE(deterministic_for_a_seed) {
  const auto w = window(intraday(), 200, 260, 6, 64, 8, 42);
  const auto a = run({w});
  const auto b = run({w});
  BOOST_TEST(tb::core::relative_difference(a[0], b[0]) == 0.0);
}

BOOST_AUTO_TEST_CASE(seed_changes_samples) {
  auto w = window(intraday(), 200, 260, 6, 64, 1, 1);
  const auto a = run({w});
  int different = 0;
  for (std::uint64_t seed = 2; seed < 6; ++seed) {
    w.seed = seed;
    if (tb::core::relative_difference(run({w})[0], a[0]) > 1e-3) ++different;
  }
  BOOST_TEST(different >= 3);
}

BOOST_AUTO_TEST_CASE(same_output_whatever_else_is_in_the_batch) {
  const auto target = window(intraday(), 1000, 1050, 5, 40, 7, 99);
  const auto alone = run({target});
  auto other1 = window(daily(), 0, 300, 3, 64, 4, 5);
  other1.params.top_k = 3;
  auto other2 = window(intraday(), 10, 20, 2, 16, 12, 99);
  other2.params.temperature = 0.5;
  const auto batch = run({other1, target, other2, target});
  BOOST_TEST(tb::core::relative_difference(batch[1], alone[0]) < 1e-6);
  BOOST_TEST(tb::core::relative_difference(batch[3], alone[0]) < 1e-6);
  BOOST_TEST(batch[0].rows.size() == 3u);
  BOOST_TEST(batch[2].rows.size() == 2u);
}

// Stacked generation: series of a call that share history length, pred_len and max_context run
// as one computation (rows = series x samples); the others in their own groups. Each series must
// come out as it does alone, whatever its neighbours' lengths, pred_len, sample counts and
// sampling parameters, in every window regime (fits, slides from the start, slides mid-way,
// history longer than the context).
BOOST_AUTO_TEST_CASE(stacked_series_equal_their_solo_runs) {
  struct spec {
    const std::vector<tb::core::bar>* bars;
    int a, b, pred_len, ctx, samples, top_k;
    double top_p, temperature, clip;
  };
  const auto& x = intraday();
  const auto& d = daily();
  const spec specs[] = {
      // Group A: 60 bars, pred_len 6, context 64 (fits, then slides mid-way); mixed S and params.
      {&x, 100, 160, 6, 64, 9, 0, 0.9, 1.0, 5},
      {&d, 200, 260, 6, 64, 4, 5, 1.0, 0.7, 2},
      {&x, 500, 560, 6, 64, 16, 20, 0.83, 0.152, 1.85},
      {&x, 900, 960, 6, 64, 1, 0, 0.5, 1.3, 5},
      // Group B: history longer than the context (slides from the start).
      {&x, 1200, 1300, 4, 48, 7, 0, 0.95, 0.8, 5},
      {&d, 50, 150, 4, 48, 12, 3, 1.0, 1.0, 3},
      // Alone by shape: different length, pred_len, context.
      {&x, 40, 75, 3, 40, 5, 0, 0.7, 1.1, 5},
      {&d, 600, 605, 5, 5, 3, 0, 1.0, 1.0, 5},
      // Group A again, later in the batch (grouped with the first four).
      {&x, 2000, 2060, 6, 64, 11, 2, 1.0, 0.5, 4},
  };
  std::vector<forecast_window> batch;
  for (const auto& sp : specs) {
    auto w = window(*sp.bars, sp.a, sp.b, sp.pred_len, sp.ctx, sp.samples, 7000 + static_cast<std::uint64_t>(sp.a));
    w.params.top_k = sp.top_k;
    w.params.top_p = sp.top_p;
    w.params.temperature = sp.temperature;
    w.params.clip = sp.clip;
    batch.push_back(w);
  }
  const auto stacked = run(batch);
  tbi::generate_options one_by_one;
  one_by_one.max_group_rows = 1;  // every series alone, inside one call
  auto separate = model().generate(batch, one_by_one);
  BOOST_TEST_REQUIRE(separate.has_value());
  tbi::generate_options small_groups;
  small_groups.max_group_rows = 20;  // groups split by rows
  auto split = model().generate(batch, small_groups);
  BOOST_TEST_REQUIRE(split.has_value());
  BOOST_TEST_REQUIRE(stacked.size() == batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto solo = run({batch[i]});
    BOOST_TEST_REQUIRE(stacked[i].rows.size() == static_cast<std::size_t>(batch[i].params.pred_len));
    BOOST_TEST(tb::core::relative_difference(stacked[i], solo[0]) < 1e-5,
               "series " << i << " stacked vs solo " << tb::core::relative_difference(stacked[i], solo[0]));
    BOOST_TEST(tb::core::relative_difference((*separate)[i], solo[0]) < 1e-5, "series " << i);
    BOOST_TEST(tb::core::relative_difference((*split)[i], solo[0]) < 1e-5, "series " << i);
    // Stacking must not swap series: every forecast differs from its neighbour's.
    if (i > 0 && stacked[i].rows.size() == stacked[i - 1].rows.size()) {
      BOOST_TEST(tb::core::relative_difference(stacked[i], stacked[i - 1]) > 1e-3);
    }
  }
  // The stacked group agrees with the plain port too (same draws), for a sampled series.
  const auto plain = run({batch[2]}, tbi::generation_mode::plain);
  BOOST_TEST(tb::core::relative_difference(stacked[2], plain[0]) < 1e-4);
}

BOOST_AUTO_TEST_CASE(forecast_is_denormalised) {
  auto w = window(daily(), 500, 700, 4, 128, 16, 3);
  const auto f = run({w})[0];
  double lo = 1e300, hi = -1e300;
  for (const auto& b : w.bars) {
    lo = std::min(lo, b.low);
    hi = std::max(hi, b.high);
  }
  const double span = hi - lo;
  for (const auto& r : f.rows) {
    // Normalised outputs are clipped-scale numbers; de-normalised closes live near the prices.
    BOOST_TEST(r[tb::core::f_close] > lo - 10 * span);
    BOOST_TEST(r[tb::core::f_close] < hi + 10 * span);
  }
  // The bounds above hold for normalised numbers too (lo - 10 span < 0 here). What tells the two
  // apart: prices scaled by 1024 (exact in float) leave the normalised inputs as they were (but
  // for the 1e-5 added to the std), so a de-normalised forecast's prices scale by 1024 and a
  // normalised one's would not.
  auto scaled = w;
  for (auto& b : scaled.bars) {
    b.open *= 1024;
    b.high *= 1024;
    b.low *= 1024;
    b.close *= 1024;
  }
  const auto g = run({scaled})[0];
  BOOST_TEST_REQUIRE(g.rows.size() == f.rows.size());
  for (std::size_t i = 0; i < f.rows.size(); ++i) {
    for (int k = tb::core::f_open; k <= tb::core::f_close; ++k) {
      const double a = f.rows[i][static_cast<std::size_t>(k)], b = g.rows[i][static_cast<std::size_t>(k)] / 1024;
      BOOST_TEST(std::abs(b - a) < 1e-3 * span,
                 "row " << i << " feature " << k << ": " << a << " vs scaled / 1024 " << b);
    }
  }
}

BOOST_AUTO_TEST_CASE(sampling_filters) {
  // Logits with one clear favourite.
  std::vector<float> l = {0.f, 5.f, 1.f, 2.f, 3.f, -1.f, 4.f, 0.5f};
  // top_k > 0 ignores top_p: with top_p tiny, top_k = 3 still keeps three tokens.
  auto d = tbi::sampling_distribution({l}, 1.0, 3, 0.01);
  BOOST_TEST_REQUIRE(d.has_value());
  int kept = 0;
  for (float p : (*d)[0]) kept += p > 0;
  BOOST_TEST(kept == 3);
  BOOST_TEST((*d)[0][1] > 0);
  BOOST_TEST((*d)[0][6] > 0);
  BOOST_TEST((*d)[0][4] > 0);
  // Nucleus with a tiny top_p keeps the most likely token alone.
  d = tbi::sampling_distribution({l}, 1.0, 0, 1e-6);
  BOOST_TEST_REQUIRE(d.has_value());
  BOOST_TEST((*d)[0][1] == 1.0f);
  // Nucleus keeps tokens until their mass reaches top_p: softmax masses here are about
  // 0.63, 0.23, 0.086, ... so 0.8 keeps two and 0.9 keeps three.
  d = tbi::sampling_distribution({l}, 1.0, 0, 0.8);
  kept = 0;
  for (float p : (*d)[0]) kept += p > 0;
  BOOST_TEST(kept == 2);
  d = tbi::sampling_distribution({l}, 1.0, 0, 0.9);
  kept = 0;
  for (float p : (*d)[0]) kept += p > 0;
  BOOST_TEST(kept == 3);
  // top_p = 1 and top_k = 0: nothing removed; temperature sharpens.
  d = tbi::sampling_distribution({l}, 1.0, 0, 1.0);
  for (float p : (*d)[0]) BOOST_TEST(p > 0);
  auto sharp = tbi::sampling_distribution({l}, 0.2, 0, 1.0);
  BOOST_TEST((*sharp)[0][1] > (*d)[0][1]);
  // Draws follow the distribution and never pick a removed token.
  std::vector<std::vector<float>> rows(2000, l);
  std::vector<float> u(2000);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = (static_cast<float>(i) + 0.5f) / 2000.f;
  auto t = tbi::sample_from_logits(rows, 1.0, 3, 0.5, u);
  BOOST_TEST_REQUIRE(t.has_value());
  std::map<std::int64_t, int> count;
  for (auto x : *t) ++count[x];
  BOOST_TEST(count.size() == 3u);
  const auto probs = *tbi::sampling_distribution({l}, 1.0, 3, 0.5);
  for (auto [tok, c] : count) BOOST_TEST(std::abs(c / 2000.0 - probs[0][static_cast<std::size_t>(tok)]) < 0.01);
  // u = 0 picks the most likely token; u -> 1 the least likely kept one.
  auto edge = tbi::sample_from_logits({l, l}, 1.0, 3, 1.0, {0.0f, 0.99999994f});
  BOOST_TEST((*edge)[0] == 1);
  BOOST_TEST((*edge)[1] == 4);
  BOOST_TEST(!tbi::sampling_distribution({l}, 0.0, 0, 1.0).has_value());
  BOOST_TEST(!tbi::sampling_distribution({l}, 1.0, 0, 0.0).has_value());
}

BOOST_AUTO_TEST_CASE(greedy_ignores_draws) {
  auto w = window(intraday(), 300, 340, 4, 64, 3, 1);
  w.params.top_k = 1;
  const auto a = run({w});
  w.seed = 777;
  const auto b = run({w});
  BOOST_TEST(tb::core::relative_difference(a[0], b[0]) == 0.0);
}

BOOST_AUTO_TEST_CASE(arguments_are_checked) {
  const auto good = window(intraday(), 0, 50, 4, 64, 2, 1);
  struct bad_case {
    const char* what;
    void (*edit)(forecast_window&);
  };
  const bad_case cases[] = {
      {"no bars", [](forecast_window& w) { w.bars.clear(); }},
      {"pred_len", [](forecast_window& w) { w.params.pred_len = 0; }},
      {"pred_len", [](forecast_window& w) { w.params.pred_len = 65; }},
      {"temperature", [](forecast_window& w) { w.params.temperature = 0; }},
      {"top_p", [](forecast_window& w) { w.params.top_p = 1.5; }},
      {"top_k", [](forecast_window& w) { w.params.top_k = -1; }},
      {"sample_count", [](forecast_window& w) { w.params.sample_count = 0; }},
      {"clip", [](forecast_window& w) { w.params.clip = 0; }},
      {"NaN", [](forecast_window& w) { w.bars[3].close = std::nan(""); }},
  };
  for (const auto& c : cases) {
    auto w = good;
    w.symbol = "BAD";
    c.edit(w);
    auto r = model().generate({good, w});
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().code == tb::errc::invalid_argument));
    BOOST_TEST(r.error().message.find("series 1 (BAD)") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find(c.what) != std::string::npos, r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(a_set_cancel_flag_stops_generate_before_the_next_series) {
  // The flag is read before every series (CPU: every series is its own group) in both modes; a
  // clear flag changes nothing.
  const std::vector<forecast_window> batch = {window(intraday(), 0, 50, 4, 64, 2, 1),
                                              window(intraday(), 10, 60, 4, 64, 2, 2)};
  std::atomic<bool> cancel{false};
  tbi::generate_options opt;
  opt.cancel = &cancel;
  auto ok = model().generate(batch, opt);
  BOOST_TEST_REQUIRE(ok.has_value());
  auto plain = model().generate(batch);
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(tb::core::relative_difference((*ok)[1], (*plain)[1]) == 0.0);
  cancel = true;
  for (auto mode : {tbi::generation_mode::cached, tbi::generation_mode::plain}) {
    opt.mode = mode;
    auto r = model().generate(batch, opt);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().code == tb::errc::unavailable));
    BOOST_TEST(r.error().message.find("cancelled before series 0 (s0)") != std::string::npos, r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(future_stamps_follow_the_calendar) {
  // Daily equities: Friday 2026-03-13 is followed by Monday 16, Tuesday 17 ...
  const auto& d = daily();
  std::vector<tb::core::bar> hist;
  for (const auto& b : d) {
    hist.push_back(b);
    if (tb::core::stamp_of(b).day == 13 && tb::core::stamp_of(b).month == 3 && b.time_s > 1767225600)
      break;  // 2026-03-13, a Friday
  }
  auto next = tbi::future_stamps(hist, 3);
  BOOST_TEST_REQUIRE(next.size() == 3u);
  BOOST_TEST(next[0].day == 16);
  BOOST_TEST(next[0].weekday == 0);
  BOOST_TEST(next[1].day == 17);
  // 5-minute bars of Shanghai: the bar after 11:30 is 13:05; after 15:00 the next day's 09:35.
  const auto& x = intraday();
  for (std::size_t i = 100; i < 400; ++i) {
    std::vector<tb::core::bar> h(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(i));
    const auto f = tbi::future_bar_times(h, 1);
    if (x[i].time_s - x[i - 1].time_s < 4 * 86400) {  // no holiday between
      BOOST_TEST(f[0].time_s == x[i].time_s, "after row " << i - 1);
    }
  }
  // Crypto trades on weekends: the day after Friday is Saturday.
  std::vector<tb::core::bar> sh;
  for (const auto& b : bars_of("daily/SUIUSD.csv")) {
    sh.push_back(b);
    if (tb::core::stamp_of(b).weekday == 4 && sh.size() > 30) break;
  }
  BOOST_TEST(tbi::future_stamps(sh, 1)[0].weekday == 5);
}
