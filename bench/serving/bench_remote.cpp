// bench_remote: forecasts per second through remote inference hosts (one, then two) against the
// same work through a local inference actor, all in one run.
//
// A tiny random-weight checkpoint (seed 0, written to a temp folder) serves every path:
//   local:   a model_service with the inference actor in this process (model.threads = --threads);
//   1 host:  one tradebotd process (trading.enabled = false, inference.publish = true on a free
//            loopback port, plain, model.threads = --threads) and the remote pool actor
//            (actors/remote_inference) in this process pointed at it;
//   2 hosts: two such processes, model.threads = --threads / 2 each (at least 1), so together they
//            ask for as many cores as the single host.
// Each path gets the same --windows requests of one window each, all at once: the bot's shape
// (lookback 232, pred_len 7, its sampling parameters; bench/bot_windows.hpp) with --samples
// samples, distinct windows and seeds. The pool talks to the hosts directly (no cache), so every
// window is computed. A first round of the same size warms each path up and is not timed.
// Prints forecasts/s per path, the settings, and the 1-minute load average before and after (on a
// shared machine the figures are shares of contended cores). On a machine with fewer cores than the hosts'
// threads want, two hosts cannot beat one: the figure is then the middleman's and scheduling's
// cost, not the scale-out's gain.
//
//   bench_remote [--windows 64] [--samples 8] [--threads 2] [--tradebotd build/bin/tradebotd]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/inference_actor.hpp"
#include "actors/middleman_transport.hpp"
#include "actors/protocol.hpp"
#include "actors/remote_inference.hpp"
#include "bench/bot_windows.hpp"
#include "inference/kronos_init.hpp"
#include "tests/support/inference_host.hpp"

using namespace tb;
using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct args {
  int windows = 64;
  int samples = 8;
  int threads = 2;
  std::string tradebotd = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
};

void must(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "bench_remote: %s\n", what.c_str());
    std::exit(1);
  }
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    must(i + 1 < argc, k + " needs a value");
    const std::string v = argv[++i];
    if (k == "--windows")
      a.windows = std::max(1, std::stoi(v));
    else if (k == "--samples")
      a.samples = std::max(1, std::stoi(v));
    else if (k == "--threads")
      a.threads = std::max(1, std::stoi(v));
    else if (k == "--tradebotd")
      a.tradebotd = v;
    else
      must(false, "unknown option " + k);
  }
  return a;
}

// An inference host (tests/support/inference_host.hpp) serving `model_dir` with `threads` intra-op
// threads and the bot's forecast shape (`samples` samples); exits when it does not start.
std::unique_ptr<test::inference_host> start_host(const std::string& binary, const std::string& model_dir, int threads,
                                                 int samples) {
  auto h = std::make_unique<test::inference_host>(
      binary, "warn", "dir = \"" + model_dir + "\"\nthreads = " + std::to_string(threads) + "\n",
      "sample_count = " + std::to_string(samples) + "\n", "");
  must(h->error.empty(), h->error);
  return h;
}

// Sends every window as its own request at once and waits for all the replies; seconds taken.
double round_of(caf::scoped_actor& self, const caf::actor& to, const std::vector<core::forecast_window>& ws) {
  const auto t0 = clk::now();
  for (const auto& w : ws) {
    actors::forecast_request req;
    req.windows.push_back({w, inference::priority::live, 0});
    self->send(to, actors::forecast_atom::value, std::move(req));
  }
  for (std::size_t i = 0; i < ws.size(); ++i)
    self->receive(
        [&](actors::forecast_reply& r) {
          must(r.answers.size() == 1 && r.answers[0].ok,
               "a failed forecast: " + (r.answers.empty() ? std::string("no answer") : r.answers[0].error));
        },
        [&](caf::error& e) { must(false, self->system().render(e)); },
        caf::after(std::chrono::seconds(120)) >> [&] { must(false, "no reply within 120 s"); });
  return std::chrono::duration<double>(clk::now() - t0).count();
}

// Waits (bounded) until the pool's /stats section lists `n` hosts, all connected.
void wait_connected(const core::snapshot_board& board, std::size_t n) {
  const auto end = clk::now() + 30s;
  while (clk::now() < end) {
    if (auto s = board.section("inference");
        s && s->contains("remote") && (*s)["remote"].size() == n &&
        std::all_of((*s)["remote"].begin(), (*s)["remote"].end(),
                    [](const auto& h) { return h.value("state", "") == "connected"; }))
      return;
    std::this_thread::sleep_for(50ms);  // polling the pool's published state, bounded above
  }
  auto s = board.section("inference");
  must(false, "the pool did not connect to its hosts: " + (s ? s->dump() : std::string("no stats")));
}

