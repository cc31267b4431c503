#include "market/jsonl_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace tb::market {

tb::expected<jsonl_log> jsonl_log::open(const std::string& path, const std::string& what, const line_reader& read,
                                        jsonl_access access) {
  jsonl_log log;
  log.path_ = path;
  log.what_ = what;
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (access == jsonl_access::append && !parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    const auto nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // torn: the write did not finish
      log.torn_line_ = line_no;
      break;
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (auto err = read(line, line_no))
      return tb::error{err->code, path + ":" + std::to_string(line_no) + ": " + err->message};
  }
  if (access == jsonl_access::read_only) return log;
  if (pos < text.size()) std::filesystem::resize_file(path, pos, ec);
  log.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log.fd_ < 0) return tb::error{errc::io, "cannot open " + what + " " + path + ": " + std::strerror(errno)};
  return log;
}

jsonl_log::jsonl_log(jsonl_log&& o) noexcept
    : path_(std::move(o.path_)), what_(std::move(o.what_)), fd_(std::exchange(o.fd_, -1)), torn_line_(o.torn_line_) {}

jsonl_log& jsonl_log::operator=(jsonl_log&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    what_ = std::move(o.what_);
    fd_ = std::exchange(o.fd_, -1);
    torn_line_ = o.torn_line_;
  }
  return *this;
}

jsonl_log::~jsonl_log() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<tb::error> jsonl_log::append(const std::string& line) {
  if (fd_ < 0) return tb::error{errc::io, what_ + " " + path_ + " is not open for writing"};
  const std::string bytes = line + "\n";
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tb::error{errc::io, "cannot write " + what_ + " " + path_ + ": " + std::strerror(errno)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0)
    return tb::error{errc::io, "cannot fsync " + what_ + " " + path_ + ": " + std::strerror(errno)};
  return std::nullopt;
}

}  // namespace tb::market
