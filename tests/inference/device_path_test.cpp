// The device path of generation: the executor's stream, the one copy of a call's forecasts to the
// host and its event, the host synchronisations counted where they happen, and "compile" (CUDA
// graphs). Runs on the CPU by default, where the stream and event path is the same code with
// no-op operations; TB_DEVICE=cuda (and TB_DTYPE) runs the device-independent cases on a GPU
// (scripts/gpu-check.sh), with LibTorch's CUDA sync check on, so a hidden synchronisation fails.
#define BOOST_TEST_MODULE device_path
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <future>
#include <map>
#include <thread>

#include "core/bar_csv.hpp"
#include "inference/cuda_graph.hpp"
#include "inference/kronos_model.hpp"
#include "inference/model_service.hpp"
#include "tests/support/log_capture.hpp"

namespace tbi = tb::inference;
using tb::core::forecast_window;

namespace {

const std::string data_dir = TRADEBOT_TEST_DATA;
const std::string fixture = data_dir + "/kronos-parity";  // holds tokenizer/ and model/

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

tbi::device_options device() {
  tbi::device_options o;
  o.device = env_or("TB_DEVICE", "cpu");
  o.dtype = env_or("TB_DTYPE", "float32");
  o.cpu_threads = 1;
  return o;
}

bool on_cpu() { return device().device == "cpu"; }

// Preconditions (a case that cannot run on this device or build is reported as skipped).
boost::test_tools::assertion_result cpu_device(boost::unit_test::test_unit_id) { return on_cpu(); }
boost::test_tools::assertion_result no_graphs(boost::unit_test::test_unit_id) {
  return on_cpu() || !tbi::cuda_graphs_built();
}
boost::test_tools::assertion_result graphs(boost::unit_test::test_unit_id) {
  return !on_cpu() && tbi::cuda_graphs_built();
}

const tbi::kronos_model& model() {
  static const tbi::kronos_model* m = [] {
    auto r = tbi::load_checkpoint(fixture, device());
    if (!r) BOOST_FAIL(r.error().message);
    return new tbi::kronos_model(*r);
  }();
  return *m;
}

const std::vector<tb::core::bar>& daily(const std::string& symbol) {
  static std::map<std::string, std::vector<tb::core::bar>> loaded;
  auto it = loaded.find(symbol);
  if (it == loaded.end()) {
    auto s = tb::core::load_bars_csv(data_dir + "/daily/" + symbol + ".csv", symbol);
    BOOST_TEST_REQUIRE(s.has_value());
    it = loaded.emplace(symbol, std::move(s->bars)).first;
  }
  return it->second;
}

tb::core::sampling_params params() {
  tb::core::sampling_params p;
  p.pred_len = 3;
  p.max_context = 40;
  p.sample_count = 4;
  p.temperature = 0.8;
  p.top_k = 0;
  p.top_p = 0.9;
  p.clip = 5;
  return p;
}

// Windows of 40 daily bars of three files, seed i.
std::vector<forecast_window> windows(int n) {
  static const char* files[] = {"NIO", "JD", "PDD"};
  std::vector<forecast_window> out;
  for (int i = 0; i < n; ++i) {
    const auto& bars = daily(files[i % 3]);
    forecast_window w;
    w.symbol = files[i % 3];
    w.bars.assign(bars.end() - 40 - i, bars.end() - i);
    w.params = params();
    w.seed = static_cast<std::uint64_t>(100 + i);
    out.push_back(std::move(w));
  }
  return out;
}

bool bitwise_equal(const tb::core::forecast& a, const tb::core::forecast& b) { return a.rows == b.rows; }

tbi::service_options service(bool compile) {
  tbi::service_options o;
  o.model_dir = fixture;
  o.device = device();
  o.compile = compile;
  o.batching.max_batch_rows = 64;
  o.batching.max_queue_delay = std::chrono::microseconds(20000);
  o.sampling = params();
  o.lookback = 40;
  return o;
}

// Every window submitted at once to `svc`; the forecasts in window order.
std::vector<tb::core::forecast> through(tbi::model_service& svc, const std::vector<forecast_window>& ws) {
  std::vector<std::promise<tb::core::forecast>> done(ws.size());
  for (std::size_t i = 0; i < ws.size(); ++i) {
    tbi::batch_window b;
    b.window = ws[i];
    auto err = svc.submit({b}, [&done, i](tbi::completion c) {
      auto& r = c.results;
      if (r.at(0)) {
        done[i].set_value(*r[0]);
      } else {
        done[i].set_exception(std::make_exception_ptr(std::runtime_error(r[0].error().message)));
      }
    });
    BOOST_TEST_REQUIRE(!err);
  }
  std::vector<tb::core::forecast> out;
  for (auto& d : done) out.push_back(d.get_future().get());
  return out;
}

}  // namespace

