#pragma once
// Test support for tests that run the real model: a tiny random-weight checkpoint made once per
// test module, a config with small forecast shapes for it, and real daily bars from tests/data.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "actors/config.hpp"
#include "core/bar_csv.hpp"
#include "inference/kronos_init.hpp"
#include "tests/support/process.hpp"

namespace tb::test {

// The tiny preset's checkpoint pair (tokenizer/ + model/), written once per module.
inline const temp_dir& tiny_checkpoint() {
  static temp_dir dir;
  static bool written = [] {
    auto preset = inference::preset_by_name("tiny");
    return preset && inference::write_random_checkpoint(*preset, 7, dir.path.string());
  }();
  BOOST_REQUIRE(written);
  return dir;
}

// The tiny checkpoint with small forecast shapes (pred_len 2, lookback = max_context 32, 2
// samples, nucleus sampling) and small batches; `edit` adjusts it.
inline actors::config_ptr tiny_model_config(const std::function<void(actors::config&)>& edit = {}) {
  auto c = std::make_shared<actors::config>();
  c->inference.model_dir = tiny_checkpoint().path.string();
  c->inference.sampling.pred_len = 2;
  c->inference.lookback = 32;
  c->inference.sampling.max_context = 32;
  c->inference.sampling.sample_count = 2;
  c->inference.sampling.top_k = 0;
  c->inference.sampling.top_p = 0.9;
  c->inference.sampling.temperature = 1.0;
  c->inference.batching.max_batch_rows = 40;
  c->inference.device.cpu_threads = 2;
  if (edit) edit(*c);
  return c;
}

// A daily file of tests/data, loaded once.
inline const std::vector<core::bar>& daily_bars(const std::string& symbol) {
  static std::map<std::string, core::bar_series> loaded;
  auto it = loaded.find(symbol);
  if (it == loaded.end()) {
    auto series = core::load_bars_csv(std::string(TRADEBOT_TEST_DATA) + "/daily/" + symbol + ".csv", symbol);
    BOOST_REQUIRE_MESSAGE(series, (series ? "" : series.error().message));
    it = loaded.emplace(symbol, std::move(*series)).first;
  }
  return it->second.bars;
}

}  // namespace tb::test
