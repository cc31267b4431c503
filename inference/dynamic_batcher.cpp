#include "inference/dynamic_batcher.hpp"

#include <algorithm>
#include <cmath>

namespace tb::inference {

struct dynamic_batcher::request {
  std::vector<batch_window> windows;
  std::vector<std::optional<window_result>> results;
  std::size_t remaining = 0;
  bool failed = false;
  std::optional<core::model_identity> model;  // of the first computed forecast
  std::uint64_t generation = 0;               // its model's
  bool mixed = false;                         // forecasts of two models
  done_fn done;
};

namespace {

std::size_t rows_of(const core::forecast_window& w) {
  return static_cast<std::size_t>(std::max(1, w.params.sample_count));
}

// "" when every value of `f` is finite; else what is wrong, naming the window.
std::string non_finite(const core::forecast& f, std::size_t index, const core::forecast_window& w) {
  for (std::size_t r = 0; r < f.rows.size(); ++r)
    for (double v : f.rows[r])
      if (!std::isfinite(v))
        return "inference: the forecast of window " + std::to_string(index) + " (" + w.symbol +
               ") holds a non-finite value (" + (std::isnan(v) ? "NaN" : "inf") + ") in row " + std::to_string(r) +
               "; not used";
  return {};
}

template <class List>
void fire(List& list) {
  for (auto& [done, c] : list) done(std::move(c));
  list.clear();
}

}  // namespace

dynamic_batcher::dynamic_batcher(batcher_options options, model_fn model)
    : opts_(std::move(options)), model_(std::move(model)), row_cap_(std::max<std::size_t>(1, opts_.max_batch_rows)) {
  std::sort(opts_.preferred_batch_rows.begin(), opts_.preferred_batch_rows.end());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, opts_.executors); ++i)
    executors_.emplace_back([this] { run_executor(); });
}

dynamic_batcher::~dynamic_batcher() { stop(); }

std::optional<tb::error> dynamic_batcher::submit(std::vector<batch_window> windows, done_fn done) {
  if (windows.empty()) {
    done(completion{});
    return std::nullopt;
  }
  auto req = std::make_shared<request>();
  std::size_t rows = 0;
  for (const auto& w : windows) rows += rows_of(w.window);
  req->results.resize(windows.size());
  req->remaining = windows.size();
  req->done = std::move(done);
  const auto now = steady::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return tb::error{errc::unavailable, "inference: shutting down; not taking new work"};
    if (queued_rows_ + rows > opts_.max_queue_rows) {
      ++overloaded_;
      return tb::error{errc::overloaded, "inference: queue full (" + std::to_string(queued_rows_) + " rows queued, " +
                                             std::to_string(rows) + " more asked, limit " +
                                             std::to_string(opts_.max_queue_rows) + "); retry later"};
    }
    for (std::size_t i = 0; i < windows.size(); ++i) {
      auto& q = windows[i].prio == priority::live ? live_ : backfill_;
      q.push_back(item{req, i, rows_of(windows[i].window), now});
    }
    req->windows = std::move(windows);
    queued_rows_ += rows;
  }
  cv_.notify_all();
  return std::nullopt;
}

void dynamic_batcher::replace_model(model_fn model) {
  std::lock_guard<std::mutex> lock(mu_);
  model_ = std::move(model);
  ++model_generation_;
}

void dynamic_batcher::stop() {
  fire_list ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // What is queued is answered now, not after the batches in flight; nothing is queued after.
    cancel_queued(ready);
  }
  cv_.notify_all();
  fire(ready);
  for (auto& t : executors_)
    if (t.joinable()) t.join();
}

void dynamic_batcher::complete(item& it, window_result result, fire_list& ready, const model_run* by,
                               std::uint64_t generation) {
  auto& req = *it.req;
  if (!result) req.failed = true;
  if (result && by) {
    if (!req.model) {
      req.model = by->model;
      req.generation = generation;
    } else if (req.generation != generation) {
      req.mixed = true;
    }
  }
  req.results[it.index] = std::move(result);
  if (--req.remaining > 0) return;
  ++(req.failed ? request_failure_ : request_success_);
  completion c;
  c.results.reserve(req.results.size());
  for (auto& r : req.results) c.results.push_back(std::move(*r));
  if (!req.mixed) c.model = std::move(req.model);
  ready.emplace_back(std::move(req.done), std::move(c));
}

