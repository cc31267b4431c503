#include "inference/kronos_init.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "inference/safetensors.hpp"

namespace tb::inference {
namespace {

class writer {
 public:
  explicit writer(std::uint64_t seed) : gen_(seed) {}

  void normal(const std::string& name, std::vector<std::int64_t> shape, float stddev) {
    std::normal_distribution<float> dist(0.0f, stddev);
    add(name, std::move(shape), [&] { return dist(gen_); });
  }
  void uniform(const std::string& name, std::vector<std::int64_t> shape, float bound) {
    std::uniform_real_distribution<float> dist(-bound, bound);
    add(name, std::move(shape), [&] { return dist(gen_); });
  }
  void constant(const std::string& name, std::vector<std::int64_t> shape, float v) {
    add(name, std::move(shape), [&] { return v; });
  }
  void values(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
    tensors_.push_back({name, std::move(shape), std::move(v)});
  }
  std::vector<st_write_tensor>& tensors() { return tensors_; }

 private:
  template <class F>
  void add(const std::string& name, std::vector<std::int64_t> shape, F&& f) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = f();
    tensors_.push_back({name, std::move(shape), std::move(v)});
  }
  std::mt19937_64 gen_;
  std::vector<st_write_tensor> tensors_;
};

// Linear init: xavier_normal weights and zero biases (the predictor's _init_weights), or PyTorch's
// default uniform(+-1/sqrt(fan_in)) for weights and biases (the tokenizer's modules).
void linear(writer& w, const std::string& p, std::int64_t out, std::int64_t in, bool xavier, bool bias = true) {
  if (xavier) {
    w.normal(p + ".weight", {out, in}, std::sqrt(2.0f / static_cast<float>(in + out)));
    if (bias) w.constant(p + ".bias", {out}, 0.0f);
  } else {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    w.uniform(p + ".weight", {out, in}, bound);
    if (bias) w.uniform(p + ".bias", {out}, bound);
  }
}

// The rotary buffer `*.rotary.inv_freq` of a head size: 1 / 10000^(2i / head_dim), [head_dim / 2].
void rotary_inv_freq(writer& w, const std::string& name, std::int64_t hd) {
  std::vector<float> inv_freq;
  for (std::int64_t i = 0; i < hd; i += 2) {
    inv_freq.push_back(1.0f / std::pow(10000.0f, static_cast<float>(i) / static_cast<float>(hd)));
  }
  w.values(name, {hd / 2}, std::move(inv_freq));
}

void blocks(writer& w, const std::string& p, int n, std::int64_t d, std::int64_t heads, std::int64_t ff, bool xavier) {
  for (int i = 0; i < n; ++i) {
    const std::string b = p + "." + std::to_string(i) + ".";
    w.constant(b + "norm1.weight", {d}, 1.0f);
    w.constant(b + "norm2.weight", {d}, 1.0f);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      linear(w, b + "self_attn." + proj, d, d, xavier);
    }
    rotary_inv_freq(w, b + "self_attn.rotary.inv_freq", d / heads);
    linear(w, b + "ffn.w1", ff, d, xavier, false);
    linear(w, b + "ffn.w2", d, ff, xavier, false);
    linear(w, b + "ffn.w3", ff, d, xavier, false);
  }
}

tb::expected<bool> write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return tb::error{errc::io, path + ": cannot write"};
  out << j.dump(2) << "\n";
  out.close();
  if (!out) return tb::error{errc::io, path + ": write failed"};
  return true;
}

// Predictor sizes of the released models (KRONOS.md) and of our tiny test model, which also has a
// tiny tokenizer and 8 + 8 bits; the others use the released tokenizer (tokenizer_config's defaults:
// d 256, 4 heads, ff 512, 4 + 4 layers, 10 + 10 bits).
struct predictor_size {
  const char* name;
  int d_model, n_layers, n_heads, ff_dim, max_context;
};
constexpr predictor_size predictor_sizes[] = {
    {"tiny", 32, 2, 2, 64, 512},
    {"mini", 256, 4, 4, 512, 2048},
    {"small", 512, 8, 8, 1024, 512},
    {"base", 832, 12, 16, 2048, 512},
};

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : predictor_sizes) n.emplace_back(s.name);
    return n;
  }();
  return names;
}

