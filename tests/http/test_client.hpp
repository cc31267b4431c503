#pragma once
// A blocking test client on plain POSIX sockets. Every receive is bounded by SO_RCVTIMEO
// (`bound`), so a test blocks on the server's answer, never on a sleep, and a wedged server
// fails the test instead of hanging it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

namespace tb::http::test {

namespace bhttp = boost::beast::http;
using client_response = bhttp::response<bhttp::string_body>;

class raw_client {
 public:
  // `from`: the local IPv4 address to connect from (any of 127.0.0.0/8 is loopback), so a test
  // can act as several clients; empty = the kernel's choice (127.0.0.1).
  explicit raw_client(std::uint16_t port, std::chrono::milliseconds bound = std::chrono::milliseconds(5000),
                      const std::string& from = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(bound.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((bound.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!from.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~raw_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return connected_; }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Half-closes: the server sees end of stream after what was sent.
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  // Reads one response (pass head=true after a HEAD request). Empty when the connection ended
  // or the bound passed first; `last_end()` says which.
  std::optional<client_response> read_response(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    if (head) parser.skip(true);
    for (;;) {
      if (!pending_.empty()) {
        boost::beast::error_code ec;
        const std::size_t used = parser.put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
        pending_.erase(0, used);
        if (ec && ec != bhttp::error::need_more) {
          end_ = "parse error: " + ec.message();
          return std::nullopt;
        }
        if (parser.is_done()) return parser.release();
        if (used > 0 && !pending_.empty()) continue;
      }
      if (!receive()) return std::nullopt;
    }
  }

  // Reads and discards until the server closes the connection or the bound passes:
  // "eof", "reset" or "timeout".
  std::string wait_closed() {
    pending_.clear();
    while (receive()) pending_.clear();
    return end_;
  }

  const std::string& last_end() const { return end_; }

 private:
  bool receive() {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      pending_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0)
      end_ = "eof";
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
      end_ = "timeout";
    else if (errno == ECONNRESET)
      end_ = "reset";
    else
      end_ = std::string("error: ") + std::to_string(errno);
    return false;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
  std::string end_;
};

inline std::string get_request(const std::string& path, const std::string& extra_headers = "",
                               const std::string& method = "GET") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

}  // namespace tb::http::test
