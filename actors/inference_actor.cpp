#include "actors/inference_actor.hpp"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/middleman_transport.hpp"
#include "core/log_throttle.hpp"

namespace tb::actors {
namespace {

using done_atom = caf::atom_constant<caf::atom("inf_done")>;
using reloaded_atom = caf::atom_constant<caf::atom("inf_reload")>;
using publish_atom = caf::atom_constant<caf::atom("inf_pub")>;

constexpr auto publish_interval = std::chrono::seconds(1);

// A request whose valid windows are in the batcher: the reply holds the refused windows' answers
// already; `queued` are the positions the batcher's results go to, in order.
struct pending_request {
  caf::response_promise rp;
  forecast_reply reply;
  std::vector<std::size_t> queued;
  std::vector<core::sampling_params> params;  // of each queued window, to check its forecast
};

struct inference_state {
  std::shared_ptr<inference::model_service> service;
  std::shared_ptr<core::snapshot_board> board;
  config_ptr cfg;
  std::map<std::uint64_t, pending_request> pending;  // by id
  std::uint64_t next_id = 0;
  std::uint64_t invalid_windows = 0;  // refused before queuing (core::window_problem)
  core::log_throttle log{std::chrono::seconds(60)};
  std::uint64_t beats = 0;
  // A checkpoint reload in progress (on a detached thread holding what it needs).
  std::shared_ptr<std::atomic<bool>> loading = std::make_shared<std::atomic<bool>>(false);
  std::uint16_t published_port = 0;
  std::string publish_error;
  static inline const char* name = "inference";
};

// The forecaster interface and the actor's own messages (batch done, publish tick, reload done).
// inference_status is asked by remote pools through an untyped handle (actors/remote_inference).
using inference_impl =
    forecaster_actor::extend<caf::replies_to<inference_status_atom>::with<inference_status>,
                             caf::reacts_to<done_atom, std::uint64_t, forecast_reply>, caf::reacts_to<publish_atom>,
                             caf::reacts_to<reloaded_atom, std::string>>;
using inference_actor = inference_impl::stateful_base<inference_state>;

window_answer to_answer(inference::window_result r) {
  window_answer a;
  if (r) {
    a.ok = true;
    a.forecast = std::move(*r);
  } else {
    a.error_code = r.error().code;
    a.error = r.error().message;
  }
  return a;
}

forecast_reply to_reply(inference::completion done) {
  forecast_reply reply;
  if (done.model) reply.model = std::move(*done.model);
  reply.answers.reserve(done.results.size());
  for (auto& r : done.results) reply.answers.push_back(to_answer(std::move(r)));
  return reply;
}

// Puts the batcher's answers (or one error for all) at the positions their windows came from, and
// the model that computed them. A forecast that is not pred_len finite rows becomes an error here:
// CAF 0.17's serializer cannot carry NaN or infinity (pack754 turns NaN into a number and loops
// forever on infinity).
void fill(pending_request& p, forecast_reply computed) {
  p.reply.model = std::move(computed.model);
  for (std::size_t k = 0; k < p.queued.size() && k < computed.answers.size(); ++k) {
    auto& a = computed.answers[k];
    if (a.ok)
      if (const auto why = core::forecast_problem(a.forecast, p.params[k]); !why.empty())
        a = to_answer(inference::window_result(tb::error{errc::internal, "inference: a malformed forecast: " + why}));
    p.reply.answers[p.queued[k]] = std::move(a);
  }
}
void fill(pending_request& p, const tb::error& err) {
  for (const auto i : p.queued) p.reply.answers[i] = to_answer(inference::window_result(err));
}

std::vector<inference::batch_window> to_batch(std::vector<window_request> windows) {
  const auto now_sys = std::chrono::system_clock::now();
  const auto now_steady = inference::steady::now();
  std::vector<inference::batch_window> out;
  out.reserve(windows.size());
  for (auto& w : windows) {
    inference::batch_window b;
    b.window = std::move(w.window);
    b.prio = w.priority;
    if (w.deadline_unix_ns > 0) {
      const auto left = std::chrono::nanoseconds(w.deadline_unix_ns) - now_sys.time_since_epoch();
      b.deadline = now_steady + std::chrono::duration_cast<inference::steady::duration>(left);
    }
    out.push_back(std::move(b));
  }
  return out;
}

void publish(inference_actor* self) {
  auto& st = self->state;
  auto stats = st.service->stats();
  stats["published_port"] = st.published_port;
  stats["published_tls"] = tls_options_of(*st.cfg).enabled();
  stats["invalid_windows"] = st.invalid_windows;
  if (!st.publish_error.empty()) stats["publish_error"] = st.publish_error;
  st.board->publish("inference", std::move(stats));
  core::health_check check;
  check.detail = st.service->health();
  if (check.detail.contains("last_reload_error")) check.status = core::health_status::degraded;
  st.board->publish_check("model", std::move(check));
}

bool model_changed(const config& a, const config& b) {
  const auto& x = a.inference;
  const auto& y = b.inference;
  return x.model_dir != y.model_dir || x.device.dtype != y.device.dtype || x.device.device != y.device.device ||
         x.device.cpu_threads != y.device.cpu_threads;
}

inference_impl::behavior_type inference_behavior(inference_actor* self,
                                                 std::shared_ptr<inference::model_service> service,
                                                 std::shared_ptr<core::snapshot_board> board, config_ptr cfg) {
  auto& st = self->state;
  st.service = std::move(service);
  st.board = std::move(board);
  st.cfg = std::move(cfg);
  if (st.cfg->inference.middleman.publish) {
    // Published untyped: CAF's remote_actor<caf::actor> refuses a typed interface; a remote user
    // makes its typed handle with caf::actor_cast<forecaster_actor>.
    // Asked of the middleman actor, not waited for: this actor runs on a scheduler worker.
    const auto tls = tls_options_of(*st.cfg);
    const auto& mm_opts = st.cfg->inference.middleman;
    auto failed = [self, mm_opts](const caf::error& err) {
      self->state.publish_error = self->system().render(err);
      spdlog::error("inference: cannot publish on {}:{}: {}", mm_opts.publish_address, mm_opts.publish_port,
                    self->state.publish_error);
      publish(self);
    };
    if (auto mm = transport(self->system(), tls); !mm) {
      failed(mm.error());
    } else {
      // Whatever ports it holds are closed when this actor ends, however it ends (a reply still
      // on its way included): the middleman would otherwise keep a dead actor published (and
      // alive), and a restarted one could not bind the port.
      self->attach_functor(
          [sys = &self->system(), whom = self->address(), tls] { unpublish_actor(*sys, whom, 0, tls); });
      self->request(*mm, caf::infinite, caf::publish_atom::value, static_cast<std::uint16_t>(mm_opts.publish_port),
                    caf::actor_cast<caf::strong_actor_ptr>(self), std::set<std::string>{}, mm_opts.publish_address,
                    true)
          .then(
              [self, tls, address = mm_opts.publish_address](std::uint16_t port) {
                self->state.published_port = port;
                spdlog::info("inference: published on {}:{} ({})", address, port,
                             tls.enabled() ? "mutual TLS" : "plain, loopback");
                publish(self);
              },
              failed);
    }
  }
  publish(self);
  self->delayed_send(self, publish_interval, publish_atom::value);
  return {
      [self](forecast_atom, forecast_request& req) -> caf::result<forecast_reply> {
        auto& st = self->state;
        // Every window is checked before it is queued (from this process or another): a bad one
        // is answered invalid_argument on its own, the others are computed.
        pending_request p;
        p.reply.answers.resize(req.windows.size());
        std::vector<window_request> valid;
        for (std::size_t i = 0; i < req.windows.size(); ++i) {
          const auto why = core::window_problem(req.windows[i].window);
          if (why.empty()) {
            p.queued.push_back(i);
            p.params.push_back(req.windows[i].window.params);
            valid.push_back(std::move(req.windows[i]));
            continue;
          }
          ++st.invalid_windows;
          const std::string message = "inference: window " + std::to_string(i) + " (" +
                                      excerpt(req.windows[i].window.symbol, 16) + ") refused: " + why;
          p.reply.answers[i] = to_answer(inference::window_result(tb::error{errc::invalid_argument, message}));
          if (std::uint64_t held = 0; st.log.allow(&held))
            spdlog::warn("{} (from {}){}", message,
                         self->current_sender() ? to_string(self->current_sender()->node()) : "?",
                         core::suppressed_note(held));
        }
        if (valid.empty()) return std::move(p.reply);
        const auto id = ++st.next_id;
        auto me = caf::actor_cast<inference_impl>(self);
        auto err = st.service->submit(to_batch(std::move(valid)), [me, id](inference::completion done) {
          caf::anon_send(me, done_atom::value, id, to_reply(std::move(done)));
        });
        if (err) {
          fill(p, *err);
          return std::move(p.reply);
        }
        // The answer arrives as done_atom (processed after this handler returns).
        p.rp = self->make_response_promise();
        auto rp = p.rp;
        st.pending.emplace(id, std::move(p));
        return rp;
      },
      [self](done_atom, std::uint64_t id, forecast_reply& computed) {
        auto it = self->state.pending.find(id);
        if (it == self->state.pending.end()) return;
        fill(it->second, std::move(computed));
        it->second.rp.deliver(std::move(it->second.reply));
        self->state.pending.erase(it);
      },
      [self](publish_atom) {
        publish(self);
        self->delayed_send(self, publish_interval, publish_atom::value);
      },
      // The model serving now (the cache actor keys forecasts with it; a reload may change it).
      [self](model_identity_atom) { return self->state.service->identity(); },
      // Asked by remote pools: the identity and the load, for the choice of a host.
      [self](inference_status_atom) {
        const auto stats = self->state.service->stats();
        inference_status s;
        s.identity = self->state.service->identity();
        s.queued_rows = stats.value("queued_rows", std::uint64_t{0});
        s.computed_windows = stats.value("inference_count", std::uint64_t{0});
        return s;
      },
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        return {heartbeat_atom::value, ++self->state.beats};
      },
      [self](reload_atom, config_ptr next) {
        auto& st = self->state;
        const bool changed = model_changed(*st.cfg, *next);
        st.cfg = next;
        if (!changed) return;
        if (st.loading->exchange(true)) {
          spdlog::warn("inference: a checkpoint reload is already running; reload again when it is done");
          return;
        }
        const auto& opts = next->inference;
        auto me = caf::actor_cast<inference_impl>(self);
        std::thread([service = st.service, dir = opts.model_dir, device = opts.device, me, loading = st.loading] {
          auto id = service->reload(dir, device);
          loading->store(false);
          caf::anon_send(me, reloaded_atom::value, id ? std::string() : id.error().message);
        }).detach();
        spdlog::info("inference: loading {} in the background; the current model keeps serving", opts.model_dir);
      },
      [self](reloaded_atom, const std::string& error) {
        if (error.empty())
          spdlog::info("inference: new checkpoint in service ({})", self->state.service->identity().checkpoint_hash);
        else
          spdlog::error("inference: reload failed, the previous checkpoint keeps serving: {}", error);
        publish(self);
      },
      [self](stop_atom) {
        auto& st = self->state;
        // Queued work is cancelled and a batch in flight stops before its next series, so the
        // stop fits daemon.shutdown_deadline_s however much work was queued; the requesters
        // get errc::unavailable.
        st.service->stop();
        for (auto& [id, pending] : st.pending) {
          fill(pending, tb::error{errc::unavailable, "inference: stopped"});
          pending.rp.deliver(std::move(pending.reply));
        }
        st.pending.clear();
        publish(self);
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

forecaster_actor spawn_inference_actor(caf::local_actor* parent, std::shared_ptr<inference::model_service> service,
                                       std::shared_ptr<core::snapshot_board> board, config_ptr cfg) {
  // Scheduled, not detached: its handlers return at once (the model runs on the batcher's
  // executors, a reload on its own thread, publishing on the middleman's); only the stop waits
  // (the batch in flight reaching its next series). CAF 0.17 can hang
  // the actor system's destructor on a detached actor that a remote node talked to (CAF #1196,
  // fixed in 0.18): seen here as 1 in 10-40 runs of actors_middleman_transport_test.
  return parent->spawn(inference_behavior, std::move(service), std::move(board), std::move(cfg));
}

}  // namespace tb::actors