// One call, one wait: the forecasts of every series come back through one copy and one event,
// counted once per call on every device (on the CPU the wait returns at once, and reading CPU
// tensors is no synchronisation). On CUDA the sync check is on: any other synchronisation
// LibTorch makes inside generate() throws, and the call fails.
BOOST_AUTO_TEST_CASE(one_host_sync_per_call) {
  const auto& m = model();  // loading copies the weights with blocking copies: before the check
  const auto ws = windows(3);
  tbi::set_cuda_sync_check(true);
  tbi::generate_stats stats;
  auto r = m.generate(ws, {}, &stats);
  tbi::set_cuda_sync_check(false);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->size() == 3u);
  BOOST_TEST(stats.host_syncs == 1u);
  BOOST_TEST(stats.d2h.count() > 0);
  // Counted per call, added to what the caller holds.
  auto again = m.generate(windows(1), {}, &stats);
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(stats.host_syncs == 2u);
  tbi::generate_options plain;
  plain.mode = tbi::generation_mode::plain;
  auto p = m.generate(windows(2), plain, &stats);
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(stats.host_syncs == 3u);
}

// The stream, the event and the host buffer change no bit: a call on another thread (its own
// stream) and a call through the model service's executor give the very forecasts of a call on
// this thread, and the service's /stats count one host synchronisation per batch, measured.
// (CPU only: on CUDA the batcher stacks series, equal up to rounding, not bitwise.)
BOOST_AUTO_TEST_CASE(executor_streams_give_the_same_forecasts, *boost::unit_test::precondition(cpu_device)) {
  const auto ws = windows(5);
  auto here = model().generate(ws);
  BOOST_TEST_REQUIRE(here.has_value());
  auto there = std::async(std::launch::async, [&] { return model().generate(ws); }).get();
  BOOST_TEST_REQUIRE(there.has_value());
  auto svc = tbi::model_service::start(service(false));
  BOOST_TEST_REQUIRE(svc.has_value(), (svc ? "" : svc.error().message));
  const auto served = through(**svc, ws);
  for (std::size_t i = 0; i < ws.size(); ++i) {
    BOOST_TEST(bitwise_equal((*here)[i], (*there)[i]), "series " << i << " on another thread");
    BOOST_TEST(bitwise_equal((*here)[i], served[i]), "series " << i << " through the service");
  }
  const auto st = (*svc)->stats();
  BOOST_TEST(st["exec_count"].get<std::uint64_t>() >= 1u);
  BOOST_TEST(st["host_syncs_per_batch"].get<double>() == 1.0);
  (*svc)->stop();
}

