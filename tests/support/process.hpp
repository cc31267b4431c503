#pragma once
// Test support: real child processes, the systemd notify socket a test owns, a tiny HTTP/1.1
// client, free loopback ports and executables on PATH. Every wait is bounded; nothing sleeps to synchronise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tb::test {

using namespace std::chrono_literals;

// A fresh temporary folder, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tbtest.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream(p) << text;
    return p;
  }
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The executable `name` in the first directory of $PATH (/usr/bin:/bin when unset) that has
// it, or "" when none does (the caller skips its check and says so).
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// A child process with stdout and stderr sent to a file. Killed (SIGKILL) if still running when
// destroyed. With `own_group` it leads a new process group (a browser and the processes it
// starts), and signal() and the kill on destruction reach the whole group.
class child_process {
 public:
  child_process(std::vector<std::string> argv, std::map<std::string, std::string> env, std::filesystem::path output,
                bool own_group = false)
      : own_group_(own_group), output_(std::move(output)) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      if (own_group_) ::setpgid(0, 0);
      int fd = ::open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    if (own_group_) ::setpgid(pid_, pid_);  // also here: signal() may come before the child ran
  }
  ~child_process() {
    if (running()) {
      signal(SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // To the child, or to its whole group; nothing once it is reaped (its id may be another's then).
  void signal(int sig) const {
    if (!status_) ::kill(own_group_ ? -pid_ : pid_, sig);
  }
  bool running() const { return !status_; }
  // The exit code (or 128 + signal), or -1 when it did not exit within `limit`.
  int wait(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!status_) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() >= end) return -1;
      std::this_thread::sleep_for(5ms);  // polling a condition, bounded by `limit`
    }
    return *status_;
  }
  std::string output() const { return read_file(output_); }

 private:
  pid_t pid_ = -1;
  bool own_group_ = false;
  std::optional<int> status_;
  std::filesystem::path output_;
};

// A child run to its end (a tool such as `tradebot backtest`): its exit code as
// child_process::wait gives it (-1 when it did not exit within `limit`; it is then killed) and
// its stdout and stderr, which also stay in the file `output`.
struct process_result {
  int code = -1;
  std::string output;
};
inline process_result run_to_exit(const std::vector<std::string>& argv, const std::filesystem::path& output,
                                  std::chrono::milliseconds limit) {
  child_process p(argv, {}, output);
  process_result r;
  r.code = p.wait(limit);
  r.output = p.output();
  return r;
}

// The datagram socket a service manager listens on (NOTIFY_SOCKET).
class notify_socket {
 public:
  explicit notify_socket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot bind notify socket " + path_.string());
  }
  ~notify_socket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  std::string path() const { return path_.string(); }
  // The next datagram, or nullopt after `limit`.
  std::optional<std::string> next(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }
  // Reads datagrams until one contains `needle`; returns it, or nullopt after `limit`.
  std::optional<std::string> wait_for(const std::string& needle, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto msg = next(left);
      if (!msg) return std::nullopt;
      seen.push_back(*msg);
      if (msg->find(needle) != std::string::npos) return msg;
    }
  }
  std::vector<std::string> seen;  // every datagram read so far, in order

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
};

// One request on a fresh connection to 127.0.0.1:port ("Connection: close"); the raw request
// text may be given instead to send something hostile.
inline http_response http_request(std::uint16_t port, const std::string& raw, std::chrono::milliseconds limit = 5s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string data;
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  http_response r;
  auto head_end = data.find("\r\n\r\n");
  if (data.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return r;
  r.status = std::stoi(data.substr(9, 3));
  r.headers = data.substr(0, head_end);
  r.body = data.substr(head_end + 4);
  return r;
}

inline http_response http_get(std::uint16_t port, const std::string& path) {
  return http_request(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

// A loopback port nothing listens on right now (bind 127.0.0.1:0, read it, close).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0 failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace tb::test
