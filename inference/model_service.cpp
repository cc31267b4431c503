#include "inference/model_service.hpp"

#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace tb::inference {
namespace {

// Bars for the warm-up batch: a smooth deterministic series with an intrabar range and volume,
// daily stamps. Only the shapes matter; the values must merely be valid.
std::vector<core::bar> warmup_bars(int n) {
  std::vector<core::bar> bars(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double c = 100.0 + 5.0 * std::sin(i * 0.1) + 0.05 * i;
    auto& b = bars[static_cast<std::size_t>(i)];
    b.time_s = 1704153600 + static_cast<std::int64_t>(i) * 86400;  // 2024-01-02, daily
    b.open = c - 0.3;
    b.close = c;
    b.high = c + 1.0;
    b.low = c - 1.3;
    b.volume = 1e6 + 1e4 * (i % 7);
    b.amount = b.volume * c;
  }
  return bars;
}

}  // namespace

tb::expected<kronos_model> load_checkpoint(const std::string& model_dir, const device_options& device) {
  const auto dir = std::filesystem::path(model_dir);
  return kronos_model::load((dir / "tokenizer").string(), (dir / "model").string(), device);
}

model_fn model_service::runner(std::shared_ptr<const kronos_model> model,
                               std::shared_ptr<const std::atomic<bool>> cancel) {
  return [model, cancel](const std::vector<core::forecast_window>& batch) -> tb::expected<model_run> {
    generate_options opt;
    opt.cancel = cancel.get();
    auto forecasts = model->generate(batch, opt);
    if (!forecasts) return forecasts.error();
    // Forecasts come back on the host: on the CPU nothing is copied; the CUDA path copies
    // once per call through pinned memory (kronos_model), i.e. one host synchronisation.
    model_run run;
    run.forecasts = std::move(*forecasts);
    run.host_syncs = model->info().device == "cpu" ? 0 : 1;
    return run;
  };
}

model_service::model_service(service_options options, std::shared_ptr<const kronos_model> model,
                             std::chrono::milliseconds warmup)
    : options_(std::move(options)),
      model_(model),
      model_dir_(options_.model_dir),
      warmup_(warmup),
      batcher_(options_.batching, runner(model, cancel_)) {}

model_service::~model_service() { stop(); }

tb::expected<std::shared_ptr<model_service>> model_service::start(const service_options& options) {
  auto loaded = load_checkpoint(options.model_dir, options.device);
  if (!loaded) return loaded.error();
  auto model = std::make_shared<const kronos_model>(std::move(*loaded));

  // Warm-up, before anyone is told we are ready: the largest computation a full batch at the
  // configured shapes leads to, i.e. one stacked group of it (generate() runs the groups of a
  // batch one after another): the whole batch on CUDA, one window on the CPU, where every series
  // runs alone and a full batch would only repeat the same computation.
  const auto rows_per_window = static_cast<std::size_t>(std::max(1, options.warmup_params.sample_count));
  const auto group_rows = model->max_group_rows();
  const auto warm_rows = group_rows > 0 ? std::min(options.batching.max_batch_rows, static_cast<std::size_t>(group_rows))
                                        : options.batching.max_batch_rows;
  const auto windows = std::max<std::size_t>(1, warm_rows / rows_per_window);
  std::vector<core::forecast_window> batch(windows);
  const auto bars = warmup_bars(options.warmup_lookback);
  for (std::size_t i = 0; i < windows; ++i) {
    batch[i].symbol = "WARMUP";
    batch[i].bars = bars;
    batch[i].params = options.warmup_params;
    batch[i].seed = i;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto warm = model->generate(batch);
  if (!warm) return tb::error{warm.error().code, "warm-up of " + options.model_dir + " failed: " + warm.error().message};
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("inference: {} loaded on {}, warmed up with {} windows x {} samples in {} ms", options.model_dir,
               model->info().device, windows, rows_per_window, took.count());
  return std::shared_ptr<model_service>(new model_service(options, std::move(model), took));
}

std::optional<tb::error> model_service::submit(std::vector<batch_window> windows, done_fn done) {
  return batcher_.submit(std::move(windows), std::move(done));
}

tb::expected<core::model_identity> model_service::reload(const std::string& model_dir, const device_options& device) {
  auto loaded = load_checkpoint(model_dir, device);
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded) {
    last_reload_error_ = loaded.error().message;
    return loaded.error();
  }
  model_ = std::make_shared<const kronos_model>(std::move(*loaded));
  model_dir_ = model_dir;
  last_reload_error_.clear();
  batcher_.replace_model(runner(model_, cancel_));
  return model_->identity();
}

core::model_identity model_service::identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto id = model_->identity();
  id.compile = options_.compile;
  return id;
}

nlohmann::json model_service::stats() const {
  auto out = batcher_.stats();
  std::lock_guard<std::mutex> lock(mu_);
  const auto& info = model_->info();
  out["model"] = {{"dir", model_dir_},
                  {"predictor", {{"d_model", info.predictor.d_model},
                                 {"n_layers", info.predictor.n_layers},
                                 {"n_heads", info.predictor.n_heads},
                                 {"ff_dim", info.predictor.ff_dim}}},
                  {"parameters", info.tokenizer_params + info.predictor_params},
                  {"stored_dtype", info.stored_dtype},
                  {"dtype", model_->identity().dtype},
                  {"device", info.device},
                  {"compile", options_.compile},
                  {"checkpoint_hash", model_->identity().checkpoint_hash},
                  {"warmup_ms", warmup_.count()}};
  return out;
}

nlohmann::json model_service::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json h = {{"loaded", true}, {"warmed", true}, {"device", model_->info().device}, {"dir", model_dir_}};
  if (!last_reload_error_.empty()) h["last_reload_error"] = last_reload_error_;
  return h;
}

void model_service::stop() {
  cancel_->store(true);
  batcher_.stop(std::chrono::milliseconds(0));
}

}  // namespace tb::inference
