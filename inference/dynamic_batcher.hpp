#pragma once
// The dynamic batcher: forms batches of forecast windows from many requesters, the way Triton's
// DynamicBatchScheduler does, and runs them on executor threads it owns (never a caller's).
//
// - A batch holds at most `max_batch_rows` rows (a window's rows = its sample_count), and at
//   least one window (a window larger than the cap runs alone).
// - A batch starts when the queue holds a preferred size (or the cap), or when its oldest
//   window has waited `max_queue_delay`, whichever comes first.
// - Live windows go before walk-forward backfill; a backfill window older than
//   `backfill_max_wait` counts as live, so backfill never starves. Within a class, FIFO: no
//   symbol starves another.
// - The queue is bounded (`max_queue_rows`): a submission that does not fit is refused at once
//   with errc::overloaded. A window past its deadline is answered errc::timeout, never computed.
// - Out of memory: the batch is split in halves and retried, and the lower cap is remembered;
//   a single window that does not fit fails with errc::out_of_memory. sample_count is never
//   lowered. Any other failure of a multi-window batch re-runs its windows one by one, so one
//   bad window fails alone.
// - A forecast holding a NaN or inf is not handed out: its window fails (errc::internal naming
//   the window's index in its request and its symbol); the batch's other windows are answered.
// - The model can be replaced at any time; the change takes effect between batches. Each
//   submission is told which model computed its forecasts (completion::model).
//
// Knows nothing of actors: completion is a callback, run on an executor thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/forecast.hpp"
#include "core/latency_histogram.hpp"
#include "inference/priority.hpp"

namespace tb::inference {

using steady = std::chrono::steady_clock;

struct batch_window {
  core::forecast_window window;
  priority prio = priority::live;
  steady::time_point deadline = steady::time_point::max();
};

// What one model call returns: forecasts in batch order, plus what it cost the host.
struct model_run {
  std::vector<core::forecast> forecasts;
  std::uint64_t host_syncs = 0;     // device->host synchronisations in the call
  std::chrono::nanoseconds d2h{0};  // time spent copying results off the device
  core::model_identity model;       // the model that computed them (handed to the requester)
};

using model_fn = std::function<tb::expected<model_run>(const std::vector<core::forecast_window>&)>;
using window_result = tb::expected<core::forecast>;

// What one submission gets back.
struct completion {
  std::vector<window_result> results;  // one per window, in submission order
  // The model_run::model of the batches that computed its forecasts; nullopt when none was
  // computed, or when a replace_model() fell between two of its batches (two models computed them).
  std::optional<core::model_identity> model;
};
// Called exactly once per accepted submission, on an executor thread (or on the thread calling
// stop(), for windows it cancels).
using done_fn = std::function<void(completion)>;

struct batcher_options {
  std::size_t max_batch_rows = 3072;  // series x samples per batch
  std::chrono::microseconds max_queue_delay{2000};
  std::vector<std::size_t> preferred_batch_rows;      // start at once when one is reached
  std::size_t max_queue_rows = 1 << 20;               // queued rows before `overloaded`
  std::chrono::milliseconds backfill_max_wait{2000};  // older backfill counts as live
  std::size_t executors = 1;                          // batches in flight at once
};

class dynamic_batcher {
 public:
  dynamic_batcher(batcher_options options, model_fn model);
  ~dynamic_batcher();  // stop()
  dynamic_batcher(const dynamic_batcher&) = delete;
  dynamic_batcher& operator=(const dynamic_batcher&) = delete;

  // Thread-safe. Queues the windows, or refuses them at once (errc::overloaded when the queue is
  // full, errc::unavailable after stop()); `done` is called only for accepted submissions.
  std::optional<tb::error> submit(std::vector<batch_window> windows, done_fn done);

  // Thread-safe. The next batch runs on `model`.
  void replace_model(model_fn model);

  // Stops taking work, answers what is queued with errc::unavailable at once (before the
  // batches in flight finish), joins the executors. Idempotent.
  void stop();

  // Counters for /stats → inference (compute_s_total: seconds the model spent on successful
  // batches; batch_rows: rows of those batches; queue_wait_seconds per window and compute_seconds
  // per successful batch: histograms, core::to_json(histogram_counts)). Thread-safe.
  nlohmann::json stats() const;

 private:
  struct request;
  struct item {
    std::shared_ptr<request> req;
    std::size_t index;
    std::size_t rows;
    steady::time_point enqueued;
  };

  void run_executor();
  // Picks the next batch from the queue; mu_ held.
  std::vector<item> take_batch(steady::time_point now, std::size_t cap);
  // Runs `batch` on `model` (of `generation`), splitting on OOM; mu_ not held.
  void execute(const model_fn& model, std::uint64_t generation, std::vector<item> batch);
  // Completed requests whose callbacks run once mu_ is released.
  using fire_list = std::vector<std::pair<done_fn, completion>>;
  // Answers every queued window errc::unavailable (stopping). mu_ held.
  void cancel_queued(fire_list& ready);
  // Stores one window's result (`by`: the run that computed it, for a forecast; generation: the
  // model's, see model_generation_); queues the request's callback when it was the last. mu_ held.
  void complete(item& it, window_result result, fire_list& ready, const model_run* by = nullptr,
                std::uint64_t generation = 0);

  batcher_options opts_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  model_fn model_;
  std::uint64_t model_generation_ = 0;  // replace_model() count: tells two models apart
  std::deque<item> live_, backfill_;
  std::size_t queued_rows_ = 0;
  std::size_t row_cap_;  // lowered after an out-of-memory split
  bool stopping_ = false;
  std::vector<std::thread> executors_;

  // Counters (mu_ held to update).
  std::uint64_t request_success_ = 0, request_failure_ = 0, windows_ = 0, batches_ = 0, batch_rows_ = 0;
  std::uint64_t oom_splits_ = 0, overloaded_ = 0, timeouts_ = 0, host_syncs_ = 0, isolated_reruns_ = 0;
  std::int64_t compute_ns_ = 0;   // model time of the successful batches (stats: compute_s_total)
  std::uint64_t non_finite_ = 0;  // forecasts refused for a NaN or inf value
  std::uint64_t cancelled_ = 0;   // queued windows answered unavailable by stop()
  std::deque<std::pair<steady::time_point, std::size_t>> recent_;  // completions in the last minute
  core::latency_histogram queue_us_, compute_us_, d2h_us_;
};

}  // namespace tb::inference