// The 1-minute load average (0 when unknown).
double load_now() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  test::temp_dir model;
  auto preset = inference::preset_by_name("tiny");
  must(static_cast<bool>(preset), "no tiny preset");
  must(static_cast<bool>(inference::write_random_checkpoint(*preset, 0, model.path.string())),
       "cannot write the checkpoint");

  const double load_start = load_now();
  const auto params = bench::bot_params(a.samples);
  const auto timed = bench::bot_windows(a.windows, params);
  // The warm-up round: other windows (further back in the files, other seeds), same count.
  auto warm = bench::bot_windows(2 * a.windows, params);
  warm.erase(warm.begin(), warm.begin() + a.windows);

  auto cfg_of = [&](int threads, std::vector<std::string> remote) {
    auto c = std::make_shared<actors::config>();
    c->inference.model_dir = model.path.string();
    c->inference.device.cpu_threads = threads;
    c->inference.sampling.sample_count = a.samples;
    c->inference.middleman.remote = std::move(remote);
    return actors::config_ptr(c);
  };
  const int host_threads2 = std::max(1, a.threads / 2);
  const char* omp_wait = std::getenv("OMP_WAIT_POLICY");
  std::printf(
      "bench_remote: %d requests of one window (lookback %d, pred_len %d, %d samples), all at once; tiny "
      "checkpoint; %u cores here; OMP_WAIT_POLICY=%s\n",
      a.windows, bench::bot_lookback(), params.pred_len, a.samples, std::thread::hardware_concurrency(),
      omp_wait ? omp_wait : "(unset)");
  std::printf("model.threads: local %d, 1 host %d, 2 hosts %d each; hosts plain on loopback\n", a.threads, a.threads,
              host_threads2);

  caf::actor_system_config sys_cfg;
  actors::register_types(sys_cfg);
  actors::configure_transport(sys_cfg, {});
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};

  struct row {
    std::string name;
    double seconds;
  };
  std::vector<row> rows;
  auto measure = [&](const std::string& name, const caf::actor& to) {
    round_of(self, to, warm);
    rows.push_back({name, round_of(self, to, timed)});
    self->request(to, 30s, actors::stop_atom::value).receive([](caf::ok_atom) {}, [](caf::error&) {});
  };

  {  // local: the inference actor of a trading daemon with a local model
    const auto cfg = cfg_of(a.threads, {});
    auto svc = inference::model_service::start(cfg->inference);
    must(static_cast<bool>(svc), svc ? "" : svc.error().message);
    auto board = std::make_shared<core::snapshot_board>();
    measure("local inference actor",
            caf::actor_cast<caf::actor>(actors::spawn_inference_actor(self.ptr(), *svc, board, cfg)));
  }
  for (int n : {1, 2}) {
    const int threads = n == 1 ? a.threads : host_threads2;
    std::vector<std::unique_ptr<test::inference_host>> hosts;
    std::vector<std::string> addresses;
    for (int i = 0; i < n; ++i) {
      hosts.push_back(start_host(a.tradebotd, model.path.string(), threads, a.samples));
      addresses.push_back(hosts.back()->address());
    }
    auto board = std::make_shared<core::snapshot_board>();
    auto pool = actors::spawn_remote_inference(self.ptr(), board, cfg_of(threads, addresses));
    wait_connected(*board, static_cast<std::size_t>(n));
    measure(std::to_string(n) + (n == 1 ? " host " : " hosts") + " (remote pool)", pool);
    for (auto& h : hosts) must(h->d->stop() == 0, "an inference host did not stop cleanly:\n" + h->d->proc->output());
  }

  std::printf("\n%-30s %10s %14s %10s\n", "path", "seconds", "forecasts/s", "vs local");
  for (const auto& r : rows)
    std::printf("%-30s %10.2f %14.2f %9.2fx\n", r.name.c_str(), r.seconds, a.windows / r.seconds,
                rows[0].seconds / r.seconds);
  std::printf("load average (1 min): %.2f at start, %.2f at end\n", load_start, load_now());
  return 0;
}
