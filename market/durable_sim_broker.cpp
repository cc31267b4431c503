#include "market/durable_sim_broker.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>
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
  b->clock_ = std::make_shared<replay_clock>(std::move(clock));
  b->inner_ = std::make_unique<sim_broker>(cfg, b->clock_, std::move(feed));
  auto* replay = b.get();
  auto log = jsonl_log::open(
      ledger_path, "the broker ledger", [replay, &ledger_path](const std::string& line, std::size_t line_no) {
        try {
          const auto j = nlohmann::json::parse(line);
          replay->clock_->replay_at(j.at("at_ns").get<std::int64_t>());
          const auto op = j.at("op").get<std::string>();
          if (op == "submit") {
            order_request r;
            r.client_order_id = j.at("client_order_id").get<std::string>();
            r.symbol = j.at("symbol").get<std::string>();
            r.side = j.at("side").get<std::string>() == "sell" ? side::sell : side::buy;
            r.qty = j.at("qty").get<double>();
            r.limit_price = j.at("limit_price").get<double>();
            r.tif = j.at("tif").get<std::string>() == "day" ? time_in_force::day : time_in_force::gtc;
            // The spread it was submitted with (the feed's quote now is another one); ledgers written
            // before the spread was recorded replay with the feed's quote, as they did then.
            std::optional<double> spread;
            if (j.contains("spread")) {
              spread = j.at("spread").get<double>();
              if (!std::isfinite(*spread))
                return std::optional<tb::error>(tb::error{errc::bad_data, "the recorded spread is not finite"});
            }
            auto o = spread ? replay->inner_->submit_limit_order(r, *spread) : replay->inner_->submit_limit_order(r);
            if (!o)
              return std::optional<tb::error>(
                  tb::error{errc::bad_data, "a recorded order is refused on replay: " + o.error().message});
          } else if (op == "cancel") {
            // It was accepted when recorded; refused now, the replay differs from what happened (a
            // ledger without spreads, or a feed that failed then): said, and the start goes on.
            if (auto c = replay->inner_->cancel_order(j.at("order_id").get<std::string>()); !c)
              spdlog::warn("{}:{}: a recorded cancel is refused on replay: {}", ledger_path, line_no,
                           c.error().message);
          }
          ++replay->replayed_;
          return std::optional<tb::error>();
        } catch (const std::exception& e) {
          return std::optional<tb::error>(tb::error{errc::bad_data, e.what()});
        }
      });
  b->clock_->go_live();
  if (!log) return log.error();
  b->log_ = std::move(*log);
  return b;
}

tb::expected<std::optional<core::time_point>> durable_sim_broker::last_recorded_at(const std::string& ledger_path) {
  std::optional<core::time_point> last;
  if (!std::filesystem::exists(ledger_path)) return last;
  auto log = jsonl_log::open(ledger_path, "the broker ledger", [&last](const std::string& line, std::size_t) {
    try {
      const core::time_point at(core::duration(nlohmann::json::parse(line).at("at_ns").get<std::int64_t>()));
      last = last ? std::max(*last, at) : at;
      return std::optional<tb::error>();
    } catch (const std::exception& e) {
      return std::optional<tb::error>(tb::error{errc::bad_data, e.what()});
    }
  });
  if (!log) return log.error();
  return last;
}

tb::expected<order> durable_sim_broker::submit_limit_order(const order_request& req) {
  const auto at = core::to_unix_nanoseconds(clock_->now());
  auto o = inner_->submit_limit_order(req);
  if (!o) return o;
  nlohmann::json j = {{"op", "submit"},
                      {"at_ns", at},
                      {"client_order_id", req.client_order_id},
                      {"symbol", req.symbol},
                      {"side", to_string(req.side)},
                      {"qty", req.qty},
                      {"limit_price", req.limit_price},
                      {"tif", to_string(req.tif)},
                      {"spread", *inner_->spread_of(o->id)}};
  if (auto err = log_.append(j.dump())) return *err;
  return o;
}

tb::expected<order> durable_sim_broker::cancel_order(const std::string& order_id) {
  const auto at = core::to_unix_nanoseconds(clock_->now());
  auto o = inner_->cancel_order(order_id);
  if (!o) return o;
  if (auto err = log_.append(nlohmann::json{{"op", "cancel"}, {"at_ns", at}, {"order_id", order_id}}.dump()))
    return *err;
  return o;
}

}  // namespace tb::market
