#pragma once
// Forecast requests and answers as every layer sees them (inference/, cache/, actors/).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/bar.hpp"

namespace tb::core {

// Kronos sampling parameters of one series. Defaults are the reference's; the trading bot's
// seed values live in the config (pred_len 7, max_context 232, T 0.152, top_k 20, top_p 0.83,
// sample_count 192, clip 1.85).
struct sampling_params {
  int pred_len = 1;          // bars to forecast, 1..max_context
  int max_context = 512;     // tokens the predictor sees at once
  double temperature = 1.0;  // > 0
  int top_k = 0;             // 0 = off; > 0 keeps the k most likely tokens and ignores top_p
  double top_p = 0.9;        // nucleus mass in (0, 1]; 1 = off
  int sample_count = 1;      // forecasts averaged in normalised space
  double clip = 5.0;         // normalised inputs clipped to [-clip, clip]
};

// Row layout of a forecast: the six Kronos features.
enum feature : int { f_open = 0, f_high, f_low, f_close, f_volume, f_amount, n_features };
using feature_row = std::array<double, n_features>;

// One window to forecast: the bars the model reads (oldest first) and how to sample.
struct forecast_window {
  std::string symbol;
  std::vector<bar> bars;
  sampling_params params;
  std::uint64_t seed = 0;
};

// pred_len rows of open, high, low, close, volume, amount, de-normalised.
struct forecast {
  std::vector<feature_row> rows;
};

// The most one window may ask for: the config's bounds on the same keys (core/config.cpp uses
// these), so a window from another process may ask what a local config may, and no more.
struct window_limits {
  static constexpr int max_bars = 100000;         // forecast.lookback
  static constexpr int max_pred_len = 512;        // forecast.pred_len
  static constexpr int max_context = 8192;        // forecast.max_context
  static constexpr int max_sample_count = 4096;   // forecast.sample_count
  static constexpr int max_top_k = 1 << 20;       // forecast.top_k
  static constexpr double max_temperature = 100;  // forecast.temperature
  static constexpr double max_clip = 1000;        // forecast.clip
  static constexpr std::size_t max_symbol_chars = 64;
};

// What is wrong with a window, in words ("" when nothing): no bars, a size or parameter outside
// window_limits and the model's contract (1 <= pred_len <= max_context, T > 0, top_p in (0, 1],
// sample_count >= 1, clip > 0), a NaN or infinite value. Pure; the model checks it before any
// work and the inference actor before queuing.
std::string window_problem(const forecast_window& w);

// What is wrong with a forecast answering a window with these parameters ("" when nothing):
// a row count other than pred_len, or a NaN or infinite value. Pure; the cache actor checks every
// computed answer (from this process or another) before storing or delivering it.
std::string forecast_problem(const forecast& f, const sampling_params& asked);

// How far `a` is from `reference`, per feature: max |a - ref| over max |ref| in each of the six
// columns, the worst column counts (so volume's scale cannot hide an error in the prices).
// +infinity when the row counts differ.
double relative_difference(const forecast& a, const forecast& reference);

// What identifies the model that made a forecast (part of every cache key).
struct model_identity {
  std::string checkpoint_hash;  // content hash of tokenizer + predictor files
  std::string dtype;            // float32 | bfloat16 | float16
  bool compile = false;
};

// Two identities name the same forecasts (every field is part of a cache key).
inline bool same_model(const model_identity& a, const model_identity& b) {
  return a.checkpoint_hash == b.checkpoint_hash && a.dtype == b.dtype && a.compile == b.compile;
}

}  // namespace tb::core
