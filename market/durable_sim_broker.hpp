#pragma once
// A sim_broker whose account survives a crash of the process: the simulated paper broker made
// durable in the state folder, so a restarted daemon finds the orders, fills, cash and positions
// the broker had (as a real broker would), and its order journal can be reconciled against it.
//
// How: every request the broker ACCEPTED (submit, cancel) is appended to a ledger file, one JSON
// line with the clock time, and fsynced before the call returns. A submit also records the
// relative spread the order got from the feed's quote: the one input that is not a function of the
// bars up to its time (a quote is taken at the feed clock's now, which on replay is the restart's).
// open() replays the ledger into a fresh sim_broker on a replay clock stepped to each recorded
// time, each order with its recorded spread; the sim broker is then a pure function of its config,
// the feed's bars and the (time, request, spread) sequence, so the replayed state is the state it
// had, whatever the time of the restart (feeds give the same bars for a closed period; a feed that
// failed then and answers now can differ: a recorded cancel refused on replay is logged, a refused
// submit fails open()). After the replay the clock reads the injected clock again.
//
// Thread: not thread-safe; one owner (the broker actor, on its own thread). Calls block on fsync.
#include <memory>
#include <optional>
#include <string>

#include "market/jsonl_log.hpp"
#include "market/sim_broker.hpp"

namespace tb::market {

class durable_sim_broker final : public broker {
 public:
  // Replays `ledger_path` (created when missing). errc::io when the file cannot be opened or
  // written; errc::bad_data for a corrupt line other than a torn last one (ignored).
  static tb::expected<std::unique_ptr<durable_sim_broker>> open(sim_broker_config cfg,
                                                                std::shared_ptr<const core::clock> clock,
                                                                std::shared_ptr<feed> feed,
                                                                const std::string& ledger_path);

  tb::expected<market::account> account() override { return inner_->account(); }
  tb::expected<std::vector<position>> positions() override { return inner_->positions(); }
  tb::expected<std::vector<order>> open_orders() override { return inner_->open_orders(); }
  tb::expected<order> submit_limit_order(const order_request& req) override;
  tb::expected<order> cancel_order(const std::string& order_id) override;
  tb::expected<std::optional<order>> order_by_client_id(const std::string& client_order_id) override {
    return inner_->order_by_client_id(client_order_id);
  }

  // The instant of the last request recorded in the ledger at `ledger_path`; nullopt when there is
  // none (or no file). A simulated clock must not resume before it: a replayed catch-up reads bars
  // up to each recorded instant, and a feed gives none past its clock's now. Errors as open().
  static tb::expected<std::optional<core::time_point>> last_recorded_at(const std::string& ledger_path);

  sim_broker& inner() { return *inner_; }
  // Requests replayed from the ledger at open().
  std::size_t replayed() const { return replayed_; }

 private:
  class replay_clock;
  durable_sim_broker() = default;

  std::shared_ptr<replay_clock> clock_;
  std::unique_ptr<sim_broker> inner_;
  jsonl_log log_;  // the ledger
  std::size_t replayed_ = 0;
};

}  // namespace tb::market
