#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/latency_histogram.hpp"
#include "core/log_throttle.hpp"

namespace tb::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using beast::error_code;

// The one failure reporter. Per-connection failures come from clients (resets, garbage), so they
// are logged at debug level only; operation_aborted is the normal result of stop().
void fail(error_code ec, const char* what) {
  if (ec == net::error::operation_aborted) return;
  spdlog::debug("http: {}: {}", what, ec.message());
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

std::string endpoint_text(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Where an accepted connection was put.
enum class slot {
  general,  // the general pool: every path, keep-alive, io_timeout
  probe,    // the probe reserve: one request, /health[/live|/ready] only, probe_timeout
  shed,     // answered the overload 503 at once, then closed
};

// A shed connection's 503 is logged at most this often (with the count held back).
constexpr std::chrono::seconds overload_log_interval{10};

class session;
class listener;

}  // namespace

// Shared by the listener and the sessions. Member order matters: the io_context is destroyed
// before the registry, because destroying it destroys leftover sessions, which unregister.
struct server::impl {
  impl(server_options o, std::shared_ptr<const core::snapshot_board> b, server_info i)
      : opts_(std::move(o)),
        board_(std::move(b)),
        info_(std::move(i)),
        ioc_(static_cast<int>(opts_.threads == 0 ? 1 : opts_.threads)) {}

  // Called on the listener's strand with a freshly accepted socket: puts it in a slot.
  void on_accept(tcp::socket socket);
  // Called from a session's destructor (any io thread).
  void unregister(session* s, slot kind, const net::ip::address& peer);
  nlohmann::json counters() const;
  // Any io thread: counts one connection shed with the overload 503 and logs it (throttled).
  void note_shed(const std::string& why);
  // Any io thread: counts one 401 (missing or wrong bearer token) and logs it (throttled).
  void note_unauthorized(const net::ip::address& peer, std::string_view path);
  // The overload 503: JSON body naming why, `Retry-After`, connection closed.
  response overload_response(const std::string& why, unsigned version) const;
  // A reserve connection that has not sent a whole request yet, oldest first, taken out of
  // probes_ (the caller evicts it); null when there is none. mu_ must be held.
  std::shared_ptr<session> take_idle_probe();

  const server_options opts_;
  const std::shared_ptr<const core::snapshot_board> board_;
  const server_info info_;

  std::atomic<std::uint64_t> accepted_{0}, rejected_{0}, over_client_limit_{0}, probes_total_{0}, probe_evictions_{0},
      requests_{0}, bad_requests_{0}, timeouts_{0}, responses_2xx_{0}, responses_4xx_{0}, responses_5xx_{0},
      unauthorized_{0};
  // Per metric_routes entry: from a request read whole to its response written (any io thread).
  std::array<core::latency_histogram, std::size(metric_routes)> request_duration_;
  core::log_throttle shed_log_{overload_log_interval};
  core::log_throttle unauthorized_log_{overload_log_interval};

  mutable std::mutex mu_;  // guards sessions_, serving_, per_client_, probes_, stopping_
  std::unordered_map<session*, std::weak_ptr<session>> sessions_;
  std::size_t serving_ = 0;                             // sessions in the general pool
  std::map<net::ip::address, std::size_t> per_client_;  // general-pool sessions by remote address
  std::vector<session*> probes_;                        // sessions holding a reserve slot, oldest first
  bool stopping_ = false;

  std::mutex run_mu_;  // guards running_threads_
  std::condition_variable run_cv_;
  std::size_t running_threads_ = 0;

  net::io_context ioc_;
  std::shared_ptr<listener> listener_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  enum class state { idle, running, stopped } state_ = state::idle;  // main thread only
};

namespace {

// One connection. Runs on its own strand: every member is touched only by handlers on it.
// Read one request (one deadline for all of it), answer it, repeat while keep-alive; close with
// a lingering drain so the client sees the last response rather than a reset.
class session : public std::enable_shared_from_this<session> {
 public:
  // `overload`: why the connection is not in the general pool (probe and shed slots).
  session(server::impl& srv, tcp::socket&& socket, slot kind, net::ip::address peer, std::string overload)
      : srv_(srv), stream_(std::move(socket)), kind_(kind), peer_(std::move(peer)), overload_(std::move(overload)) {}

  ~session() { srv_.unregister(this, kind_, peer_); }

  // Any thread: starts on the strand, either reading a request or only answering 503.
  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->kind_ == slot::shed) {
        self->send(self->srv_.overload_response(self->overload_, 11));
      } else {
        self->do_read();
      }
    });
  }

  // Any thread: true once the first read finished (a request, an error or a timeout); a
  // reserve slot is then no longer taken back.
  bool read_done() const { return read_done_.load(std::memory_order_relaxed); }

  // Any thread: a reserve connection that lost its slot to a newer one. Its read is cancelled
  // and it gets the overload 503, unless its read finished meanwhile (then it goes on).
  void evict() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->closing_ || self->read_done()) return;
      self->evicted_ = true;
      self->stream_.cancel();  // on_read runs with operation_aborted and sends the 503
    });
  }

  // Any thread (stop()): closes the connection; pending operations end with operation_aborted.
  void close_now() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

  // Only once no io thread runs (stop() after a hard stop): closes the socket directly so
  // clients see the close now rather than when the server is destroyed.
  void close_after_stop() {
    closing_ = true;
    error_code ec;
    stream_.socket().close(ec);
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(srv_.opts_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(srv_.opts_.max_body_bytes);
    stream_.expires_after(timeout());
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (evicted_ && !closing_) {
      const std::string why = overload_ + " (a newer connection took this reserve slot)";
      srv_.note_shed(why);
      return send(srv_.overload_response(why, 11));
    }
    read_done_.store(true, std::memory_order_relaxed);
    if (ec == beast::error::timeout) {
      ++srv_.timeouts_;  // tcp_stream already closed the socket
      return fail(ec, "read");
    }
    if (closing_) return;
    if (ec == bhttp::error::end_of_stream) return do_close();  // client closed between requests
    if (ec == bhttp::error::header_limit)
      return reject(bhttp::status::request_header_fields_too_large,
                    "request header larger than " + std::to_string(srv_.opts_.max_header_bytes) + " bytes");
    if (ec == bhttp::error::body_limit)
      return reject(bhttp::status::payload_too_large,
                    "request body larger than " + std::to_string(srv_.opts_.max_body_bytes) + " bytes");
    if (ec && is_parse_error(ec)) return reject(bhttp::status::bad_request, "malformed request: " + ec.message());
    if (ec) return fail(ec, "read");

    ++srv_.requests_;
    const request& req = parser_->get();
    const std::string_view path = request_path({req.target().data(), req.target().size()});
    timing_ = request_timing{std::chrono::steady_clock::now(), metric_route(path)};
    if (kind_ == slot::probe && !is_probe_path(path)) {
      const std::string why = overload_ + " (a reserve connection serves /health, /health/live and /health/ready only)";
      srv_.note_shed(why);
      return send(srv_.overload_response(why, req.version()));
    }
    response res = handle_request(req, *srv_.board_, srv_.info_, [this] {
      return nlohmann::json{{"http", srv_.counters()}};
    });
    if (res.result() == bhttp::status::unauthorized) srv_.note_unauthorized(peer_, path);
    if (kind_ == slot::probe) res.keep_alive(false);  // one request per reserve slot
    send(std::move(res));
  }

  // A request the parser refused: answer, then close (the rest of the stream cannot be trusted).
  void reject(bhttp::status status, const std::string& message) {
    ++srv_.bad_requests_;
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    send(error_response(status, message, version, false));
  }

  void send(response res) {
    res_ = std::move(res);
    const unsigned cls = res_.result_int() / 100;
    if (cls == 2)
      ++srv_.responses_2xx_;
    else if (cls == 4)
      ++srv_.responses_4xx_;
    else if (cls == 5)
      ++srv_.responses_5xx_;
    stream_.expires_after(timeout());
    bhttp::async_write(stream_, res_,
                       beast::bind_front_handler(&session::on_write, shared_from_this(), res_.keep_alive()));
  }

  void on_write(bool keep_alive, error_code ec, std::size_t) {
    if (timing_) {
      srv_.request_duration_[timing_->route].record(std::chrono::steady_clock::now() - timing_->read_at);
      timing_.reset();
    }
    if (ec == beast::error::timeout) ++srv_.timeouts_;
    if (closing_) return;
    if (ec) return fail(ec, "write");
    if (!keep_alive) return do_close();
    do_read();
  }

  // Lingering close: send FIN, then read and discard what the client still sends (bounded in
  // bytes and by timeout()) so that closing does not reset the connection under a response
  // the client has not read yet.
  void do_close() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;  // already gone; the destructor closes the socket
    stream_.expires_after(timeout());
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(net::buffer(drain_), beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(error_code ec, std::size_t n) {
    if (closing_ || ec) return;  // EOF, timeout, reset: done; the destructor closes
    drained_ += n;
    if (drained_ > max_drain_bytes) return;
    do_drain();
  }

  // Every operation's bound: io_timeout in the general pool, the short probe_timeout for the
  // reserve and for shed connections.
  std::chrono::milliseconds timeout() const {
    return kind_ == slot::general ? srv_.opts_.io_timeout : srv_.opts_.probe_timeout;
  }

  static constexpr std::size_t max_drain_bytes = 1 << 20;

  server::impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  response res_;
  std::array<char, 4096> drain_{};
  std::size_t drained_ = 0;
  const slot kind_;
  const net::ip::address peer_;
  const std::string overload_;
  std::atomic<bool> read_done_{false};
  // The request being answered (set when one was read whole, cleared when its response is written).
  struct request_timing {
    std::chrono::steady_clock::time_point read_at;
    std::size_t route;  // index into metric_routes
  };
  std::optional<request_timing> timing_;
  bool evicted_ = false;
  bool closing_ = false;
};

// Accepts connections on its own strand and hands each to a new session.
class listener : public std::enable_shared_from_this<listener> {
 public:
  explicit listener(server::impl& srv)
      : srv_(srv), acceptor_(net::make_strand(srv.ioc_)), backoff_(acceptor_.get_executor()) {}

  // Caller's thread, before the io threads run. Returns the bound port.
  tb::expected<std::uint16_t> open(const tcp::endpoint& ep, const std::string& where) {
    error_code ec;
    auto failed = [&](const char*) -> tb::expected<std::uint16_t> {
      error_code ignored;
      acceptor_.close(ignored);
      return tb::error{errc::io, "http: cannot listen on " + where + ": " + ec.message()};
    };
    acceptor_.open(ep.protocol(), ec);
    if (ec) return failed("open");
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return failed("set_option");
    acceptor_.bind(ep, ec);
    if (ec) return failed("bind");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return failed("listen");
    auto local = acceptor_.local_endpoint(ec);
    if (ec) return failed("local_endpoint");
    return local.port();
  }

  void run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  // Any thread.
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      self->acceptor_.close(ec);
      self->backoff_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(srv_.ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      // e.g. EMFILE: report, then back off instead of spinning on the same error.
      if (ec != net::error::operation_aborted) spdlog::warn("http: accept: {}", ec.message());
      backoff_.expires_after(std::chrono::milliseconds(50));
      backoff_.async_wait([self = shared_from_this()](error_code e) {
        if (!e && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
    srv_.on_accept(std::move(socket));
    do_accept();
  }

  server::impl& srv_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
};

}  // namespace

void server::impl::on_accept(tcp::socket socket) {
  error_code ec;
  const net::ip::address peer = socket.remote_endpoint(ec).address();
  if (ec) {  // the client is already gone
    socket.close(ec);
    return;
  }
  std::shared_ptr<session> s, evicted;
  slot kind = slot::general;
  std::string overload;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      socket.close(ec);
      return;
    }
    const auto mine = per_client_.find(peer);
    const bool client_full = mine != per_client_.end() && mine->second >= opts_.max_connections_per_client;
    const bool pool_full = serving_ >= opts_.max_connections;
    if (!pool_full && !client_full) {
      ++serving_;
      ++per_client_[peer];
      ++accepted_;
    } else {
      if (pool_full) {
        overload = "all " + std::to_string(opts_.max_connections) + " connections are in use";
      } else {
        ++over_client_limit_;
        overload = peer.to_string() + " holds " + std::to_string(mine->second) + " connections, the per-client limit";
      }
      if (probes_.size() < opts_.probe_reserve || (evicted = take_idle_probe())) {
        kind = slot::probe;
        ++probes_total_;
        if (evicted) ++probe_evictions_;
      } else {
        kind = slot::shed;
      }
    }
    s = std::make_shared<session>(*this, std::move(socket), kind, peer, overload);
    sessions_.emplace(s.get(), s);
    if (kind == slot::probe) probes_.push_back(s.get());
  }
  if (evicted) evicted->evict();
  if (kind == slot::shed) note_shed(overload);
  s->start();
}

std::shared_ptr<session> server::impl::take_idle_probe() {
  for (auto it = probes_.begin(); it != probes_.end(); ++it) {
    if ((*it)->read_done()) continue;
    const auto found = sessions_.find(*it);
    if (found == sessions_.end()) continue;
    if (auto s = found->second.lock()) {  // else being destroyed: it unregisters itself
      probes_.erase(it);
      return s;
    }
  }
  return nullptr;
}

void server::impl::unregister(session* s, slot kind, const net::ip::address& peer) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(s);
  if (kind == slot::general) {
    --serving_;
    const auto mine = per_client_.find(peer);
    if (mine != per_client_.end() && --mine->second == 0) per_client_.erase(mine);
  } else if (kind == slot::probe) {
    const auto it = std::find(probes_.begin(), probes_.end(), s);
    if (it != probes_.end()) probes_.erase(it);  // else already taken back by take_idle_probe
  }
}