void dynamic_batcher::cancel_queued(fire_list& ready) {
  for (auto* q : {&live_, &backfill_}) {
    for (auto& it : *q) {
      ++cancelled_;
      complete(it, tb::error{errc::unavailable, "inference: stopped before this window was computed"}, ready);
    }
    q->clear();
  }
  queued_rows_ = 0;
}

std::vector<dynamic_batcher::item> dynamic_batcher::take_batch(steady::time_point now, std::size_t cap) {
  std::vector<item> out;
  std::size_t rows = 0;
  auto next_queue = [&]() -> std::deque<item>* {
    const bool aged = !backfill_.empty() && backfill_.front().enqueued + opts_.backfill_max_wait <= now;
    if (aged && (live_.empty() || backfill_.front().enqueued <= live_.front().enqueued)) return &backfill_;
    if (!live_.empty()) return &live_;
    if (!backfill_.empty()) return &backfill_;
    return nullptr;
  };
  while (auto* q = next_queue()) {
    item& front = q->front();
    if (!out.empty() && rows + front.rows > cap) break;
    rows += front.rows;
    queued_rows_ -= front.rows;
    out.push_back(std::move(front));
    q->pop_front();
  }
  return out;
}

void dynamic_batcher::run_executor() {
  std::unique_lock<std::mutex> lock(mu_);
  fire_list ready;
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !live_.empty() || !backfill_.empty(); });
    if (live_.empty() && backfill_.empty()) {
      if (stopping_) return;
      continue;
    }
    // Wait for a full (or preferred) batch, or until the oldest window has waited long enough.
    for (;;) {
      if (live_.empty() && backfill_.empty()) break;
      const auto oldest = std::min(live_.empty() ? steady::time_point::max() : live_.front().enqueued,
                                   backfill_.empty() ? steady::time_point::max() : backfill_.front().enqueued);
      const bool preferred = std::any_of(opts_.preferred_batch_rows.begin(), opts_.preferred_batch_rows.end(),
                                         [&](std::size_t p) { return p <= row_cap_ && queued_rows_ >= p; });
      if (stopping_ || queued_rows_ >= row_cap_ || preferred || steady::now() >= oldest + opts_.max_queue_delay) break;
      cv_.wait_until(lock, oldest + opts_.max_queue_delay);
    }
    const auto now = steady::now();
    // Expired windows are answered, never computed (stop() has already answered the queue).
    for (auto* q : {&live_, &backfill_}) {
      for (auto it = q->begin(); it != q->end();) {
        if (it->req->windows[it->index].deadline <= now) {
          ++timeouts_;
          complete(
              *it,
              tb::error{errc::timeout,
                        "inference: deadline passed after " +
                            std::to_string(
                                std::chrono::duration_cast<std::chrono::milliseconds>(now - it->enqueued).count()) +
                            " ms in the queue; not computed"},
              ready);
          queued_rows_ -= it->rows;
          it = q->erase(it);
        } else {
          ++it;
        }
      }
    }
    auto batch = take_batch(now, row_cap_);
    auto model = model_;
    const auto generation = model_generation_;
    lock.unlock();
    fire(ready);
    if (!batch.empty()) {
      execute(model, generation, std::move(batch));
    }
    lock.lock();
  }
}

