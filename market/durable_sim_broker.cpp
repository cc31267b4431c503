#include "market/durable_sim_broker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tb::market {

// Reads a fixed instant while replaying, the injected clock afterwards.
class durable_sim_broker::replay_clock final : public core::clock {
 public:
  explicit replay_clock(std::shared_ptr<const core::clock> live) : live_(std::move(live)) {}
  core::time_point now() const override {
    if (replaying_.load(std::memory_order_acquire)) return core::time_point(core::duration(at_ns_.load()));
    return live_->now();
  }
  void replay_at(std::int64_t ns) {
    at_ns_.store(ns);
    replaying_.store(true, std::memory_order_release);
  }
  void go_live() { replaying_.store(false, std::memory_order_release); }

 private:
  std::shared_ptr<const core::clock> live_;
  std::atomic<bool> replaying_{false};
  std::atomic<std::int64_t> at_ns_{0};
};

tb::expected<std::unique_ptr<durable_sim_broker>> durable_sim_broker::open(sim_broker_config cfg,
                                                                           std::shared_ptr<const core::clock> clock,
                                                                           std::shared_ptr<feed> feed,
                                                                           const std::string& ledger_path) {
  if (auto err = validate(cfg)) return *err;
  std::unique_ptr<durable_sim_broker> b(new durable_sim_broker());
  b->path_ = ledger_path;
  b->clock_ = std::make_shared<replay_clock>(std::move(clock));
  b->inner_ = std::make_unique<sim_broker>(cfg, b->clock_, std::move(feed));
  std::error_code ec;
  const auto parent = std::filesystem::path(ledger_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string text;
  {
    std::ifstream in(ledger_path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::size_t pos = 0, line_no = 0, keep = 0;
  while (pos < text.size()) {
    ++line_no;
    const auto nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line: the request never returned; dropped
    const std::string line = text.substr(pos, nl - pos);
    pos = keep = nl + 1;
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      b->clock_->replay_at(j.at("at_ns").get<std::int64_t>());
      const auto op = j.at("op").get<std::string>();
      if (op == "submit") {
        order_request r;
        r.client_order_id = j.at("client_order_id").get<std::string>();
        r.symbol = j.at("symbol").get<std::string>();
        r.side = j.at("side").get<std::string>() == "sell" ? side::sell : side::buy;
        r.qty = j.at("qty").get<double>();
        r.limit_price = j.at("limit_price").get<double>();
        r.tif = j.at("tif").get<std::string>() == "day" ? time_in_force::day : time_in_force::gtc;
        auto o = b->inner_->submit_limit_order(r);
        if (!o)
          return tb::error{errc::bad_data, ledger_path + ":" + std::to_string(line_no) +
                                               ": a recorded order is refused on replay: " + o.error().message};
      } else if (op == "cancel") {
        (void)b->inner_->cancel_order(j.at("order_id").get<std::string>());  // may have filled since
      }
      ++b->replayed_;
    } catch (const std::exception& e) {
      return tb::error{errc::bad_data, ledger_path + ":" + std::to_string(line_no) + ": " + e.what()};
    }
  }
  b->clock_->go_live();
  if (keep < text.size()) std::filesystem::resize_file(ledger_path, keep, ec);
  b->fd_ = ::open(ledger_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (b->fd_ < 0)
    return tb::error{errc::io, "cannot open the broker ledger " + ledger_path + ": " + std::strerror(errno)};
  return b;
}

durable_sim_broker::~durable_sim_broker() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<tb::error> durable_sim_broker::write_line(const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tb::error{errc::io, "cannot write the broker ledger " + path_ + ": " + std::strerror(errno)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) return tb::error{errc::io, "cannot fsync the broker ledger " + path_};
  return std::nullopt;
}

tb::expected<order> durable_sim_broker::submit_limit_order(const order_request& req) {
  const auto at = core::to_unix_nanoseconds(clock_->now());
  auto o = inner_->submit_limit_order(req);
  if (!o) return o;
  nlohmann::json j = {{"op", "submit"},          {"at_ns", at},
                      {"client_order_id", req.client_order_id}, {"symbol", req.symbol},
                      {"side", to_string(req.side)}, {"qty", req.qty},
                      {"limit_price", req.limit_price}, {"tif", to_string(req.tif)}};
  if (auto err = write_line(j.dump() + "\n")) return *err;
  return o;
}

tb::expected<order> durable_sim_broker::cancel_order(const std::string& order_id) {
  const auto at = core::to_unix_nanoseconds(clock_->now());
  auto o = inner_->cancel_order(order_id);
  if (!o) return o;
  if (auto err = write_line(nlohmann::json{{"op", "cancel"}, {"at_ns", at}, {"order_id", order_id}}.dump() + "\n"))
    return *err;
  return o;
}

}  // namespace tb::market