void server::impl::note_shed(const std::string& why) {
  ++rejected_;
  std::uint64_t held = 0;
  if (shed_log_.allow(&held))
    spdlog::warn("http: overloaded, shedding connections with 503: {}{}", why, core::suppressed_note(held));
}

void server::impl::note_unauthorized(const net::ip::address& peer, std::string_view path) {
  ++unauthorized_;
  std::uint64_t held = 0;
  if (unauthorized_log_.allow(&held))
    spdlog::warn("http: 401 for {} from {}: missing or wrong bearer token{}", path.substr(0, 200), peer.to_string(),
                 core::suppressed_note(held));
}

response server::impl::overload_response(const std::string& why, unsigned version) const {
  // A general-pool slot frees within io_timeout at the latest, unless its client keeps it busy.
  const auto retry_s = std::max<long long>(1, (opts_.io_timeout.count() + 999) / 1000);
  response res =
      error_response(bhttp::status::service_unavailable,
                     "server overloaded: " + why + "; retry after " + std::to_string(retry_s) + " s", version, false);
  res.set(bhttp::field::retry_after, std::to_string(retry_s));
  return res;
}

nlohmann::json server::impl::counters() const {
  std::size_t open = 0, probes_open = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open = serving_;
    probes_open = probes_.size();
  }
  nlohmann::json durations = nlohmann::json::object();
  for (std::size_t i = 0; i < request_duration_.size(); ++i)
    durations[metric_routes[i]] = core::to_json(request_duration_[i].prometheus());
  return nlohmann::json{
      {"connections_accepted_total", accepted_.load()},
      {"connections_rejected_total", rejected_.load()},
      {"connections_over_client_limit_total", over_client_limit_.load()},
      {"connections_open", open},
      {"probe_connections_total", probes_total_.load()},
      {"probe_connections_open", probes_open},
      {"probe_evictions_total", probe_evictions_.load()},
      {"requests_total", requests_.load()},
      {"responses_2xx_total", responses_2xx_.load()},
      {"responses_4xx_total", responses_4xx_.load()},
      {"responses_5xx_total", responses_5xx_.load()},
      {"bad_requests_total", bad_requests_.load()},
      {"timeouts_total", timeouts_.load()},
      {"request_duration_seconds", std::move(durations)},
      {"unauthorized_total", unauthorized_.load()},
  };
}

