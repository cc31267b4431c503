// bench_middleman: what CAF's middleman costs one forecast request, against a local call.
// 1. Serialising one request of the bot's 232-bar live window, and its reply (a 7-row forecast),
//    through caf::binary_serializer and back: bytes and time per round trip.
// 2. Request/response, one window per request, one after another: to a local actor, and to the
//    same actor published on loopback in a child process (its own actor system and middleman, as
//    an inference host), plain and over mutual TLS (actors/middleman_transport, a throwaway PKI).
//    The responder answers every window with a forecast of pred_len rows without computing one,
//    so the figures are the transport's alone (a model's time adds to both sides alike).
// Usage: bench_middleman [--requests N]  (default 2000 per transport)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/middleman_transport.hpp"
#include "actors/protocol.hpp"
#include "bench/bot_windows.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_pki.hpp"

using namespace tb;
using clk = std::chrono::steady_clock;

namespace {

struct figures {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

figures summarise(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  figures f;
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
  f.p50_us = at(0.5);
  f.p99_us = at(0.99);
  double sum = 0;
  for (double v : us) sum += v;
  f.mean_us = sum / static_cast<double>(us.size());
  return f;
}

void must(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "bench_middleman: %s\n", what.c_str());
    std::exit(1);
  }
}

// Answers every window with pred_len rows (the last bar's values): the shape of a real answer.
caf::behavior responder(caf::event_based_actor*) {
  return {[](actors::forecast_atom, const actors::forecast_request& req) {
    actors::forecast_reply reply;
    for (const auto& w : req.windows) {
      actors::window_answer a;
      a.ok = true;
      const auto& b = w.window.bars.back();
      a.forecast.rows.assign(static_cast<std::size_t>(w.window.params.pred_len),
                             core::feature_row{b.open, b.high, b.low, b.close, b.volume, b.amount});
      reply.answers.push_back(std::move(a));
    }
    return reply;
  }};
}

// `x` is a copy: CAF's inspectors take T&.
template <class T>
figures round_trips(caf::actor_system& sys, T x, int n, std::size_t* bytes) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const auto t0 = clk::now();
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    must(!sink(x), "serialise");
    T back;
    caf::binary_deserializer source{sys, buf};
    must(!source(back), "deserialise");
    us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    *bytes = buf.size();
  }
  return summarise(std::move(us));
}

figures requests(caf::actor_system& sys, const caf::actor& to, const actors::forecast_request& req, int n) {
  caf::scoped_actor self{sys};
  std::vector<double> us;
  for (int i = 0; i < n + n / 10; ++i) {  // the first tenth warms up
    const auto t0 = clk::now();
    bool ok = false;
    self->request(to, std::chrono::seconds(30), actors::forecast_atom::value, req)
        .receive([&](actors::forecast_reply& r) { ok = r.answers.size() == 1 && r.answers[0].ok; },
                 [&](caf::error& e) { must(false, sys.render(e)); });
    must(ok, "a reply without its answer");
    if (i >= n / 10) us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
  }
  return summarise(std::move(us));
}

// A child process publishing a responder on 127.0.0.1 with `tls`; it exits when the pipe closes.
struct host_process {
  pid_t pid = -1;
  int to_child = -1;
  std::uint16_t port = 0;

  explicit host_process(const actors::tls_options& tls) {
    int up[2], down[2];
    must(pipe(up) == 0 && pipe(down) == 0, "pipe");
    pid = fork();
    must(pid >= 0, "fork");
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      caf::actor_system_config cfg;
      actors::register_types(cfg);
      actors::configure_transport(cfg, tls);
      caf::actor_system sys{cfg};
      auto port = actors::publish_actor(sys, sys.spawn(responder), "127.0.0.1", 0, tls);
      const std::uint16_t p = port ? *port : 0;
      if (write(up[1], &p, sizeof p) != sizeof p) _exit(1);
      char c;
      while (read(down[0], &c, 1) > 0) {}
      _exit(0);
    }
    close(up[1]);
    close(down[0]);
    to_child = down[1];
    must(read(up[0], &port, sizeof port) == sizeof port && port != 0, "the host did not publish");
    close(up[0]);
  }
  ~host_process() {
    close(to_child);
    int status = 0;
    waitpid(pid, &status, 0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  int n = 2000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--requests") == 0) n = std::max(10, std::atoi(argv[i + 1]));

  test::temp_dir dir;
  const auto pki = test::make_pki(dir.path.string(), "", "bench CA");
  const actors::tls_options host_tls{pki.server_cert, pki.server_key, pki.ca_cert};
  const actors::tls_options client_tls{pki.client_cert, pki.client_key, pki.ca_cert};

  const auto params = bench::bot_params(192);
  actors::forecast_request req;
  req.windows.push_back({bench::bot_windows(1, params).at(0), inference::priority::live, 0});
  actors::forecast_reply reply;
  {
    actors::window_answer a;
    a.ok = true;
    a.forecast.rows.assign(static_cast<std::size_t>(params.pred_len), core::feature_row{1, 2, 3, 4, 5, 6});
    reply.answers.push_back(a);
  }

  // The hosts fork before this process starts threads of its own.
  host_process plain_host({});
  host_process tls_host(host_tls);

  std::printf("bench_middleman: one request = one %zu-bar window (pred_len %d); %d requests per transport\n",
              req.windows[0].window.bars.size(), params.pred_len, n);
  {
    caf::actor_system_config cfg;
    actors::register_types(cfg);
    caf::actor_system sys{cfg};
    std::size_t req_bytes = 0, reply_bytes = 0;
    const auto rq = round_trips(sys, req, n, &req_bytes);
    const auto rp = round_trips(sys, reply, n, &reply_bytes);
    std::printf("serialise+deserialise request  %6zu bytes  p50 %7.1f us  p99 %7.1f us\n", req_bytes, rq.p50_us,
                rq.p99_us);
    std::printf("serialise+deserialise reply    %6zu bytes  p50 %7.1f us  p99 %7.1f us\n", reply_bytes, rp.p50_us,
                rp.p99_us);
  }
  figures local, plain, tls;
  {
    caf::actor_system_config cfg;
    actors::register_types(cfg);
    actors::configure_transport(cfg, {});
    caf::actor_system sys{cfg};
    local = requests(sys, sys.spawn(responder), req, n);
    auto remote = actors::connect_actor(sys, "127.0.0.1", plain_host.port, {});
    must(static_cast<bool>(remote), "plain connect failed");
    plain = requests(sys, *remote, req, n);
  }
  {
    caf::actor_system_config cfg;
    actors::register_types(cfg);
    actors::configure_transport(cfg, client_tls);
    caf::actor_system sys{cfg};
    auto remote = actors::connect_actor(sys, "127.0.0.1", tls_host.port, client_tls);
    must(static_cast<bool>(remote), "TLS connect failed: " + (remote ? std::string() : sys.render(remote.error())));
    tls = requests(sys, *remote, req, n);
  }
  std::printf("request/response  local actor          p50 %7.1f us  p99 %7.1f us\n", local.p50_us, local.p99_us);
  std::printf("request/response  middleman, plain     p50 %7.1f us  p99 %7.1f us  (+%.1f us per request at p50)\n",
              plain.p50_us, plain.p99_us, plain.p50_us - local.p50_us);
  std::printf("request/response  middleman, TLS       p50 %7.1f us  p99 %7.1f us  (+%.1f us per request at p50)\n",
              tls.p50_us, tls.p99_us, tls.p50_us - local.p50_us);
  return 0;
}
