#pragma once
// A real redis-server for tests and benchmarks, on a free 127.0.0.1 port, as a child process.
//
//   redis_server r;            // starts it; throws std::runtime_error if it never answers PING
//   r.port();
//   r.kill(); r.start();       // SIGKILL mid-test, then a fresh server on the same port
//   r.pause(); r.resume();     // SIGSTOP / SIGCONT: a server that hangs
//
// Persistence is off (--save '' --appendonly no), so a restarted server is empty. The child
// dies with the test process (PR_SET_PDEATHSIG). Waiting is a bounded poll on PING, never a
// fixed sleep. Needs `redis-server` on PATH; the including target links hiredis (tb_cache
// brings it). Used by tests/cache, tests/actors and bench/cache.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/support/process.hpp"  // free_port

namespace tb::test {

class redis_server {
 public:
  // extra_args: more redis-server options, e.g. {"--requirepass", "secret"}.
  explicit redis_server(std::vector<std::string> extra_args = {}) : extra_(std::move(extra_args)), port_(free_port()) {
    start();
  }
  ~redis_server() { kill(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Starts a server on port(); returns once it answers PING (bounded: 10 s).
  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args = {
        "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir",        "/tmp",   "--loglevel",          "warning"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0) {
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ping(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start (port " + std::to_string(port_) + "); is it installed?");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill();
        throw std::runtime_error("redis-server did not answer PING within 10 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
    }
  }

  // SIGKILL and reap: the port stops answering at once.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  // One PING with a 200 ms timeout.
  static bool ping(int port, const std::string& password = "") {
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      return false;
    }
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    // A server that requires a password answers -NOAUTH: it is up.
    const bool ok = r && (r->type == REDIS_REPLY_STATUS ||
                          (r->type == REDIS_REPLY_ERROR && std::string(r->str).find("NOAUTH") == 0));
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
  }

 private:
  std::vector<std::string> extra_;
  int port_;
  pid_t pid_ = -1;
};

// A raw connection for assertions the tiers do not expose (EXISTS, PTTL, SET garbage).
class redis_probe {
 public:
  explicit redis_probe(int port, int db = 0) {
    timeval tv{1, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c_ || c_->err) throw std::runtime_error("redis_probe: cannot connect");
    redisSetTimeout(c_, tv);
    if (db != 0) integer({"SELECT", std::to_string(db)});
  }
  ~redis_probe() { redisFree(c_); }
  redis_probe(const redis_probe&) = delete;
  redis_probe& operator=(const redis_probe&) = delete;

  // Runs a command; returns its integer reply (0 for others).
  long long integer(const std::vector<std::string>& argv) {
    std::vector<const char*> a;
    std::vector<size_t> l;
    for (const auto& s : argv) {
      a.push_back(s.data());
      l.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(a.size()), a.data(), l.data()));
    if (!r) throw std::runtime_error("redis_probe: connection lost");
    const long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return v;
  }

 private:
  redisContext* c_ = nullptr;
};

}  // namespace tb::test