server::server(server_options options, std::shared_ptr<const core::snapshot_board> board, server_info info)
    : impl_(std::make_unique<impl>(std::move(options), std::move(board), std::move(info))) {}

server::~server() { stop(); }

std::uint16_t server::port() const { return impl_->port_; }

nlohmann::json server::counters() const { return impl_->counters(); }

tb::expected<std::uint16_t> server::start() {
  impl& m = *impl_;
  if (m.state_ != impl::state::idle) return tb::error{errc::invalid_argument, "http: server already started"};
  if (!m.board_) return tb::error{errc::invalid_argument, "http: no snapshot board"};
  if (m.opts_.io_timeout.count() <= 0 || m.opts_.probe_timeout.count() <= 0)
    return tb::error{errc::bad_config, "http: io_timeout and probe_timeout must be positive"};

  error_code ec;
  const auto address = net::ip::make_address(m.opts_.address, ec);
  if (ec)
    return tb::error{errc::bad_config,
                     "http: invalid listen address '" + m.opts_.address + "': expected an IPv4 or IPv6 literal"};

  auto l = std::make_shared<listener>(m);
  auto port = l->open(tcp::endpoint(address, m.opts_.port), endpoint_text(m.opts_.address, m.opts_.port));
  if (!port) return port;

  m.listener_ = std::move(l);
  m.port_ = *port;
  m.listener_->run();  // queues the first accept so the io threads have work
  const std::size_t n = m.opts_.threads == 0 ? 1 : m.opts_.threads;
  m.running_threads_ = n;
  for (std::size_t i = 0; i < n; ++i) {
    m.threads_.emplace_back([&m] {
      for (;;) {
        try {
          m.ioc_.run();
          break;
        } catch (const std::exception& e) {  // a handler threw: log and keep serving
          spdlog::error("http: io thread: {}", e.what());
        }
      }
      std::lock_guard<std::mutex> lock(m.run_mu_);
      --m.running_threads_;
      m.run_cv_.notify_all();
    });
  }
  m.state_ = impl::state::running;
  spdlog::info("http: listening on {}", endpoint_text(m.opts_.address, m.port_));
  return m.port_;
}

