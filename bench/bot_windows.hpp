#pragma once
// The trading bot's forecast requests, for the inference benchmarks: its sampling parameters (the
// config's [forecast] defaults, so the benchmarks follow the bot) and live windows of real daily
// bars from tests/data (TRADEBOT_TEST_DATA). Failures exit with one line on stderr.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/bar_csv.hpp"
#include "core/forecast.hpp"
#include "inference/model_service.hpp"

namespace tb::bench {

// The bot's sampling parameters (pred_len, max_context, T, top_k, top_p, clip) with `samples`
// samples per forecast.
inline core::sampling_params bot_params(int samples) {
  auto p = inference::service_options{}.sampling;
  p.sample_count = samples;
  return p;
}

// The bot's lookback (bars per window).
inline int bot_lookback() { return inference::service_options{}.lookback; }

// Symbol i's live window: the bot_lookback() bars ending i / 10 bars before the end of one of ten
// daily files (in turn), seed i. Each file is read once per process.
inline std::vector<core::forecast_window> bot_windows(int n, const core::sampling_params& p) {
  static const char* files[] = {"JD", "NIO", "PDD", "BIDU", "DKNG", "HIMS", "IBKR", "MSTR", "W", "XPO"};
  static std::map<std::string, std::vector<core::bar>> loaded;
  const auto lookback = static_cast<std::size_t>(bot_lookback());
  std::vector<core::forecast_window> out;
  for (int i = 0; i < n; ++i) {
    const std::string sym = files[i % 10];
    auto it = loaded.find(sym);
    if (it == loaded.end()) {
      auto series = core::load_bars_csv(std::string(TRADEBOT_TEST_DATA) + "/daily/" + sym + ".csv", sym);
      if (!series) {
        std::fprintf(stderr, "%s\n", series.error().message.c_str());
        std::exit(1);
      }
      it = loaded.emplace(sym, std::move(series->bars)).first;
    }
    const auto& bars = it->second;
    const auto end = bars.size() - static_cast<std::size_t>(i / 10);
    core::forecast_window w;
    w.symbol = sym;
    w.bars.assign(bars.begin() + static_cast<long>(end - lookback), bars.begin() + static_cast<long>(end));
    w.params = p;
    w.seed = static_cast<std::uint64_t>(i);
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace tb::bench
