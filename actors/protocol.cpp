#include "actors/protocol.hpp"

namespace tb::actors {

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
}

}  // namespace tb::actors
