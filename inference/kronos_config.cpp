#include "inference/kronos_config.hpp"

#include <fstream>
#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>

namespace tb::inference {
namespace {

struct reader {
  const nlohmann::json& j;
  const std::string& file;
  std::string err;

  template <class T>
  void get(const char* key, T& out, bool required) {
    if (!err.empty()) return;
    if (!j.contains(key)) {
      if (required) err = file + ": missing key '" + key + "'";
      return;
    }
    try {
      out = j.at(key).get<T>();
    } catch (const std::exception& e) {
      err = file + ": key '" + key + "' has the wrong type (" + e.what() + ")";
    }
  }
  void positive(const char* key, int v) {
    if (err.empty() && v <= 0) err = file + ": key '" + key + "' must be positive";
  }
};

}  // namespace

tb::expected<tokenizer_config> tokenizer_config_from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) return tb::error{errc::bad_checkpoint, file + ": not a JSON object"};
  tokenizer_config c;
  reader r{j, file, {}};
  r.get("d_in", c.d_in, true);
  r.get("d_model", c.d_model, true);
  r.get("n_heads", c.n_heads, true);
  r.get("ff_dim", c.ff_dim, true);
  r.get("n_enc_layers", c.n_enc_layers, true);
  r.get("n_dec_layers", c.n_dec_layers, true);
  r.get("s1_bits", c.s1_bits, true);
  r.get("s2_bits", c.s2_bits, true);
  r.get("ffn_dropout_p", c.ffn_dropout_p, false);
  r.get("attn_dropout_p", c.attn_dropout_p, false);
  r.get("resid_dropout_p", c.resid_dropout_p, false);
  r.get("beta", c.beta, false);
  r.get("gamma0", c.gamma0, false);
  r.get("gamma", c.gamma, false);
  r.get("zeta", c.zeta, false);
  r.get("group_size", c.group_size, false);
  r.positive("d_in", c.d_in);
  r.positive("d_model", c.d_model);
  r.positive("n_heads", c.n_heads);
  r.positive("ff_dim", c.ff_dim);
  r.positive("n_enc_layers", c.n_enc_layers);
  r.positive("n_dec_layers", c.n_dec_layers);
  if (!r.err.empty()) return tb::error{errc::bad_checkpoint, r.err};
  if (c.d_in != 6) return tb::error{errc::bad_checkpoint, file + ": d_in must be 6 (o, h, l, c, volume, amount)"};
  if (c.d_model % c.n_heads != 0 || (c.d_model / c.n_heads) % 2 != 0) {
    return tb::error{errc::bad_checkpoint, file + ": d_model / n_heads must be an even integer"};
  }
  if (c.s1_bits < 1 || c.s1_bits > 20 || c.s2_bits < 1 || c.s2_bits > 20) {
    return tb::error{errc::bad_checkpoint, file + ": s1_bits and s2_bits must be in 1..20"};
  }
  return c;
}

tb::expected<predictor_config> predictor_config_from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) return tb::error{errc::bad_checkpoint, file + ": not a JSON object"};
  predictor_config c;
  reader r{j, file, {}};
  r.get("s1_bits", c.s1_bits, true);
  r.get("s2_bits", c.s2_bits, true);
  r.get("n_layers", c.n_layers, true);
  r.get("d_model", c.d_model, true);
  r.get("n_heads", c.n_heads, true);
  r.get("ff_dim", c.ff_dim, true);
  r.get("learn_te", c.learn_te, false);
  r.get("ffn_dropout_p", c.ffn_dropout_p, false);
  r.get("attn_dropout_p", c.attn_dropout_p, false);
  r.get("resid_dropout_p", c.resid_dropout_p, false);
  r.get("token_dropout_p", c.token_dropout_p, false);
  r.positive("n_layers", c.n_layers);
  r.positive("d_model", c.d_model);
  r.positive("n_heads", c.n_heads);
  r.positive("ff_dim", c.ff_dim);
  if (!r.err.empty()) return tb::error{errc::bad_checkpoint, r.err};
  if (c.d_model % c.n_heads != 0 || (c.d_model / c.n_heads) % 2 != 0) {
    return tb::error{errc::bad_checkpoint, file + ": d_model / n_heads must be an even integer"};
  }
  if (c.d_model % 4 != 0 || (c.d_model / 4) % 2 != 0) {
    return tb::error{errc::bad_checkpoint, file + ": d_model must be a multiple of 8 (4-head dependency layer)"};
  }
  if (c.s1_bits < 1 || c.s1_bits > 20 || c.s2_bits < 1 || c.s2_bits > 20) {
    return tb::error{errc::bad_checkpoint, file + ": s1_bits and s2_bits must be in 1..20"};
  }
  return c;
}

checkpoint_note checkpoint_note_from_json(const nlohmann::json& j) {
  checkpoint_note n;
  if (!j.is_object() || !j.contains("tradebot") || !j["tradebot"].is_object()) return n;
  const auto& t = j["tradebot"];
  try {
    n.untrained = t.value("untrained", false);
    n.preset = t.value("preset", std::string());
    n.seed = t.value("seed", std::int64_t{0});
    n.max_context = t.value("max_context", 0);
  } catch (const std::exception&) {}
  return n;
}

namespace {
void add_note(nlohmann::json& j, const checkpoint_note* note) {
  if (!note) return;
  j["tradebot"] = {{"untrained", note->untrained},
                   {"preset", note->preset},
                   {"seed", note->seed},
                   {"max_context", note->max_context}};
}
}  // namespace

nlohmann::json to_json(const tokenizer_config& c, const checkpoint_note* note) {
  nlohmann::json j = {{"d_in", c.d_in},
                      {"d_model", c.d_model},
                      {"n_heads", c.n_heads},
                      {"ff_dim", c.ff_dim},
                      {"n_enc_layers", c.n_enc_layers},
                      {"n_dec_layers", c.n_dec_layers},
                      {"ffn_dropout_p", c.ffn_dropout_p},
                      {"attn_dropout_p", c.attn_dropout_p},
                      {"resid_dropout_p", c.resid_dropout_p},
                      {"s1_bits", c.s1_bits},
                      {"s2_bits", c.s2_bits},
                      {"beta", c.beta},
                      {"gamma0", c.gamma0},
                      {"gamma", c.gamma},
                      {"zeta", c.zeta},
                      {"group_size", c.group_size}};
  add_note(j, note);
  return j;
}

nlohmann::json to_json(const predictor_config& c, const checkpoint_note* note) {
  nlohmann::json j = {{"s1_bits", c.s1_bits},
                      {"s2_bits", c.s2_bits},
                      {"n_layers", c.n_layers},
                      {"d_model", c.d_model},
                      {"n_heads", c.n_heads},
                      {"ff_dim", c.ff_dim},
                      {"ffn_dropout_p", c.ffn_dropout_p},
                      {"attn_dropout_p", c.attn_dropout_p},
                      {"resid_dropout_p", c.resid_dropout_p},
                      {"token_dropout_p", c.token_dropout_p},
                      {"learn_te", c.learn_te}};
  add_note(j, note);
  return j;
}

tb::expected<nlohmann::json> read_config_json(const std::string& dir, std::vector<std::uint8_t>* bytes) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return tb::error{errc::io, path + ": cannot open"};
  std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    auto j = nlohmann::json::parse(b.begin(), b.end());
    if (bytes) *bytes = std::move(b);
    return j;
  } catch (const std::exception& e) {
    return tb::error{errc::bad_checkpoint, path + ": bad JSON (" + e.what() + ")"};
  }
}

}  // namespace tb::inference
