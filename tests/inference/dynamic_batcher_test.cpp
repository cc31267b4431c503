// The dynamic batcher on its own, with fake models whose timing the test controls (a gate the
// test opens), so every assertion is about the batcher's decisions, not the machine's speed.
#define BOOST_TEST_MODULE dynamic_batcher
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <future>
#include <mutex>

#include "inference/dynamic_batcher.hpp"

using namespace tb::inference;
using namespace std::chrono_literals;

namespace {

// A model that blocks until the test opens its gate, records every batch it sees, and answers
// each window with one row whose close is the window's seed.
struct gated_model {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::string name = "gated";                     // model_run::model.checkpoint_hash
  std::vector<std::vector<std::string>> batches;  // symbols per batch, in call order
  std::vector<steady::time_point> started;
  std::function<std::optional<tb::error>(const std::vector<tb::core::forecast_window>&)> fail;

  model_fn fn() {
    return [this](const std::vector<tb::core::forecast_window>& ws) -> tb::expected<model_run> {
      std::unique_lock<std::mutex> lock(mu);
      std::vector<std::string> syms;
      for (const auto& w : ws) syms.push_back(w.symbol);
      batches.push_back(syms);
      started.push_back(steady::now());
      cv.notify_all();
      cv.wait(lock, [&] { return open; });
      if (fail)
        if (auto err = fail(ws)) return *err;
      model_run run;
      for (const auto& w : ws) {
        tb::core::forecast f;
        f.rows.push_back({0, 0, 0, static_cast<double>(w.seed), 0, 0});
        run.forecasts.push_back(f);
      }
      run.host_syncs = 1;
      run.model.checkpoint_hash = name;
      return run;
    };
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  // Blocks until the model has been called `n` times (bounded).
  bool wait_calls(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return batches.size() >= n; });
  }
};

batch_window window(const std::string& symbol, std::uint64_t seed, int samples = 1, priority p = priority::live) {
  batch_window w;
  w.window.symbol = symbol;
  w.window.seed = seed;
  w.window.params.sample_count = samples;
  w.prio = p;
  return w;
}