void server::stop() {
  impl& m = *impl_;
  if (m.state_ != impl::state::running) {
    m.state_ = impl::state::stopped;
    return;
  }
  std::vector<std::weak_ptr<session>> open;
  {
    std::lock_guard<std::mutex> lock(m.mu_);
    m.stopping_ = true;
    for (auto& [ptr, weak] : m.sessions_) open.push_back(weak);
  }
  m.listener_->close();
  for (auto& weak : open)
    if (auto s = weak.lock()) s->close_now();

  // The io threads return from run() once the acceptor and every session are gone.
  {
    std::unique_lock<std::mutex> lock(m.run_mu_);
    if (!m.run_cv_.wait_for(lock, m.opts_.stop_timeout, [&] { return m.running_threads_ == 0; })) {
      spdlog::warn("http: sessions did not close within {} ms; stopping the io_context", m.opts_.stop_timeout.count());
      m.ioc_.stop();
    }
  }
  for (auto& t : m.threads_) t.join();
  m.threads_.clear();
  // After a hard stop, sessions may remain with pending handlers: no thread runs now, so close
  // their sockets here.
  std::vector<std::shared_ptr<session>> left;
  {
    std::lock_guard<std::mutex> lock(m.mu_);
    for (auto& [ptr, weak] : m.sessions_)
      if (auto s = weak.lock()) left.push_back(std::move(s));
  }
  for (auto& s : left) s->close_after_stop();
  left.clear();
  m.state_ = impl::state::stopped;
  spdlog::info("http: stopped");
}

}  // namespace tb::http
