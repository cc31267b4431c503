#pragma once
// The model service: one loaded Kronos checkpoint and the dynamic batcher that feeds it.
// What the inference actor owns (and nothing of actors here).
//
// start() loads the checkpoint and warms it up at the configured shapes (the largest stacked group
// a full batch forms: the whole batch on CUDA, one window on the CPU, see
// kronos_model::max_group_rows), and with `compile` captures its CUDA graphs (graph_buckets; at
// start only, a reloaded model serves without them), before it returns, so the daemon reports
// READY only with a model that has run. reload()
// loads another checkpoint on the caller's thread while the old one keeps serving, then swaps
// it in between batches; a checkpoint that fails to load leaves the old one serving.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/forecast.hpp"
#include "inference/dynamic_batcher.hpp"
#include "inference/kronos_model.hpp"
#include "inference/options.hpp"

namespace tb::inference {

// The buckets (series per captured group) CUDA graphs are captured for, for `max_series` series
// per group at most (a full batch's stacked group): "default" and "reduce-overhead": 1, 4 and
// max_series; "max-autotune": every power of two below max_series, and max_series;
// "max-autotune-no-cudagraphs" (and anything else): none. Ascending, distinct, each <= max_series.
std::vector<std::int64_t> graph_buckets(const std::string& compile_mode, std::int64_t max_series);

// What torch.compile's backend names (KRONOS_COMPILE_BACKEND, model.compile_backend; the config
// admits only these) mean here: "inductor" (torch.compile's default) and "cudagraphs" capture the
// cached generation's CUDA graphs (graph_buckets); "eager" and "aot_eager" run the model eagerly,
// as compile = false does. False for any other name.
bool backend_captures_graphs(const std::string& compile_backend);

class model_service {
 public:
  // Blocks for the load and the warm-up. Errors name the checkpoint and what is wrong.
  static tb::expected<std::shared_ptr<model_service>> start(const service_options& options);
  ~model_service();

  // Thread-safe; see dynamic_batcher::submit.
  std::optional<tb::error> submit(std::vector<batch_window> windows, done_fn done);

  // Blocks for the load (call it off any event loop). On success the next batch uses the new
  // checkpoint; on failure nothing changes and the error is returned (and shown in health()).
  tb::expected<core::model_identity> reload(const std::string& model_dir, const device_options& device);

  // The identity of the model serving now (part of every forecast-cache key). Thread-safe.
  core::model_identity identity() const;

  // /stats → inference and /health → checks.model. Thread-safe.
  nlohmann::json stats() const;
  nlohmann::json health() const;

  // Stops now (a daemon stop must fit its deadline): new work is refused, queued windows are
  // answered errc::unavailable at once, a batch in flight stops before its next series (its
  // windows answered errc::unavailable), then the executors are joined. Idempotent.
  void stop();

 private:
  model_service(service_options options, std::shared_ptr<const kronos_model> model, std::chrono::milliseconds warmup,
                std::size_t graphs);
  // The batcher's model function over `model`, which serves as `identity` (model_run::model);
  // generate() gives up before its next series once `cancel` is set.
  static model_fn runner(std::shared_ptr<const kronos_model> model, core::model_identity identity,
                         std::shared_ptr<const std::atomic<bool>> cancel);

  service_options options_;
  mutable std::mutex mu_;  // guards model_, model_dir_, warmup_, graphs_, last_reload_error_
  std::shared_ptr<const kronos_model> model_;
  std::size_t graphs_ = 0;  // CUDA graphs model_ replays (compile in effect when > 0)
  std::string model_dir_;
  std::chrono::milliseconds warmup_;
  std::string last_reload_error_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);  // set by stop()
  dynamic_batcher batcher_;  // last: its executors use the members above
};

// Loads a checkpoint folder (DIR/tokenizer + DIR/model).
tb::expected<kronos_model> load_checkpoint(const std::string& model_dir, const device_options& device);

}  // namespace tb::inference