// Collects the results of one submission.
struct collector {
  std::promise<completion> promise;
  std::future<completion> future = promise.get_future();
  std::optional<tb::core::model_identity> model;  // completion::model, once get() returned
  done_fn fn() {
    return [this](completion c) { promise.set_value(std::move(c)); };
  }
  std::vector<window_result> get() {
    BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
    auto c = future.get();
    model = std::move(c.model);
    return std::move(c.results);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(queued_requests_form_batches_and_every_window_is_answered) {
  gated_model m;
  batcher_options o;
  o.max_batch_rows = 1000;
  o.max_queue_delay = 0us;
  dynamic_batcher b(o, m.fn());
  std::vector<collector> c(64);
  BOOST_REQUIRE(!b.submit({window("S0", 0)}, c[0].fn()));
  BOOST_REQUIRE(m.wait_calls(1));  // the first request runs alone and blocks the model
  for (int r = 1; r < 64; ++r) {
    std::vector<batch_window> ws;
    for (int i = 0; i < 10; ++i) ws.push_back(window("S" + std::to_string(r), static_cast<std::uint64_t>(r * 100 + i)));
    BOOST_REQUIRE(!b.submit(ws, c[r].fn()));
  }
  m.release();
  for (int r = 1; r < 64; ++r) {
    auto res = c[r].get();
    BOOST_REQUIRE(res.size() == 10);
    for (int i = 0; i < 10; ++i) {
      BOOST_REQUIRE(res[i]);
      BOOST_TEST(res[i]->rows[0][tb::core::f_close] == r * 100 + i);  // each answer is its own window's
    }
  }
  BOOST_REQUIRE(c[0].get().size() == 1);
  auto s = b.stats();
  BOOST_TEST(s["inference_count"] == 631);
  BOOST_TEST(s["request_success"] == 64);
  BOOST_TEST(s["exec_count"].get<int>() == 2);  // 1 alone, then the 630 queued windows at once
  BOOST_TEST(s["avg_batch_windows"].get<double>() > 1.0);
  BOOST_TEST(s["host_syncs_per_batch"].get<double>() == 1.0);
}

BOOST_AUTO_TEST_CASE(max_batch_rows_bounds_batches) {
  gated_model m;
  m.release();
  batcher_options o;
  o.max_batch_rows = 30;
  o.max_queue_delay = 1s;  // the cap, not the delay, starts these batches
  dynamic_batcher b(o, m.fn());
  collector c;
  std::vector<batch_window> ws;
  for (int i = 0; i < 9; ++i) ws.push_back(window("A", static_cast<std::uint64_t>(i), 10));
  const auto t0 = steady::now();
  BOOST_REQUIRE(!b.submit(ws, c.fn()));
  auto res = c.get();
  BOOST_TEST(res.size() == 9);
  BOOST_TEST((steady::now() - t0 < 1s));
  for (const auto& batch : m.batches) BOOST_TEST(batch.size() <= 3u);
  BOOST_TEST(m.batches.size() == 3u);
}

BOOST_AUTO_TEST_CASE(queue_delay_is_honoured_unless_a_preferred_size_is_reached) {
  {
    gated_model m;
    m.release();
    batcher_options o;
    o.max_batch_rows = 100;
    o.max_queue_delay = 50ms;
    dynamic_batcher b(o, m.fn());
    collector c;
    const auto t0 = steady::now();
    BOOST_REQUIRE(!b.submit({window("A", 1)}, c.fn()));
    c.get();
    BOOST_TEST((m.started.at(0) - t0 >= 50ms));  // a lone window waits for company
  }
  {
    gated_model m;
    m.release();
    batcher_options o;
    o.max_batch_rows = 100;
    o.max_queue_delay = 10s;
    o.preferred_batch_rows = {4};
    dynamic_batcher b(o, m.fn());
    collector c;
    const auto t0 = steady::now();
    BOOST_REQUIRE(!b.submit({window("A", 1, 2), window("B", 2, 2)}, c.fn()));
    c.get();
    BOOST_TEST((m.started.at(0) - t0 < 5s));  // 4 rows queued: a preferred size, no waiting
  }
}

BOOST_AUTO_TEST_CASE(full_queue_refuses_at_once_with_overloaded) {
  gated_model m;
  batcher_options o;
  o.max_queue_rows = 20;
  o.max_queue_delay = 0us;
  o.max_batch_rows = 1;
  dynamic_batcher b(o, m.fn());
  collector first;
  BOOST_REQUIRE(!b.submit({window("A", 1)}, first.fn()));
  BOOST_REQUIRE(m.wait_calls(1));
  std::vector<collector> queued(2);
  BOOST_REQUIRE(!b.submit({window("B", 2, 10)}, queued[0].fn()));
  BOOST_REQUIRE(!b.submit({window("C", 3, 10)}, queued[1].fn()));
  bool called = false;
  auto err = b.submit({window("D", 4)}, [&](completion) { called = true; });
  BOOST_REQUIRE(err);
  BOOST_TEST(err->code == tb::errc::overloaded);
  BOOST_TEST(err->message.find("queue full") != std::string::npos);
  BOOST_TEST(b.stats()["overloaded"] == 1);
  m.release();
  first.get();
  queued[0].get();
  queued[1].get();
  BOOST_TEST(!called);
}

BOOST_AUTO_TEST_CASE(windows_past_their_deadline_time_out_and_are_not_computed) {
  gated_model m;
  batcher_options o;
  o.max_queue_delay = 0us;
  o.max_batch_rows = 1;
  dynamic_batcher b(o, m.fn());
  collector first, late;
  BOOST_REQUIRE(!b.submit({window("A", 1)}, first.fn()));
  BOOST_REQUIRE(m.wait_calls(1));
  auto w = window("LATE", 2);
  w.deadline = steady::now();  // already due when the model frees up
  BOOST_REQUIRE(!b.submit({w}, late.fn()));
  m.release();
  first.get();
  auto res = late.get();
  BOOST_REQUIRE(!res[0]);
  BOOST_TEST(res[0].error().code == tb::errc::timeout);
  BOOST_TEST(b.stats()["timeouts"] == 1);
  for (const auto& batch : m.batches)
    for (const auto& s : batch) BOOST_TEST(s != "LATE");
}

BOOST_AUTO_TEST_CASE(live_windows_go_before_backfill_and_backfill_ages_into_live) {
  for (bool aged : {false, true}) {
    gated_model m;
    batcher_options o;
    o.max_queue_delay = 0us;
    o.max_batch_rows = 1;  // one window per batch: the call order is the scheduling order
    o.backfill_max_wait = aged ? 0ms : 1h;
    dynamic_batcher b(o, m.fn());
    std::vector<collector> c(4);
    BOOST_REQUIRE(!b.submit({window("FIRST", 0)}, c[0].fn()));
    BOOST_REQUIRE(m.wait_calls(1));
    BOOST_REQUIRE(!b.submit({window("BF1", 1, 1, priority::backfill)}, c[1].fn()));
    BOOST_REQUIRE(!b.submit({window("BF2", 2, 1, priority::backfill)}, c[2].fn()));
    BOOST_REQUIRE(!b.submit({window("LIVE", 3, 1, priority::live)}, c[3].fn()));
    m.release();
    for (auto& x : c) x.get();
    std::vector<std::string> order;
    for (const auto& batch : m.batches) order.push_back(batch.at(0));
    if (aged)  // every backfill window is past its wait: arrival order
      BOOST_TEST((order == std::vector<std::string>{"FIRST", "BF1", "BF2", "LIVE"}));
    else
      BOOST_TEST((order == std::vector<std::string>{"FIRST", "LIVE", "BF1", "BF2"}));
  }
}

BOOST_AUTO_TEST_CASE(out_of_memory_splits_and_remembers_a_lower_cap) {
  gated_model m;
  m.release();
  m.fail = [](const std::vector<tb::core::forecast_window>& ws) -> std::optional<tb::error> {
    if (ws.size() > 2) return tb::error{tb::errc::out_of_memory, "CUDA out of memory"};
    return std::nullopt;
  };
  batcher_options o;
  o.max_batch_rows = 64;
  o.max_queue_delay = 20ms;
  dynamic_batcher b(o, m.fn());
  collector c;
  std::vector<batch_window> ws;
  for (int i = 0; i < 8; ++i) ws.push_back(window("W", static_cast<std::uint64_t>(i), 1));
  BOOST_REQUIRE(!b.submit(ws, c.fn()));
  auto res = c.get();
  for (int i = 0; i < 8; ++i) {
    BOOST_REQUIRE(res[i]);
    BOOST_TEST(res[i]->rows[0][tb::core::f_close] == i);
  }
  auto s = b.stats();
  BOOST_TEST(s["oom_splits"].get<int>() >= 1);
  BOOST_TEST(s["max_batch_rows"].get<int>() <= 4);
  // A single window that does not fit fails alone, with sample_count untouched.
  m.fail = [](const std::vector<tb::core::forecast_window>&) -> std::optional<tb::error> {
    return tb::error{tb::errc::out_of_memory, "CUDA out of memory"};
  };
  collector one;
  BOOST_REQUIRE(!b.submit({window("BIG", 9, 7)}, one.fn()));
  auto r1 = one.get();
  BOOST_REQUIRE(!r1[0]);
  BOOST_TEST(r1[0].error().code == tb::errc::out_of_memory);
}

BOOST_AUTO_TEST_CASE(one_bad_window_fails_alone) {
  gated_model m;
  m.release();
  m.fail = [](const std::vector<tb::core::forecast_window>& ws) -> std::optional<tb::error> {
    for (const auto& w : ws)
      if (w.symbol == "BAD") return tb::error{tb::errc::invalid_argument, "series BAD: NaN in bars"};
    return std::nullopt;
  };
  batcher_options o;
  o.max_queue_delay = 20ms;
  dynamic_batcher b(o, m.fn());
  collector c;
  BOOST_REQUIRE(!b.submit({window("A", 1), window("BAD", 2), window("C", 3)}, c.fn()));
  auto res = c.get();
  BOOST_TEST(static_cast<bool>(res[0]));
  BOOST_REQUIRE(!res[1]);
  BOOST_TEST(res[1].error().message == "series BAD: NaN in bars");
  BOOST_TEST(static_cast<bool>(res[2]));
  BOOST_TEST(b.stats()["request_failure"] == 1);
}

BOOST_AUTO_TEST_CASE(a_non_finite_forecast_fails_its_window_only) {
  // The model answers the whole batch, but one window's forecast holds a NaN and another an inf:
  // those two fail naming their window and symbol, the others are answered.
  model_fn model = [](const std::vector<tb::core::forecast_window>& ws) -> tb::expected<model_run> {
    model_run run;
    for (const auto& w : ws) {
      tb::core::forecast f;
      f.rows.push_back({1, 2, 0.5, static_cast<double>(w.seed), 10, 10});
      f.rows.push_back({1, 2, 0.5, static_cast<double>(w.seed), 10, 10});
      if (w.symbol == "NANSYM") f.rows[1][3] = std::nan("");
      if (w.symbol == "INFSYM") f.rows[0][1] = HUGE_VAL;
      run.forecasts.push_back(f);
    }
    return run;
  };
  batcher_options o;
  o.max_queue_delay = 50ms;
  dynamic_batcher b(o, model);
  collector c1, c2;
  BOOST_REQUIRE(!b.submit({window("A", 1), window("NANSYM", 2), window("C", 3)}, c1.fn()));
  BOOST_REQUIRE(!b.submit({window("INFSYM", 4), window("E", 5)}, c2.fn()));
  auto r1 = c1.get();
  auto r2 = c2.get();
  BOOST_TEST(static_cast<bool>(r1[0]));
  BOOST_TEST(static_cast<bool>(r1[2]));
  BOOST_TEST(static_cast<bool>(r2[1]));
  BOOST_REQUIRE(!r1[1]);
  BOOST_TEST(r1[1].error().message.find("window 1 (NANSYM)") != std::string::npos, r1[1].error().message);
  BOOST_TEST(r1[1].error().message.find("NaN") != std::string::npos, r1[1].error().message);
  BOOST_REQUIRE(!r2[0]);
  BOOST_TEST(r2[0].error().message.find("window 0 (INFSYM)") != std::string::npos, r2[0].error().message);
  BOOST_TEST(r2[0].error().message.find("inf") != std::string::npos, r2[0].error().message);
  BOOST_TEST(b.stats()["non_finite"] == 2);
}

BOOST_AUTO_TEST_CASE(replacing_the_model_takes_effect_on_the_next_batch) {
  gated_model a, z;
  a.release();
  z.release();
  batcher_options o;
  o.max_queue_delay = 0us;
  dynamic_batcher b(o, a.fn());
  collector c1, c2;
  BOOST_REQUIRE(!b.submit({window("X", 1)}, c1.fn()));
  c1.get();
  b.replace_model(z.fn());
  BOOST_REQUIRE(!b.submit({window("Y", 2)}, c2.fn()));
  c2.get();
  BOOST_TEST(a.batches.size() == 1u);
  BOOST_TEST(z.batches.size() == 1u);
}

BOOST_AUTO_TEST_CASE(stop_cancels_queued_work_at_once_and_refuses_new_work) {
  // A batch is in flight (its model blocked) and more is queued: stop() answers the queued work
  // unavailable at once, without waiting for the batch in flight, which still completes; then
  // new work is refused.
  gated_model m;
  batcher_options o;
  o.max_queue_delay = 0us;
  o.max_batch_rows = 1;
  auto b = std::make_unique<dynamic_batcher>(o, m.fn());
  collector running, queued;
  BOOST_REQUIRE(!b->submit({window("RUN", 1)}, running.fn()));
  BOOST_REQUIRE(m.wait_calls(1));
  BOOST_REQUIRE(!b->submit({window("Q1", 2), window("Q2", 3, 1, priority::backfill)}, queued.fn()));
  std::thread stopper([&] { b->stop(); });
  auto q = queued.get();  // the gate is still closed
  for (const auto& r : q) {
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == tb::errc::unavailable);
  }
  BOOST_TEST(b->stats()["cancelled"] == 2);
  BOOST_TEST(b->stats()["queued_windows"] == 0);
  m.release();
  stopper.join();
  BOOST_TEST(static_cast<bool>(running.get()[0]));
  BOOST_TEST(m.batches.size() == 1u);
  auto err = b->submit({window("LATE", 3)}, [](completion) {});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->code == tb::errc::unavailable);
}

BOOST_AUTO_TEST_CASE(a_completion_names_the_model_that_computed_it_and_none_across_a_swap) {
  gated_model first, second;
  first.name = "A";
  second.name = "B";
  second.release();
  batcher_options o;
  o.max_batch_rows = 1;  // one window per batch
  o.max_queue_delay = 0us;
  dynamic_batcher b(o, first.fn());
  collector across, after;
  BOOST_REQUIRE(!b.submit({window("W1", 1), window("W2", 2)}, across.fn()));
  BOOST_REQUIRE(first.wait_calls(1));  // W1 computes on A ...
  b.replace_model(second.fn());        // ... and W2 will on B
  first.release();
  for (const auto& r : across.get()) BOOST_TEST(static_cast<bool>(r));
  BOOST_TEST(!across.model.has_value());  // two models computed it: it names none
  BOOST_REQUIRE(!b.submit({window("W3", 3)}, after.fn()));
  BOOST_TEST(static_cast<bool>(after.get().at(0)));
  BOOST_REQUIRE(after.model.has_value());
  BOOST_TEST(after.model->checkpoint_hash == "B");
}
