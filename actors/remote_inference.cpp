#include "actors/remote_inference.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>
#include <caf/io/all.hpp>

#include "actors/middleman_transport.hpp"
#include "core/endpoint.hpp"
#include "core/latency_histogram.hpp"

namespace tb::actors {
namespace {

using steady = std::chrono::steady_clock;
using conn_atom = caf::atom_constant<caf::atom("rinf_conn")>;
using retry_atom = caf::atom_constant<caf::atom("rinf_retry")>;
using tick_atom = caf::atom_constant<caf::atom("rinf_tick")>;

constexpr auto tick_interval = std::chrono::seconds(1);
constexpr auto status_timeout = std::chrono::seconds(5);
constexpr auto identity_wait = std::chrono::seconds(5);
constexpr auto first_backoff = std::chrono::milliseconds(100);
constexpr std::size_t no_host = std::numeric_limits<std::size_t>::max();

enum class host_phase { connecting, connected, down, refused };

const char* to_string(host_phase p) {
  switch (p) {
    case host_phase::connecting:
      return "connecting";
    case host_phase::connected:
      return "connected";
    case host_phase::down:
      return "down";
    case host_phase::refused:
      return "refused";
  }
  return "unknown";
}

// One inference host as this pool sees it. Pool actor thread only.
struct host_state {
  core::endpoint ep;
  host_phase state = host_phase::connecting;
  caf::actor handle;                             // set from a successful connect until the connection is lost
  std::uint64_t gen = 0;                         // bumped on each connect attempt and loss: older answers are ignored
  std::optional<core::model_identity> identity;  // as the host last reported it
  std::uint64_t requests = 0, failures = 0;
  std::uint64_t in_flight = 0, in_flight_rows = 0;  // this pool's requests at the host now
  std::uint64_t queued_rows = 0;                    // the host's batcher queue, as last reported
  std::uint64_t computed_windows = 0;               // the host's own count, as last reported
  std::string last_error;
  core::latency_histogram rtt;  // request sent -> reply (successful ones)
  std::chrono::milliseconds backoff = first_backoff;
  bool status_pending = false;
};

// One forecast_request from its arrival to its one reply. Pool actor thread only.
struct pending_request {
  caf::response_promise rp;
  forecast_request req;
  std::uint64_t rows = 0;       // windows x samples
  steady::time_point deadline;  // arrival + trading.forecast_timeout_s
  std::size_t host = no_host;   // where it is now (no_host: waiting for a host)
  std::uint64_t attempt = 0;    // the current send; answers of an older one are ignored
  steady::time_point sent;
};

struct pool_state {
  std::shared_ptr<core::snapshot_board> board;
  config_ptr cfg;
  std::vector<std::unique_ptr<host_state>> hosts;
  std::optional<core::model_identity> identity;  // the pool's: fixed by the first matching host
  bool ever_connected = false;
  std::map<std::uint64_t, pending_request> requests;  // every request not yet answered
  std::deque<std::uint64_t> waiting;                  // ids of requests with no host to go to
  std::vector<std::pair<caf::response_promise, steady::time_point>> identity_waiters;
  std::uint64_t next_id = 0, next_attempt = 0, beats = 0;
  static inline const char* name = "remote-inference";
};

using pool_actor = caf::stateful_actor<pool_state>;

std::string describe(const core::model_identity& id) {
  return id.checkpoint_hash.substr(0, 16) + " (" + id.dtype + (id.compile ? ", compiled" : "") + ")";
}

nlohmann::json to_json(const std::optional<core::model_identity>& id) {
  if (!id) return nullptr;
  return {{"checkpoint_hash", id->checkpoint_hash}, {"dtype", id->dtype}, {"compile", id->compile}};
}

forecast_reply all_failed(std::size_t n, errc code, const std::string& message) {
  window_answer a;
  a.error_code = code;
  a.error = message;
  forecast_reply r;
  r.answers.assign(n, a);
  return r;
}

void send_request(pool_actor* self, std::uint64_t id);
void lose_host(pool_actor* self, std::size_t i, const std::string& why);

// Takes a request off its host's books (it is answered, or about to go elsewhere).
void release(pool_actor* self, pending_request& p) {
  if (p.host == no_host) return;
  auto& h = *self->state.hosts[p.host];
  h.in_flight -= 1;
  h.in_flight_rows -= p.rows;
  p.host = no_host;
}

void answer(pool_actor* self, std::uint64_t id, forecast_reply reply) {
  auto it = self->state.requests.find(id);
  if (it == self->state.requests.end()) return;
  release(self, it->second);
  it->second.rp.deliver(std::move(reply));
  self->state.requests.erase(it);
}

// Sends the requests of host i elsewhere (it was lost or refused).
void redispatch_from(pool_actor* self, std::size_t i) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, p] : self->state.requests)
    if (p.host == i) ids.push_back(id);
  for (const auto id : ids) {
    release(self, self->state.requests.at(id));
    send_request(self, id);
  }
}