// compile = true where no CUDA graph can run (the CPU, or a build without CUDA graphs) changes
// nothing: no graph, the identity (cache key) of compile = false, the same forecasts.
// The one warning at start says so; the plain service logs none.
BOOST_AUTO_TEST_CASE(compile_without_cuda_graphs_changes_nothing, *boost::unit_test::precondition(no_graphs)) {
  tb::test::log_capture plain_log;
  auto plain_svc = tbi::model_service::start(service(false));
  const auto plain_text = plain_log.text();
  BOOST_TEST(plain_text.find("model.compile") == std::string::npos, plain_text);
  tb::test::log_capture compiled_log;
  auto compiled_svc = tbi::model_service::start(service(true));
  BOOST_TEST_REQUIRE(plain_svc.has_value());
  BOOST_TEST_REQUIRE(compiled_svc.has_value());
  const auto warned = compiled_log.text();
  const std::string warning = "model.compile = true changes nothing here";
  const auto first = warned.find(warning);
  BOOST_TEST(first != std::string::npos, warned);
  BOOST_TEST(warned.find(warning, first + 1) == std::string::npos, warned);  // once
  // The identity (every model field of the cache key, cache/key.hpp) is compile = false's.
  const auto plain_id = (*plain_svc)->identity(), compiled_id = (*compiled_svc)->identity();
  BOOST_TEST(!compiled_id.compile);
  BOOST_TEST(compiled_id.checkpoint_hash == plain_id.checkpoint_hash);
  BOOST_TEST(compiled_id.dtype == plain_id.dtype);
  BOOST_TEST(compiled_id.compile == plain_id.compile);
  BOOST_TEST((*compiled_svc)->stats()["model"]["cuda_graphs"].get<std::size_t>() == 0u);
  const auto ws = windows(2);
  const auto a = through(**plain_svc, ws);
  const auto b = through(**compiled_svc, ws);
  for (std::size_t i = 0; i < ws.size(); ++i) BOOST_TEST(bitwise_equal(a[i], b[i]));
  auto none = model().capture_graphs(ws[0], {1, 4});
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(*none == 0u);
}

// On CUDA with graphs built: a group replays the smallest bucket that holds it (padded) and gives
// the eager forecasts up to rounding; a group of another shape runs eagerly.
BOOST_AUTO_TEST_CASE(graph_replay_matches_eager, *boost::unit_test::precondition(graphs)) {
  const auto ws = windows(3);
  auto captured = model().capture_graphs(ws[0], {1, 4});
  BOOST_TEST_REQUIRE(captured.has_value(), (captured ? "" : captured.error().message));
  BOOST_TEST(*captured == 2u);
  tbi::generate_options eager;
  eager.graphs = false;
  tbi::set_cuda_sync_check(true);
  tbi::generate_stats stats;
  auto g = model().generate(ws, {}, &stats);
  tbi::set_cuda_sync_check(false);
  auto e = model().generate(ws, eager);
  BOOST_TEST_REQUIRE(g.has_value(), (g ? "" : g.error().message));
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(stats.host_syncs == 1u);
  const double tol = device().dtype == "float32" ? 1e-4 : 5e-2;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    const double d = tb::core::relative_difference((*g)[i], (*e)[i]);
    BOOST_TEST_MESSAGE("series " << i << " graph vs eager: max relative difference " << d);
    BOOST_TEST(d < tol);
  }
}

// KRONOS_COMPILE_BACKEND: inductor (torch.compile's default) and cudagraphs capture graphs; eager
// and aot_eager, and names the config refuses, do not.
BOOST_AUTO_TEST_CASE(compile_backend_says_graphs_or_eager) {
  BOOST_TEST(tbi::backend_captures_graphs("inductor"));
  BOOST_TEST(tbi::backend_captures_graphs("cudagraphs"));
  BOOST_TEST(!tbi::backend_captures_graphs("eager"));
  BOOST_TEST(!tbi::backend_captures_graphs("aot_eager"));
  BOOST_TEST(!tbi::backend_captures_graphs("onnxrt"));
}

BOOST_AUTO_TEST_CASE(compile_mode_picks_the_buckets) {
  using v = std::vector<std::int64_t>;
  BOOST_TEST(tbi::graph_buckets("default", 16) == (v{1, 4, 16}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("reduce-overhead", 16) == (v{1, 4, 16}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("max-autotune", 16) == (v{1, 2, 4, 8, 16}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("max-autotune", 11) == (v{1, 2, 4, 8, 11}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("default", 3) == (v{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("default", 1) == (v{1}), boost::test_tools::per_element());
  BOOST_TEST(tbi::graph_buckets("max-autotune-no-cudagraphs", 16).empty());
}
