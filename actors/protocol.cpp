#include "actors/protocol.hpp"

namespace tb::actors {

const char* to_string(proposal_state s) {
  switch (s) {
    case proposal_state::ok:
      return "ok";
    case proposal_state::flat:
      return "flat";
    case proposal_state::stale:
      return "stale";
    case proposal_state::waiting:
      return "waiting";
    case proposal_state::error:
      return "error";
    case proposal_state::skipped:
      return "skipped";
  }
  return "unknown";
}

const char* to_string(submit_status s) {
  switch (s) {
    case submit_status::accepted:
      return "accepted";
    case submit_status::rejected:
      return "rejected";
    case submit_status::duplicate:
      return "duplicate";
    case submit_status::failed:
      return "failed";
  }
  return "unknown";
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<core::bar>("tb_bar");
  cfg.add_message_type<std::vector<core::bar>>("tb_bars");
  cfg.add_message_type<core::sampling_params>("tb_sampling_params");
  cfg.add_message_type<core::forecast_window>("tb_forecast_window");
  cfg.add_message_type<core::forecast>("tb_forecast");
  cfg.add_message_type<window_request>("tb_window_request");
  cfg.add_message_type<std::vector<window_request>>("tb_window_requests");
  cfg.add_message_type<forecast_request>("tb_forecast_request");
  cfg.add_message_type<window_answer>("tb_window_answer");
  cfg.add_message_type<std::vector<window_answer>>("tb_window_answers");
  cfg.add_message_type<forecast_reply>("tb_forecast_reply");
  cfg.add_message_type<core::model_identity>("tb_model_identity");  // forecast cache
  cfg.add_message_type<inference_status>("tb_inference_status");    // remote inference hosts
  // trading loop
  cfg.add_message_type<feed_query>("tb_feed_query");
  cfg.add_message_type<feed_update>("tb_feed_update");
  cfg.add_message_type<cycle_order>("tb_cycle_order");
  cfg.add_message_type<proposal>("tb_proposal");
  cfg.add_message_type<order_intent>("tb_order_intent");
  cfg.add_message_type<std::vector<order_intent>>("tb_order_intents");
  cfg.add_message_type<order_outcome>("tb_order_outcome");
  cfg.add_message_type<std::vector<order_outcome>>("tb_order_outcomes");
  cfg.add_message_type<position_row>("tb_position_row");
  cfg.add_message_type<std::vector<position_row>>("tb_position_rows");
  cfg.add_message_type<fill_report>("tb_fill_report");
  cfg.add_message_type<std::vector<fill_report>>("tb_fill_reports");
  cfg.add_message_type<broker_state>("tb_broker_state");
  cfg.add_message_type<equity_mark>("tb_equity_mark");
  cfg.add_message_type<std::vector<equity_mark>>("tb_equity_marks");
  cfg.add_message_type<portfolio_summary>("tb_portfolio_summary");
}

}  // namespace tb::actors