void drain_waiting(pool_actor* self) {
  std::deque<std::uint64_t> ids;
  ids.swap(self->state.waiting);
  for (const auto id : ids)
    if (self->state.requests.count(id)) send_request(self, id);
}

// A host reported `id`: is it usable? Fixes the pool's identity on the first match; moves the
// host between connected and refused. Pool actor thread.
bool accept_identity(pool_actor* self, std::size_t i, const core::model_identity& id) {
  auto& st = self->state;
  auto& h = *st.hosts[i];
  h.identity = id;
  const auto& want = st.cfg->inference.middleman.model_identity;
  if (!st.identity && (want.empty() || id.checkpoint_hash.rfind(want, 0) == 0)) {
    st.identity = id;
    spdlog::info("remote inference: the pool serves model {} (first matching host {})", describe(id),
                 core::to_string(h.ep));
    for (auto& [rp, since] : st.identity_waiters) rp.deliver(id);
    st.identity_waiters.clear();
  }
  if (st.identity && core::same_model(*st.identity, id)) {
    if (h.state != host_phase::connected) {
      spdlog::info("remote inference: {} connected, model {}", core::to_string(h.ep), describe(id));
      h.state = host_phase::connected;
      h.backoff = first_backoff;
      st.ever_connected = true;
      drain_waiting(self);
    }
    return true;
  }
  if (h.state != host_phase::refused) {
    h.last_error = "serves model " + describe(id) + ", not " +
                   (st.identity ? describe(*st.identity) : "inference.model_identity = \"" + want + "\"");
    spdlog::error("remote inference: {} refused: it {}; it is not used until it serves the pool's model",
                  core::to_string(h.ep), h.last_error);
    h.state = host_phase::refused;
    redispatch_from(self, i);
  }
  return false;
}

// Asks host i for its identity and queue; `then(usable)` runs with the answer (a failed ask loses
// the host instead). Pool actor thread.
template <class F>
void ask_status(pool_actor* self, std::size_t i, F then) {
  auto& h = *self->state.hosts[i];
  if (!h.handle) return;
  const auto gen = h.gen;
  self->request(h.handle, status_timeout, inference_status_atom::value)
      .then(
          [self, i, gen, then](inference_status& s) {
            auto& h = *self->state.hosts[i];
            if (h.gen != gen) return;
            h.queued_rows = s.queued_rows;
            h.computed_windows = s.computed_windows;
            then(accept_identity(self, i, s.identity));
          },
          [self, i, gen](caf::error& err) {
            auto& h = *self->state.hosts[i];
            if (h.gen != gen) return;
            ++h.failures;
            lose_host(self, i, "status request failed: " + self->system().render(err));
          });
}

// The tick's question to host i (one at a time per connection).
void poll_status(pool_actor* self, std::size_t i) {
  auto& h = *self->state.hosts[i];
  if (!h.handle || h.status_pending) return;
  h.status_pending = true;
  const auto gen = h.gen;
  ask_status(self, i, [self, i, gen](bool) {
    auto& h = *self->state.hosts[i];
    if (h.gen == gen) h.status_pending = false;
  });
}