tb::expected<kronos_preset> preset_by_name(const std::string& name) {
  for (const auto& s : predictor_sizes) {
    if (name != s.name) continue;
    kronos_preset p;
    p.name = name;
    p.predictor.d_model = s.d_model;
    p.predictor.n_layers = s.n_layers;
    p.predictor.n_heads = s.n_heads;
    p.predictor.ff_dim = s.ff_dim;
    p.max_context = s.max_context;
    if (name == "tiny") {
      p.tokenizer.d_model = 32;
      p.tokenizer.n_heads = 2;
      p.tokenizer.ff_dim = 64;
      p.tokenizer.n_enc_layers = 2;
      p.tokenizer.n_dec_layers = 2;
      p.tokenizer.s1_bits = p.predictor.s1_bits = 8;
      p.tokenizer.s2_bits = p.predictor.s2_bits = 8;
    }
    return p;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  return tb::error{errc::invalid_argument, "unknown preset '" + name + "' (" + known + ")"};
}

tb::expected<bool> write_random_checkpoint(const kronos_preset& preset, std::uint64_t seed,
                                           const std::string& out_dir) {
  namespace fs = std::filesystem;
  const std::string tdir = out_dir + "/tokenizer", pdir = out_dir + "/model";
  std::error_code ec;
  fs::create_directories(tdir, ec);
  if (!ec) fs::create_directories(pdir, ec);
  if (ec) return tb::error{errc::io, out_dir + ": cannot create folders (" + ec.message() + ")"};

  checkpoint_note note;
  note.untrained = true;
  note.preset = preset.name;
  note.seed = static_cast<std::int64_t>(seed);
  note.max_context = preset.max_context;

  {  // Tokenizer.
    const auto& c = preset.tokenizer;
    writer w(seed * 2 + 1);
    const std::int64_t d = c.d_model, bits = c.s1_bits + c.s2_bits;
    linear(w, "embed", d, c.d_in, false);
    blocks(w, "encoder", c.n_enc_layers - 1, d, c.n_heads, c.ff_dim, false);
    blocks(w, "decoder", c.n_dec_layers - 1, d, c.n_heads, c.ff_dim, false);
    linear(w, "quant_embed", bits, d, false);
    linear(w, "post_quant_embed_pre", d, c.s1_bits, false);
    linear(w, "post_quant_embed", d, bits, false);
    linear(w, "head", c.d_in, d, false);
    auto r = write_safetensors(tdir + "/model.safetensors", w.tensors());
    if (!r) return r.error();
    auto j = write_json(tdir + "/config.json", to_json(c, &note));
    if (!j) return j.error();
  }
  {  // Predictor.
    const auto& c = preset.predictor;
    writer w(seed * 2 + 2);
    const std::int64_t d = c.d_model;
    const float emb_std = 1.0f / std::sqrt(static_cast<float>(d));
    w.normal("embedding.emb_s1.weight", {std::int64_t{1} << c.s1_bits, d}, emb_std);
    w.normal("embedding.emb_s2.weight", {std::int64_t{1} << c.s2_bits, d}, emb_std);
    linear(w, "embedding.fusion_proj", d, 2 * d, true);
    const std::pair<const char*, std::int64_t> tables[] = {
        {"minute", 60}, {"hour", 24}, {"weekday", 7}, {"day", 32}, {"month", 13}};
    for (const auto& [t, rows] : tables) w.normal(std::string("time_emb.") + t + "_embed.weight", {rows, d}, emb_std);
    blocks(w, "transformer", c.n_layers, d, c.n_heads, c.ff_dim, true);
    w.constant("norm.weight", {d}, 1.0f);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      linear(w, std::string("dep_layer.cross_attn.") + proj, d, d, true);
    }
    rotary_inv_freq(w, "dep_layer.cross_attn.rotary.inv_freq", d / 4);  // 4-head dependency layer
    w.constant("dep_layer.norm.weight", {d}, 1.0f);
    linear(w, "head.proj_s1", std::int64_t{1} << c.s1_bits, d, true);
    linear(w, "head.proj_s2", std::int64_t{1} << c.s2_bits, d, true);
    auto r = write_safetensors(pdir + "/model.safetensors", w.tensors());
    if (!r) return r.error();
    auto j = write_json(pdir + "/config.json", to_json(c, &note));
    if (!j) return j.error();
  }
  return true;
}

}  // namespace tb::inference
