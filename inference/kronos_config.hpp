#pragma once
// The constructor arguments of the Kronos tokenizer and predictor, as their config.json files give
// them (hub-style checkpoint folders). Sizes always come from here, never from constants.
// Torch-free. Thread: plain values.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"

namespace tb::inference {

struct tokenizer_config {
  int d_in = 6;
  int d_model = 256;
  int n_heads = 4;
  int ff_dim = 512;
  int n_enc_layers = 4;  // the encoder holds n_enc_layers - 1 blocks (as the reference builds it)
  int n_dec_layers = 4;  // likewise n_dec_layers - 1 blocks
  int s1_bits = 10;
  int s2_bits = 10;
  // Training-only values, kept so a written config round-trips.
  double ffn_dropout_p = 0, attn_dropout_p = 0, resid_dropout_p = 0;
  double beta = 0.05, gamma0 = 1.0, gamma = 1.1, zeta = 0.05;
  int group_size = 4;
};

struct predictor_config {
  int s1_bits = 10;
  int s2_bits = 10;
  int n_layers = 4;
  int d_model = 256;
  int n_heads = 4;
  int ff_dim = 512;
  bool learn_te = true;  // false: fixed sinusoidal time tables stored as `*.emb.weight`
  double ffn_dropout_p = 0, attn_dropout_p = 0, resid_dropout_p = 0, token_dropout_p = 0;
};

// What tradebot adds under the "tradebot" key of a config.json it writes (ignored when absent).
struct checkpoint_note {
  bool untrained = false;
  std::string preset;
  std::int64_t seed = 0;
  int max_context = 0;  // the released context length of the preset, 0 = unknown
};

// Parse and validate (positive sizes, d_model divisible by n_heads, head_dim even, the
// predictor's d_model divisible by 4 for its 4-head dependency layer, bits in 1..20).
// Errors: errc::bad_checkpoint naming `file` and the key.
tb::expected<tokenizer_config> tokenizer_config_from_json(const nlohmann::json& j, const std::string& file);
tb::expected<predictor_config> predictor_config_from_json(const nlohmann::json& j, const std::string& file);
checkpoint_note checkpoint_note_from_json(const nlohmann::json& j);

nlohmann::json to_json(const tokenizer_config& c, const checkpoint_note* note = nullptr);
nlohmann::json to_json(const predictor_config& c, const checkpoint_note* note = nullptr);

// Reads DIR/config.json once; `bytes`, when given, receives the file as read (the model's content
// hash covers exactly what was parsed). Errors: errc::io, errc::bad_checkpoint.
tb::expected<nlohmann::json> read_config_json(const std::string& dir, std::vector<std::uint8_t>* bytes = nullptr);

}  // namespace tb::inference