// The connected host with the fewest rows queued (reported) plus in flight (ours).
std::size_t pick_host(pool_actor* self) {
  std::size_t best = no_host;
  std::uint64_t best_load = 0;
  for (std::size_t i = 0; i < self->state.hosts.size(); ++i) {
    const auto& h = *self->state.hosts[i];
    if (h.state != host_phase::connected) continue;
    const auto load = h.queued_rows + h.in_flight_rows;
    if (best == no_host || load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

// The reply of one attempt arrived: checked (size, the model that computed it), then delivered.
void on_reply(pool_actor* self, std::uint64_t id, std::uint64_t attempt, forecast_reply reply);

void on_failure(pool_actor* self, std::uint64_t id, std::uint64_t attempt, const std::string& why) {
  auto it = self->state.requests.find(id);
  if (it == self->state.requests.end() || it->second.attempt != attempt) return;
  auto& p = it->second;
  const auto i = p.host;
  if (i != no_host) {
    ++self->state.hosts[i]->failures;
    self->state.hosts[i]->last_error = why;
  }
  if (steady::now() >= p.deadline) {
    answer(self, id, all_failed(p.req.windows.size(), errc::timeout, "remote inference: " + why));
    return;
  }
  if (i != no_host)
    lose_host(self, i, why);  // sends this request (and the host's others) elsewhere
  else
    send_request(self, id);
}

void send_request(pool_actor* self, std::uint64_t id) {
  auto& st = self->state;
  auto& p = st.requests.at(id);
  const auto now = steady::now();
  if (now >= p.deadline) {
    answer(self, id,
           all_failed(p.req.windows.size(), errc::unavailable,
                      "remote inference: no inference host answered within trading.forecast_timeout_s"));
    return;
  }
  const auto i = pick_host(self);
  if (i == no_host) {
    st.waiting.push_back(id);
    return;
  }
  auto& h = *st.hosts[i];
  p.host = i;
  p.attempt = ++st.next_attempt;
  p.sent = now;
  ++h.requests;
  ++h.in_flight;
  h.in_flight_rows += p.rows;
  const auto attempt = p.attempt;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now) + std::chrono::milliseconds(1);
  self->request(h.handle, left, forecast_atom::value, p.req)
      .then([self, id, attempt](forecast_reply& r) { on_reply(self, id, attempt, std::move(r)); },
            [self, id, attempt](caf::error& err) { on_failure(self, id, attempt, self->system().render(err)); });
}

void on_reply(pool_actor* self, std::uint64_t id, std::uint64_t attempt, forecast_reply reply) {
  auto it = self->state.requests.find(id);
  if (it == self->state.requests.end() || it->second.attempt != attempt) return;
  auto& p = it->second;
  const auto i = p.host;
  if (reply.answers.size() != p.req.windows.size()) {
    on_failure(
        self, id, attempt,
        "answered " + std::to_string(reply.answers.size()) + " windows for " + std::to_string(p.req.windows.size()));
    return;
  }
  self->state.hosts[i]->rtt.record(steady::now() - p.sent);
  // Used only if the pool's model computed it (a host's reload swaps models between batches); a
  // refusal sends this request elsewhere (accept_identity). The reply names that model; where it
  // names none (nothing computed, or two models computed it) the host is asked which model it
  // serves now, after the batch.
  if (!reply.model.checkpoint_hash.empty()) {
    if (accept_identity(self, i, reply.model)) answer(self, id, std::move(reply));
    return;
  }
  auto shared = std::make_shared<forecast_reply>(std::move(reply));
  ask_status(self, i, [self, id, attempt, shared](bool usable) {
    if (!usable) return;  // refused: accept_identity sent this request elsewhere
    auto it = self->state.requests.find(id);
    if (it == self->state.requests.end() || it->second.attempt != attempt) return;
    answer(self, id, std::move(*shared));
  });
}

// Connects host i on a helper actor (the connect blocks); the answer comes as conn_atom.
void start_connect(pool_actor* self, std::size_t i) {
  auto& h = *self->state.hosts[i];
  h.state = host_phase::connecting;
  const auto gen = ++h.gen;
  auto pool = caf::actor_cast<caf::actor>(self);
  self->spawn([pool, ep = h.ep, tls = tls_options_of(*self->state.cfg), i, gen](caf::blocking_actor* b) {
    auto r = connect_actor(b->system(), ep.host, ep.port, tls);
    if (r)
      b->send(pool, conn_atom::value, static_cast<std::uint64_t>(i), gen, *r, std::string());
    else
      b->send(pool, conn_atom::value, static_cast<std::uint64_t>(i), gen, caf::actor(), b->system().render(r.error()));
  });
}

void lose_host(pool_actor* self, std::size_t i, const std::string& why) {
  auto& st = self->state;
  auto& h = *st.hosts[i];
  if (h.handle) self->demonitor(h.handle);
  h.handle = nullptr;
  const auto gen = ++h.gen;
  h.state = host_phase::down;
  h.last_error = why;
  h.status_pending = false;
  spdlog::warn("remote inference: {} is down ({}); retrying in {} ms", core::to_string(h.ep), why, h.backoff.count());
  redispatch_from(self, i);
  self->delayed_send(self, h.backoff, retry_atom::value, static_cast<std::uint64_t>(i), gen);
  h.backoff = std::min(h.backoff * 2, std::chrono::milliseconds(st.cfg->inference.middleman.remote_backoff_max));
}

void publish(pool_actor* self) {
  auto& st = self->state;
  nlohmann::json hosts = nlohmann::json::array();
  std::size_t connected = 0;
  nlohmann::json not_up = nlohmann::json::object();
  for (const auto& hp : st.hosts) {
    const auto& h = *hp;
    if (h.state == host_phase::connected)
      ++connected;
    else
      not_up[core::to_string(h.ep)] = to_string(h.state) + (h.last_error.empty() ? "" : ": " + h.last_error);
    hosts.push_back({{"address", core::to_string(h.ep)},
                     {"state", to_string(h.state)},
                     {"up", h.state == host_phase::connected},
                     {"model", to_json(h.identity)},
                     {"requests", h.requests},
                     {"failures", h.failures},
                     {"in_flight", h.in_flight},
                     {"in_flight_rows", h.in_flight_rows},
                     {"queued_rows", h.queued_rows},
                     {"computed_windows", h.computed_windows},
                     {"last_error", h.last_error},
                     {"rtt_ms", {{"p50", h.rtt.quantile_us(0.5) / 1000.0}, {"p99", h.rtt.quantile_us(0.99) / 1000.0}}},
                     {"rtt_seconds", core::to_json(h.rtt.prometheus())}});
  }
  st.board->publish("inference", {{"mode", "remote"},
                                  {"remote", hosts},
                                  {"model", to_json(st.identity)},
                                  {"expected_model_identity", st.cfg->inference.middleman.model_identity},
                                  {"requests_pending", st.requests.size()},
                                  {"requests_waiting", st.waiting.size()}});
  core::health_check check;
  check.detail = {{"remote_hosts", st.hosts.size()}, {"connected", connected}, {"not_connected", not_up}};
  if (connected == st.hosts.size())
    check.status = core::health_status::ok;
  else if (connected == 0 && st.ever_connected)
    check.status = core::health_status::failing;
  else
    check.status = core::health_status::degraded;  // some host is not up, or none has connected yet
  st.board->publish_check("model", std::move(check));
}

// Requests and identity questions that waited too long for a host. Pool actor thread.
void expire(pool_actor* self) {
  auto& st = self->state;
  const auto now = steady::now();
  std::deque<std::uint64_t> keep;
  for (const auto id : st.waiting) {
    auto it = st.requests.find(id);
    if (it == st.requests.end()) continue;
    if (now >= it->second.deadline)
      answer(self, id,
             all_failed(it->second.req.windows.size(), errc::unavailable,
                        "remote inference: no inference host connected within trading.forecast_timeout_s"));
    else
      keep.push_back(id);
  }
  st.waiting.swap(keep);
  auto& iw = st.identity_waiters;
  for (auto it = iw.begin(); it != iw.end();) {
    if (now - it->second < identity_wait) {
      ++it;
      continue;
    }
    it->first.deliver(caf::make_error(caf::sec::runtime_error, "remote inference: no host serving the model yet"));
    it = iw.erase(it);
  }
}

caf::behavior pool_behavior(pool_actor* self, std::shared_ptr<core::snapshot_board> board, config_ptr cfg) {
  auto& st = self->state;
  st.board = std::move(board);
  st.cfg = std::move(cfg);
  for (const auto& r : st.cfg->inference.middleman.remote) {
    auto ep = core::parse_endpoint(r);  // validated with the config
    auto h = std::make_unique<host_state>();
    h->ep = ep ? *ep : core::endpoint{r, 0};
    st.hosts.push_back(std::move(h));
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& hosts = self->state.hosts;
    for (std::size_t i = 0; i < hosts.size(); ++i)
      if (hosts[i]->handle && hosts[i]->handle.address() == dm.source)
        lose_host(self, i, "connection lost (" + self->system().render(dm.reason) + ")");
  });
  for (std::size_t i = 0; i < st.hosts.size(); ++i) start_connect(self, i);
  publish(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
      [self](forecast_atom, forecast_request& req) -> caf::result<forecast_reply> {
        auto& st = self->state;
        const auto id = ++st.next_id;
        pending_request p;
        p.rp = self->make_response_promise();
        for (const auto& w : req.windows)
          p.rows += static_cast<std::uint64_t>(std::max(1, w.window.params.sample_count));
        p.req = std::move(req);
        p.deadline =
            steady::now() + std::chrono::milliseconds(static_cast<long>(st.cfg->trading.forecast_timeout_s * 1000));
        auto rp = p.rp;
        st.requests.emplace(id, std::move(p));
        send_request(self, id);
        return rp;
      },
      [self](conn_atom, std::uint64_t i, std::uint64_t gen, caf::actor& handle, std::string& error) {
        auto& h = *self->state.hosts.at(i);
        if (h.gen != gen) return;
        if (!handle) {
          ++h.failures;
          lose_host(self, i, "cannot connect: " + error);
          return;
        }
        h.handle = handle;
        self->monitor(handle);
        ask_status(self, i, [](bool) {});
      },
      [self](retry_atom, std::uint64_t i, std::uint64_t gen) {
        auto& h = *self->state.hosts.at(i);
        if (h.gen == gen && !h.handle) start_connect(self, i);
      },
      [self](tick_atom) {
        for (std::size_t i = 0; i < self->state.hosts.size(); ++i) poll_status(self, i);
        expire(self);
        publish(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [self](model_identity_atom) -> caf::result<core::model_identity> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        if (st.identity)
          rp.deliver(*st.identity);
        else
          st.identity_waiters.emplace_back(rp, steady::now());
        return rp;
      },
      [self](heartbeat_atom) { return caf::make_message(heartbeat_atom::value, ++self->state.beats); },
      [self](reload_atom, config_ptr next) { self->state.cfg = std::move(next); },  // inference.* restart-only
      [self](stop_atom) {
        auto& st = self->state;
        for (auto& [id, p] : st.requests)
          p.rp.deliver(all_failed(p.req.windows.size(), errc::unavailable, "remote inference: stopped"));
        st.requests.clear();
        st.waiting.clear();
        for (auto& [rp, since] : st.identity_waiters)
          rp.deliver(caf::make_error(caf::sec::runtime_error, "remote inference: stopped"));
        st.identity_waiters.clear();
        for (auto& h : st.hosts)
          if (h->handle) self->demonitor(h->handle);
        publish(self);
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

caf::actor spawn_remote_inference(caf::local_actor* parent, std::shared_ptr<core::snapshot_board> board,
                                  config_ptr cfg) {
  return parent->spawn(pool_behavior, std::move(board), std::move(cfg));
}

}  // namespace tb::actors
