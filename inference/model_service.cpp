#include "inference/model_service.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include <spdlog/spdlog.h>

#include "inference/cuda_graph.hpp"

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

// Windows of a full batch's largest stacked group at the configured shapes (at least one): the
// warm-up batch, and the most series a CUDA graph bucket holds.
std::size_t group_windows(const kronos_model& model, const service_options& options) {
  const auto rows_per_window = static_cast<std::size_t>(std::max(1, options.sampling.sample_count));
  const auto group_rows = model.max_group_rows();
  const auto warm_rows = group_rows > 0
                             ? std::min(options.batching.max_batch_rows, static_cast<std::size_t>(group_rows))
                             : options.batching.max_batch_rows;
  return std::max<std::size_t>(1, warm_rows / rows_per_window);
}

core::forecast_window warmup_window(const service_options& options) {
  core::forecast_window w;
  w.symbol = "WARMUP";
  w.bars = warmup_bars(options.lookback);
  w.params = options.sampling;
  return w;
}

// "compile": the CUDA graphs of `model` at the configured shapes (after its warm-up). Returns how
// many it replays. Where compile changes nothing (CPU, a LibTorch without CUDA, a mode without
// graphs) it says so once when `at_start`; a failed capture is logged and the model serves
// eagerly. Graphs are captured at start only, before the executors run: a capture while other
// threads run CUDA work can fail it and theirs (LibTorch captures in CUDA's global mode), so a
// reloaded model serves eagerly until the next start.
std::size_t compile_graphs(const kronos_model& model, const service_options& options, bool at_start) {
  if (!options.compile) return 0;
  const auto buckets = graph_buckets(options.compile_mode, static_cast<std::int64_t>(group_windows(model, options)));
  const std::string device = model.info().device;
  std::string idle;
  if (device == "cpu") {
    idle = "the model runs on the CPU";
  } else if (!cuda_graphs_built()) {
    idle = "this build has no CUDA graphs (the LibTorch it was built with has no CUDA)";
  } else if (!backend_captures_graphs(options.compile_backend)) {
    idle = "compile_backend '" + options.compile_backend + "' runs the model eagerly";
  } else if (buckets.empty()) {
    idle = "compile_mode '" + options.compile_mode + "' captures no CUDA graphs";
  }
  if (!idle.empty()) {
    if (at_start) {
      spdlog::warn(
          "inference: model.compile = true changes nothing here: {}; forecasts and the cache key are "
          "those of compile = false",
          idle);
    }
    return 0;
  }
  if (!at_start) {
    spdlog::warn(
        "inference: model.compile: CUDA graphs are captured at start only; the reloaded model serves "
        "without them (compile off in its cache key) until the next start");
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto captured = model.capture_graphs(warmup_window(options), buckets);
  if (!captured) {
    spdlog::warn("inference: model.compile: capturing CUDA graphs on {} failed, serving without them: {}", device,
                 captured.error().message);
    return 0;
  }
  std::string sizes;
  for (auto b : buckets) sizes += (sizes.empty() ? "" : ", ") + std::to_string(b);
  spdlog::info("inference: model.compile: {} CUDA graphs ({} series per group) captured on {} in {} ms", *captured,
               sizes, device,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  return *captured;
}

// The identity `model` serves as: compile = true changes the forecasts only where graphs replay.
core::model_identity serving_identity(const kronos_model& model, std::size_t graphs) {
  auto id = model.identity();
  id.compile = graphs > 0;
  return id;
}

}  // namespace

std::vector<std::int64_t> graph_buckets(const std::string& compile_mode, std::int64_t max_series) {
  std::vector<std::int64_t> out;
  if (max_series < 1) return out;
  if (compile_mode == "default" || compile_mode == "reduce-overhead") {
    out = {1, 4, max_series};
  } else if (compile_mode == "max-autotune") {
    for (std::int64_t b = 1; b < max_series; b *= 2) out.push_back(b);
    out.push_back(max_series);
  }
  out.erase(std::remove_if(out.begin(), out.end(), [&](std::int64_t b) { return b > max_series; }), out.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool backend_captures_graphs(const std::string& compile_backend) {
  return compile_backend == "inductor" || compile_backend == "cudagraphs";
}

tb::expected<kronos_model> load_checkpoint(const std::string& model_dir, const device_options& device) {
  const auto dir = std::filesystem::path(model_dir);
  return kronos_model::load((dir / "tokenizer").string(), (dir / "model").string(), device);
}

model_fn model_service::runner(std::shared_ptr<const kronos_model> model, core::model_identity identity,
                               std::shared_ptr<const std::atomic<bool>> cancel) {
  return [model, identity, cancel](const std::vector<core::forecast_window>& batch) -> tb::expected<model_run> {
    // On the executor's thread, hence on its own device stream (kronos_model::generate); the
    // host synchronisations and the copy time are measured there.
    generate_options opt;
    opt.cancel = cancel.get();
    generate_stats cost;
    auto forecasts = model->generate(batch, opt, &cost);
    if (!forecasts) return forecasts.error();
    model_run run;
    run.forecasts = std::move(*forecasts);
    run.host_syncs = cost.host_syncs;
    run.d2h = cost.d2h;
    run.model = identity;
    return run;
  };
}

model_service::model_service(service_options options, std::shared_ptr<const kronos_model> model,
                             std::chrono::milliseconds warmup, std::size_t graphs)
    : options_(std::move(options)),
      model_(model),
      graphs_(graphs),
      model_dir_(options_.model_dir),
      warmup_(warmup),
      batcher_(options_.batching, runner(model, serving_identity(*model, graphs), cancel_)) {}

model_service::~model_service() { stop(); }

tb::expected<std::shared_ptr<model_service>> model_service::start(const service_options& options) {
  auto loaded = load_checkpoint(options.model_dir, options.device);
  if (!loaded) return loaded.error();
  auto model = std::make_shared<const kronos_model>(std::move(*loaded));

  // Warm-up, before anyone is told we are ready: the largest computation a full batch at the
  // configured shapes leads to, i.e. one stacked group of it (generate() runs the groups of a
  // batch one after another): the whole batch on CUDA, one window on the CPU, where every series
  // runs alone and a full batch would only repeat the same computation.
  const auto rows_per_window = static_cast<std::size_t>(std::max(1, options.sampling.sample_count));
  const auto windows = group_windows(*model, options);
  std::vector<core::forecast_window> batch(windows, warmup_window(options));
  for (std::size_t i = 0; i < windows; ++i) batch[i].seed = i;
  const auto t0 = std::chrono::steady_clock::now();
  auto warm = model->generate(batch);
  if (!warm)
    return tb::error{warm.error().code, "warm-up of " + options.model_dir + " failed: " + warm.error().message};
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("inference: {} loaded on {}, warmed up with {} windows x {} samples in {} ms", options.model_dir,
               model->info().device, windows, rows_per_window, took.count());
  const std::size_t graphs = compile_graphs(*model, options, /*at_start=*/true);
  return std::shared_ptr<model_service>(new model_service(options, std::move(model), took, graphs));
}

std::optional<tb::error> model_service::submit(std::vector<batch_window> windows, done_fn done) {
  return batcher_.submit(std::move(windows), std::move(done));
}

tb::expected<core::model_identity> model_service::reload(const std::string& model_dir, const device_options& device) {
  auto loaded = load_checkpoint(model_dir, device);
  std::size_t graphs = 0;
  if (loaded) {
    service_options o = options_;
    o.device = device;
    graphs = compile_graphs(*loaded, o, /*at_start=*/false);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded) {
    last_reload_error_ = loaded.error().message;
    return loaded.error();
  }
  model_ = std::make_shared<const kronos_model>(std::move(*loaded));
  graphs_ = graphs;
  model_dir_ = model_dir;
  last_reload_error_.clear();
  batcher_.replace_model(runner(model_, serving_identity(*model_, graphs_), cancel_));
  return model_->identity();
}

core::model_identity model_service::identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return serving_identity(*model_, graphs_);
}

nlohmann::json model_service::stats() const {
  auto out = batcher_.stats();
  std::lock_guard<std::mutex> lock(mu_);
  const auto& info = model_->info();
  out["model"] = {{"dir", model_dir_},
                  {"predictor",
                   {{"d_model", info.predictor.d_model},
                    {"n_layers", info.predictor.n_layers},
                    {"n_heads", info.predictor.n_heads},
                    {"ff_dim", info.predictor.ff_dim}}},
                  {"parameters", info.tokenizer_params + info.predictor_params},
                  {"stored_dtype", info.stored_dtype},
                  {"dtype", model_->identity().dtype},
                  {"device", info.device},
                  {"compile", options_.compile},
                  {"compile_mode", options_.compile_mode},
                  {"compile_backend", options_.compile_backend},
                  {"cuda_graphs", graphs_},
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
  batcher_.stop();
}

}  // namespace tb::inference