void dynamic_batcher::execute(const model_fn& model, std::uint64_t generation, std::vector<item> batch) {
  std::vector<core::forecast_window> windows;
  windows.reserve(batch.size());
  std::size_t rows = 0;
  const auto start = steady::now();
  for (const auto& it : batch) {
    windows.push_back(it.req->windows[it.index].window);
    rows += it.rows;
    queue_us_.record(start - it.enqueued);
  }
  auto run =
      model ? model(windows) : tb::expected<model_run>(tb::error{errc::unavailable, "inference: no model loaded"});
  const auto elapsed = steady::now() - start;
  if (run && run->forecasts.size() != windows.size())
    run = tb::error{errc::internal, "inference: the model returned " + std::to_string(run->forecasts.size()) +
                                        " forecasts for " + std::to_string(windows.size()) + " windows"};

  fire_list ready;
  auto finish_all = [&](auto&& result_of) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < batch.size(); ++i)
      complete(batch[i], result_of(i), ready, run ? &*run : nullptr, generation);
  };

  if (run) {
    compute_us_.record(elapsed);
    d2h_us_.record(run->d2h);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++batches_;
      compute_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
      batch_rows_ += rows;
      windows_ += batch.size();
      host_syncs_ += run->host_syncs;
      const auto now = steady::now();
      recent_.emplace_back(now, batch.size());
      while (!recent_.empty() && now - recent_.front().first > std::chrono::seconds(60)) recent_.pop_front();
    }
    // A NaN or inf forecast (a degenerate window, a broken model) fails its own window only.
    finish_all([&](std::size_t i) -> window_result {
      const auto& it = batch[i];
      auto why = non_finite(run->forecasts[i], it.index, it.req->windows[it.index].window);
      if (!why.empty()) {
        ++non_finite_;
        return tb::error{errc::internal, std::move(why)};
      }
      return std::move(run->forecasts[i]);
    });
  } else if (run.error().code == errc::out_of_memory && batch.size() > 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++oom_splits_;
      row_cap_ = std::max<std::size_t>(1, std::min(row_cap_, rows / 2));
    }
    const auto half = static_cast<std::ptrdiff_t>(batch.size() / 2);
    std::vector<item> first(std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.begin() + half));
    std::vector<item> second(std::make_move_iterator(batch.begin() + half), std::make_move_iterator(batch.end()));
    execute(model, generation, std::move(first));
    execute(model, generation, std::move(second));
  } else if (batch.size() > 1 && run.error().code != errc::unavailable) {  // unavailable: no window can run now
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++isolated_reruns_;
    }
    for (auto& it : batch) {
      std::vector<item> one;
      one.push_back(std::move(it));
      execute(model, generation, std::move(one));
    }
  } else {
    finish_all([&](std::size_t) -> window_result { return run.error(); });
  }
  fire(ready);
}

nlohmann::json dynamic_batcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = steady::now();
  std::size_t recent = 0;
  for (const auto& [t, n] : recent_)
    if (now - t <= std::chrono::seconds(60)) recent += n;
  const double span_s =
      recent_.empty() ? 0.0 : std::max(1.0, std::chrono::duration<double>(now - recent_.front().first).count());
  auto pct = [](const core::latency_histogram& h) {
    return nlohmann::json{{"p50", h.quantile_us(0.5)}, {"p99", h.quantile_us(0.99)}};
  };
  const double b = batches_ ? static_cast<double>(batches_) : 1.0;
  return {{"request_success", request_success_},
          {"request_failure", request_failure_},
          {"inference_count", windows_},
          {"exec_count", batches_},
          {"batch_rows", batch_rows_},
          {"avg_batch_rows", batches_ ? static_cast<double>(batch_rows_) / b : 0.0},
          {"avg_batch_windows", batches_ ? static_cast<double>(windows_) / b : 0.0},
          {"queue_us", pct(queue_us_)},
          {"compute_us", pct(compute_us_)},
          {"queue_wait_seconds", core::to_json(queue_us_.prometheus())},
          {"compute_seconds", core::to_json(compute_us_.prometheus())},
          {"compute_s_total", static_cast<double>(compute_ns_) * 1e-9},
          {"d2h_us", pct(d2h_us_)},
          {"host_syncs_per_batch", batches_ ? static_cast<double>(host_syncs_) / b : 0.0},
          {"oom_splits", oom_splits_},
          {"overloaded", overloaded_},
          {"timeouts", timeouts_},
          {"isolated_reruns", isolated_reruns_},
          {"non_finite", non_finite_},
          {"cancelled", cancelled_},
          {"forecasts_per_s", span_s > 0 ? static_cast<double>(recent) / span_s : 0.0},
          {"queued_windows", live_.size() + backfill_.size()},
          {"queued_rows", queued_rows_},
          {"max_batch_rows", row_cap_}};
}

}  // namespace tb::inference
