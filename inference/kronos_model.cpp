// The Kronos model: weights, forward passes and generation. The only translation unit of the
// project that includes LibTorch headers (keep it that way: each such TU costs 10-16 s and over
// 1 GB to compile).
#include "inference/kronos_model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/Event.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <c10/util/Exception.h>

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "inference/bar_calendar.hpp"
#include "inference/cuda_graph.hpp"
#include "inference/safetensors.hpp"

namespace tb::inference {

using at::Tensor;

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------
namespace {

struct linear_w {
  Tensor w, b;  // w [out, in]; b [out] or undefined
  Tensor operator()(const Tensor& x) const { return at::linear(x, w, b); }
};

struct block_w {
  Tensor norm1, norm2;
  linear_w qkv;  // q, k, v projections stacked: one GEMM ([3d, d], [3d])
  linear_w o;
  Tensor w13;  // ffn w1 and w3 stacked: one GEMM ([2 ff, d])
  Tensor w2;
};

struct stack_w {
  std::vector<block_w> blocks;
  std::int64_t n_heads = 1, head_dim = 2;
  Tensor inv_freq;  // float32 [head_dim / 2], on the device
};

struct tokenizer_w {
  linear_w embed, quant_embed, post_quant_embed, head;
  stack_w enc, dec;
};

struct predictor_w {
  Tensor emb_s1, emb_s2;
  linear_w fusion;
  Tensor minute, hour, weekday, day, month;
  stack_w tr;
  Tensor norm;
  linear_w dep_q, dep_k, dep_v, dep_o;
  Tensor dep_norm;
  linear_w proj_s1, proj_s2;
};

// Per-layer keys and values, each [R, H, L, head_dim] (after rotary for keys).
struct kv_t {
  std::vector<Tensor> k, v;
};

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Hands out the tensors of one safetensors file by name, checking shapes; finish() rejects the
// learnable tensors nobody asked for.
class weight_source {
 public:
  weight_source(const safetensors_file& f, at::TensorOptions opts) : f_(f), opts_(opts) {}

  Tensor take(const std::string& name, std::vector<std::int64_t> shape) {
    const auto it = f_.tensors().find(name);
    if (it == f_.tensors().end()) {
      throw tb::exception(errc::bad_checkpoint, f_.path() + ": missing tensor '" + name + "' " + shape_str(shape));
    }
    const st_tensor& t = it->second;
    if (t.shape != shape) {
      throw tb::exception(errc::bad_checkpoint, f_.path() + ": tensor '" + name + "' has shape " + shape_str(t.shape) +
                                                    ", the config needs " + shape_str(shape));
    }
    at::ScalarType st;
    switch (t.dtype) {
      case st_dtype::f32:
        st = at::kFloat;
        break;
      case st_dtype::f16:
        st = at::kHalf;
        break;
      case st_dtype::bf16:
        st = at::kBFloat16;
        break;
      default:
        throw tb::exception(errc::bad_checkpoint, f_.path() + ": tensor '" + name + "' is " + to_string(t.dtype) +
                                                      ", a float type is needed");
    }
    dtypes_.insert(to_string(t.dtype));
    used_.insert(name);
    params_ += t.numel();
    Tensor raw = at::empty(shape, at::TensorOptions().dtype(st));
    if (t.bytes) std::memcpy(raw.data_ptr(), f_.data() + t.offset, t.bytes);
    Tensor weights = raw.to(at::kFloat);
    // A NaN or inf weight makes every forecast NaN (or sends orders on garbage): refuse it here.
    const std::int64_t bad = weights.numel() - at::isfinite(weights).sum().item<std::int64_t>();
    if (bad > 0) {
      throw tb::exception(errc::bad_checkpoint, f_.path() + ": tensor '" + name + "' holds " + std::to_string(bad) +
                                                    " non-finite value" + (bad > 1 ? "s" : "") + " (NaN or inf) of " +
                                                    std::to_string(weights.numel()));
    }
    return weights.to(opts_);
  }

  // Learnable tensors that exist in the file but are unused at inference.
  void skip(const std::string& name, std::vector<std::int64_t> shape) { (void)take(name, std::move(shape)); }

  void finish() const {
    for (const auto& [name, t] : f_.tensors()) {
      if (used_.count(name)) continue;
      const bool buffer = t.dtype == st_dtype::i64 || ends_with(name, ".rotary.inv_freq") ||
                          name == "tokenizer.bsq.basis" || name == "tokenizer.bsq.group_basis" ||
                          ends_with(name, ".group_codebook");
      if (!buffer) {
        throw tb::exception(errc::bad_checkpoint, f_.path() + ": unexpected tensor '" + name + "' " +
                                                      shape_str(t.shape) + " (not in the config's model)");
      }
    }
  }

  std::int64_t params() const { return params_; }
  const std::set<std::string>& dtypes() const { return dtypes_; }

 private:
  static bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  const safetensors_file& f_;
  at::TensorOptions opts_;
  std::set<std::string> used_;
  std::set<std::string> dtypes_;
  std::int64_t params_ = 0;
};

linear_w take_linear(weight_source& src, const std::string& p, std::int64_t out, std::int64_t in, bool bias = true) {
  linear_w l;
  l.w = src.take(p + ".weight", {out, in});
  if (bias) l.b = src.take(p + ".bias", {out});
  return l;
}

Tensor make_inv_freq(std::int64_t head_dim, const at::Device& device) {
  // 1 / 10000^(2i / head_dim), float32, computed as the reference computes it.
  Tensor e = at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kFloat)) / static_cast<double>(head_dim);
  return at::reciprocal(at::pow(10000.0, e)).to(device);
}

stack_w take_stack(weight_source& src, const std::string& p, int n_blocks, std::int64_t d, std::int64_t heads,
                   std::int64_t ff, const at::Device& device) {
  stack_w s;
  s.n_heads = heads;
  s.head_dim = d / heads;
  s.inv_freq = make_inv_freq(s.head_dim, device);
  for (int i = 0; i < n_blocks; ++i) {
    const std::string b = p + "." + std::to_string(i) + ".";
    block_w w;
    w.norm1 = src.take(b + "norm1.weight", {d});
    w.norm2 = src.take(b + "norm2.weight", {d});
    const linear_w q = take_linear(src, b + "self_attn.q_proj", d, d);
    const linear_w k = take_linear(src, b + "self_attn.k_proj", d, d);
    const linear_w v = take_linear(src, b + "self_attn.v_proj", d, d);
    w.qkv.w = at::cat({q.w, k.w, v.w}, 0).contiguous();
    w.qkv.b = at::cat({q.b, k.b, v.b}, 0).contiguous();
    w.o = take_linear(src, b + "self_attn.out_proj", d, d);
    const Tensor w1 = src.take(b + "ffn.w1.weight", {ff, d});
    w.w2 = src.take(b + "ffn.w2.weight", {d, ff});
    const Tensor w3 = src.take(b + "ffn.w3.weight", {ff, d});
    w.w13 = at::cat({w1, w3}, 0).contiguous();
    s.blocks.push_back(std::move(w));
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Forward pieces
// ---------------------------------------------------------------------------------------------

// RMSNorm, eps 1e-5, computed in float32, weight only.
Tensor rms_norm(const Tensor& x, const Tensor& w) {
  const Tensor xf = x.to(at::kFloat);
  const Tensor y = xf * at::rsqrt((xf * xf).mean(-1, true) + 1e-5);
  return y.to(x.scalar_type()) * w;
}

// cos, sin [L, head_dim] for positions pos0 .. pos0 + L - 1 (half-split layout).
std::pair<Tensor, Tensor> rotary_tables(const Tensor& inv_freq, std::int64_t pos0, std::int64_t len,
                                        at::ScalarType dtype) {
  Tensor t = at::arange(pos0, pos0 + len, inv_freq.options());
  Tensor freqs = at::outer(t, inv_freq);
  Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

Tensor rotate_half(const Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin) { return x * cos + rotate_half(x) * sin; }

// Attention of queries q [R, H, Lq, hd] over
//  - shared prefixes kp, vp [Bp, H, Lp, hd] (optional): with Bp == 1 one copy serves all R rows;
//    with Bp > 1 (several series stacked) `seg` gives how many consecutive rows of q belong to
//    each prefix (sum = R), and each segment attends to its own prefix only; then
//  - per-row keys ks, vs [R, H, Ls, hd] (optional); with `causal`, query j sees ks[..., :Ls-Lq+j+1].
// Returns [R, Lq, H * hd]. Softmax in float32. A segment computes exactly what it computes alone
// (the same bmm shapes over the same data), so stacking series changes no prefix score.
Tensor attention(const Tensor& q, const Tensor& kp, const Tensor& vp, const Tensor& ks, const Tensor& vs, bool causal,
                 const std::vector<std::int64_t>* seg = nullptr) {
  const auto R = q.size(0), H = q.size(1), Lq = q.size(2), hd = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const bool has_p = kp.defined() && kp.size(2) > 0;
  const bool has_s = ks.defined() && ks.size(2) > 0;
  const auto Lp = has_p ? kp.size(2) : 0;
  const auto Bp = has_p ? kp.size(0) : 0;
  if (has_p && Bp > 1) {
    std::int64_t total = 0;
    if (seg)
      for (auto c : *seg) total += c;
    if (!seg || static_cast<std::int64_t>(seg->size()) != Bp || total != R) {
      throw tb::exception(errc::internal, "attention: row segments do not match the stacked prefixes");
    }
  }
  // Rows per prefix: a single prefix serves all R rows (one segment); stacked ones follow `seg`.
  const std::vector<std::int64_t> all_rows{R};
  const std::vector<std::int64_t>& rows_of = Bp > 1 ? *seg : all_rows;
  std::vector<Tensor> parts;
  if (has_p) {
    std::vector<Tensor> sps;
    std::int64_t r0 = 0;
    for (std::int64_t b = 0; b < Bp; ++b) {
      const auto cnt = rows_of[static_cast<std::size_t>(b)];
      if (cnt == 0) continue;
      Tensor qh = q.narrow(0, r0, cnt).transpose(0, 1).reshape({H, cnt * Lq, hd});
      Tensor sp = at::bmm(qh, kp.select(0, b).transpose(1, 2)).mul_(scale);  // [H, cnt*Lq, Lp]
      sps.push_back(sp.view({H, cnt, Lq, Lp}).permute({1, 0, 2, 3}));
      r0 += cnt;
    }
    parts.push_back(sps.size() == 1 ? sps[0] : at::cat(sps, 0));
  }
  if (has_s) {
    Tensor ss = at::matmul(q, ks.transpose(-2, -1)).mul_(scale);  // [R, H, Lq, Ls]
    const auto Ls = ks.size(2);
    if (causal && Lq > 1) {
      Tensor mask = at::ones({Lq, Ls}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(Ls - Lq + 1);
      ss.masked_fill_(mask, -std::numeric_limits<float>::infinity());
    }
    parts.push_back(ss);
  }
  Tensor scores = parts.size() == 1 ? parts[0] : at::cat(parts, 3);
  Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  Tensor out;
  if (has_p) {
    std::vector<Tensor> os;
    std::int64_t r0 = 0;
    for (std::int64_t b = 0; b < Bp; ++b) {
      const auto cnt = rows_of[static_cast<std::size_t>(b)];
      if (cnt == 0) continue;
      Tensor pp = probs.narrow(0, r0, cnt).narrow(3, 0, Lp).permute({1, 0, 2, 3}).reshape({H, cnt * Lq, Lp});
      os.push_back(at::bmm(pp, vp.select(0, b)).view({H, cnt, Lq, hd}).permute({1, 0, 2, 3}));
      r0 += cnt;
    }
    out = os.size() == 1 ? os[0] : at::cat(os, 0);
  }
  if (has_s) {
    Tensor os = at::matmul(probs.narrow(3, Lp, probs.size(3) - Lp), vs);
    out = out.defined() ? out + os : os;
  }
  return out.transpose(1, 2).reshape({R, Lq, H * hd});
}

Tensor split_heads(const Tensor& x, std::int64_t heads, std::int64_t hd) {
  return x.view({x.size(0), x.size(1), heads, hd}).transpose(1, 2);
}

// Runs the blocks of `st` on x [R, Lq, d], whose first token sits at window position pos0.
// prefix: keys/values of shared prefixes at positions 0..Lp-1 ([Bp, H, Lp, hd]), optional; with
//       Bp > 1, `seg` says how many consecutive rows of x use each (see attention()).
// rows: per-row keys/values at positions Lp..pos0-1 (optional); when given, the new tokens' keys
//       and values are appended to it.
// kv_only_last: the last block only produces its keys and values (its output is unread); the
//       function then returns an undefined tensor.
Tensor run_stack(const stack_w& st, Tensor x, std::int64_t pos0, const kv_t* prefix, kv_t* rows,
                 bool kv_only_last = false, const std::vector<std::int64_t>* seg = nullptr) {
  const auto Lq = x.size(1);
  const auto [cos, sin] = rotary_tables(st.inv_freq, pos0, Lq, x.scalar_type());
  const auto nb = st.blocks.size();
  if (rows && rows->k.size() != nb) {
    rows->k.resize(nb);
    rows->v.resize(nb);
  }
  for (std::size_t l = 0; l < nb; ++l) {
    const block_w& b = st.blocks[l];
    const Tensor h = rms_norm(x, b.norm1);
    const auto R = x.size(0);
    // [R, Lq, 3d] -> q, k, v [R, H, Lq, hd] (views of one GEMM's output).
    const Tensor qkv = b.qkv(h).view({R, Lq, 3, st.n_heads, st.head_dim}).permute({2, 0, 3, 1, 4});
    Tensor k = apply_rotary(qkv[1], cos, sin);
    Tensor v = qkv[2];
    if (rows) {
      if (rows->k[l].defined() && rows->k[l].size(2) > 0) {
        k = at::cat({rows->k[l], k}, 2);
        v = at::cat({rows->v[l], v}, 2);
      }
      rows->k[l] = k;
      rows->v[l] = v;
    }
    if (kv_only_last && l + 1 == nb) return Tensor();
    Tensor q = apply_rotary(qkv[0], cos, sin);
    Tensor kp, vp;
    if (prefix) {
      kp = prefix->k[l];
      vp = prefix->v[l];
    }
    x = x + b.o(attention(q, kp, vp, k, v, /*causal=*/true, seg));
    const Tensor h2 = rms_norm(x, b.norm2);
    const auto gate = at::linear(h2, b.w13).chunk(2, -1);  // w1 x, w3 x
    x = x + at::linear(at::silu(gate[0]) * gate[1], b.w2);
  }
  return x;
}

// The sampling distribution of rows of logits [R, V] (float32), in descending-logit order, with the
// reference's filters: logits / T; top_k > 0 keeps the logits >= the k-th largest (top_p is then
// ignored); else top_p < 1 keeps the smallest set of most likely tokens whose mass reaches top_p
// (the most likely is always kept); softmax. Returns (probs sorted [R, V], token ids [R, V],
// number kept [R, 1]).
struct sorted_dist {
  Tensor probs, idx, kept;  // [R, K], [R, K], [R, 1]
  std::int64_t vocab = 0;
};
sorted_dist sampling_dist(const Tensor& logits, double temperature, int top_k, double top_p) {
  const auto V = logits.size(1);
  Tensor l = logits.to(at::kFloat) / temperature;
  if (top_k > 0 && l.is_cpu()) {
    // Only the k best matter: top-k instead of a full sort. The reference keeps every token tied
    // with the k-th; a tie across the boundary (practically never with float logits) falls back
    // to the full sort below, so the rule is the same.
    const std::int64_t k = std::min<std::int64_t>(top_k, V);
    auto best = at::topk(l, k, 1, /*largest=*/true, /*sorted=*/true);
    Tensor vals = std::get<0>(best);
    const bool ties = k < V && (l >= vals.narrow(1, k - 1, 1)).sum(1).gt(k).any().item<bool>();
    if (!ties) {
      return {at::softmax(vals, 1), std::get<1>(best), at::full({l.size(0), 1}, k, std::get<1>(best).options()), V};
    }
  }
  auto sorted = at::sort(l, /*dim=*/1, /*descending=*/true);
  Tensor vals = std::get<0>(sorted);
  Tensor idx = std::get<1>(sorted);
  Tensor keep;
  if (top_k > 0) {
    const std::int64_t k = std::min<std::int64_t>(top_k, V);
    Tensor kth = vals.narrow(1, k - 1, 1);
    keep = vals >= kth;
  } else if (top_p < 1.0) {
    Tensor p = at::softmax(vals, 1);
    Tensor before = at::cumsum(p, 1) - p;  // mass of the more likely tokens
    keep = before <= top_p;
    keep.select(1, 0).fill_(true);
  }
  if (keep.defined()) vals = vals.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
  Tensor kept = keep.defined() ? keep.sum(1, true) : at::full({l.size(0), 1}, V, idx.options());
  return {at::softmax(vals, 1), idx, kept, V};
}

// One token per row: inverse-CDF draw with u [R] uniform in [0, 1). Returns [R] int64.
Tensor sample_tokens(const Tensor& logits, double temperature, int top_k, double top_p, const Tensor& u) {
  const sorted_dist d = sampling_dist(logits, temperature, top_k, top_p);
  const auto K = d.probs.size(1);
  Tensor cdf = at::cumsum(d.probs, 1).contiguous();
  Tensor target = (u.to(at::kFloat).view({-1, 1}) * cdf.narrow(1, K - 1, 1)).contiguous();
  Tensor j = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true);
  j = at::minimum(j, d.kept - 1);
  return d.idx.gather(1, j).view({-1});
}

Tensor rows_tensor(const std::vector<std::vector<float>>& rows) {
  const auto R = static_cast<std::int64_t>(rows.size());
  const auto V = R ? static_cast<std::int64_t>(rows[0].size()) : 0;
  Tensor t = at::empty({R, V}, at::kFloat);
  for (std::int64_t r = 0; r < R; ++r) {
    if (static_cast<std::int64_t>(rows[static_cast<std::size_t>(r)].size()) != V) {
      throw tb::exception(errc::invalid_argument, "logit rows differ in length");
    }
    std::memcpy(t[r].data_ptr<float>(), rows[static_cast<std::size_t>(r)].data(),
                static_cast<std::size_t>(V) * sizeof(float));
  }
  return t;
}

std::string sha256_hex(const std::vector<const std::vector<std::uint8_t>*>& parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const auto* p : parts) {
    const std::uint64_t n = p->size();
    EVP_DigestUpdate(ctx, &n, sizeof n);
    if (n) EVP_DigestUpdate(ctx, p->data(), p->size());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// The calling thread's stream on `device`, through LibTorch's device-generic API (c10::Stream and
// VirtualGuardImpl, the same in LibTorch 1.13 and 2.x): on CUDA one stream from the pool, taken at
// the thread's first call and kept for the thread's life (each batcher executor is a thread, so
// each owns its stream); on the CPU the default CPU stream (its work is synchronous, and every
// stream operation on it is a no-op).
c10::Stream thread_stream(const at::Device& device) {
  thread_local std::vector<std::pair<at::Device, c10::Stream>> streams;
  for (const auto& [d, s] : streams) {
    if (d == device) return s;
  }
  const c10::impl::VirtualGuardImpl guard_impl(device.type());
  const c10::Stream s = device.is_cpu() ? guard_impl.getStream(device) : guard_impl.getStreamFromGlobalPool(device);
  streams.emplace_back(device, s);
  return s;
}

// Copies `rows` (on the device, any float dtype) to the host with ONE non-blocking copy on
// `stream` into one float32 buffer (pinned on CUDA), and waits for it: the only point where
// generate() waits for the device. On a device with events (CUDA) an event marks the end of the
// computation and one the end of the copy; the thread polls them (c10::Event::query: LibTorch
// 1.13's c10::Event has no synchronize(), and polling keeps CUDA's sync-debug mode quiet) and
// d2h is the time between the two. On the CPU (no c10 events) the copy is synchronous: d2h is
// the copy itself and the wait (stream.synchronize(), a no-op there) is counted all the same.
Tensor copy_to_host(const Tensor& rows, const c10::Stream& stream, generate_stats& stats) {
  const Tensor src = rows.to(at::kFloat);
  auto opts = at::TensorOptions().dtype(at::kFloat);
  if (src.is_cuda()) opts = opts.pinned_memory(true);
  Tensor host = at::empty(src.sizes(), opts);
  const bool has_events = !src.is_cpu();
  std::optional<c10::Event> computed, copied;
  if (has_events) {
    computed.emplace(src.device().type());
    computed->record(stream);
  }
  const auto t0 = std::chrono::steady_clock::now();
  host.copy_(src, /*non_blocking=*/true);
  if (has_events) {
    copied.emplace(src.device().type());
    copied->record(stream);
    while (!computed->query()) std::this_thread::yield();
    const auto t1 = std::chrono::steady_clock::now();
    while (!copied->query()) std::this_thread::yield();
    stats.d2h += std::chrono::steady_clock::now() - t1;
  } else {
    stream.synchronize();
    stats.d2h += std::chrono::steady_clock::now() - t0;
  }
  ++stats.host_syncs;
  return host;
}

tb::error torch_error(const std::string& where, const std::exception& e) {
  std::string msg = e.what();
  const auto nl = msg.find("\nException raised from");
  if (nl != std::string::npos) msg.erase(nl);
  const errc code = msg.find("out of memory") != std::string::npos ? errc::out_of_memory : errc::internal;
  return tb::error{code, where + ": " + msg};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------
struct kronos_model::impl {
  model_info info;
  core::model_identity identity;
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
  tokenizer_w tok;
  predictor_w pred;

  at::TensorOptions fopts() const { return at::TensorOptions().dtype(dtype).device(device); }
  at::TensorOptions lopts() const { return at::TensorOptions().dtype(at::kLong).device(device); }

  // A host tensor on the model's device (dtype unchanged). On CUDA through pinned memory with a
  // non-blocking copy on the current stream: no host synchronisation (a pageable copy would make
  // LibTorch synchronise the stream); the pinned block returns to LibTorch's host cache only once
  // the copy is done. On the CPU the tensor itself.
  Tensor upload(const Tensor& host) const {
    if (!device.is_cuda()) return host;
    return host.pin_memory().to(device, /*non_blocking=*/true);
  }

  // ---- tokenizer ----
  // x [R, L, d_in] normalised -> s1, s2 [R, L] int64.
  std::pair<Tensor, Tensor> encode(const Tensor& x) const {
    Tensor z = tok.embed(x);
    if (!tok.enc.blocks.empty()) z = run_stack(tok.enc, z, 0, nullptr, nullptr);
    z = tok.quant_embed(z);
    // L2 normalisation keeps signs, and the bits are the signs (> 0 is 1).
    z = z.to(at::kFloat);
    z = z / at::clamp_min(z.norm(2, {-1}, true), 1e-12);
    const auto s1b = info.tokenizer.s1_bits, s2b = info.tokenizer.s2_bits;
    Tensor bits = (z > 0).to(at::kLong);
    Tensor w1 = at::pow(2, at::arange(s1b, lopts()));
    Tensor w2 = at::pow(2, at::arange(s2b, lopts()));
    Tensor s1 = (bits.narrow(-1, 0, s1b) * w1).sum(-1);
    Tensor s2 = (bits.narrow(-1, s1b, s2b) * w2).sum(-1);
    return {s1, s2};
  }

  // s1, s2 [R, L] -> the quantised codes [R, L, s1_bits + s2_bits] (+-1/sqrt(bits)).
  Tensor codes(const Tensor& s1, const Tensor& s2) const {
    const auto s1b = info.tokenizer.s1_bits, s2b = info.tokenizer.s2_bits;
    const double q = 1.0 / std::sqrt(static_cast<double>(s1b + s2b));
    Tensor b1 = at::bitwise_and(s1.unsqueeze(-1), at::pow(2, at::arange(s1b, lopts()))).ne(0);
    Tensor b2 = at::bitwise_and(s2.unsqueeze(-1), at::pow(2, at::arange(s2b, lopts()))).ne(0);
    Tensor bits = at::cat({b1, b2}, -1).to(at::kFloat) * 2 - 1;
    return (bits * q).to(dtype);
  }

  // Full decode (reference): s1, s2 [R, L] -> [R, L, d_in].
  Tensor decode(const Tensor& s1, const Tensor& s2) const {
    Tensor z = tok.post_quant_embed(codes(s1, s2));
    if (!tok.dec.blocks.empty()) z = run_stack(tok.dec, z, 0, nullptr, nullptr);
    return tok.head(z);
  }

  // ---- predictor ----
  // Input embedding of tokens s1, s2 [R, L] with stamps [R or 1, L, 5] -> [R, L, d].
  Tensor embed(const Tensor& s1, const Tensor& s2, const Tensor& stamps) const {
    const double scale = std::sqrt(static_cast<double>(info.predictor.d_model));
    Tensor e1 = at::embedding(pred.emb_s1, s1) * scale;
    Tensor e2 = at::embedding(pred.emb_s2, s2) * scale;
    Tensor x = pred.fusion(at::cat({e1, e2}, -1));
    Tensor te = at::embedding(pred.hour, stamps.select(-1, 1)) + at::embedding(pred.weekday, stamps.select(-1, 2)) +
                at::embedding(pred.day, stamps.select(-1, 3)) + at::embedding(pred.month, stamps.select(-1, 4)) +
                at::embedding(pred.minute, stamps.select(-1, 0));
    return x + te;
  }

  Tensor dep_heads(const Tensor& x) const { return split_heads(x, 4, info.predictor.d_model / 4); }

  // s2 logits [R, V2] for rows whose chosen s1 is `s1` [R], last normed hidden `last` [R, d], and
  // dependency keys/values: shared prefixes ([Bp, ...], rows segmented by `seg` when Bp > 1;
  // optional) and per-row (optional).
  Tensor s2_logits(const Tensor& s1, const Tensor& last, const kv_t& dep_prefix, const kv_t& dep_rows,
                   const std::vector<std::int64_t>* seg = nullptr) const {
    Tensor sib = at::embedding(pred.emb_s1, s1.view({-1, 1}));  // [R, 1, d], no sqrt(d) scale
    Tensor q = dep_heads(pred.dep_q(sib));
    Tensor kp, vp, ks, vs;
    if (!dep_prefix.k.empty()) {
      kp = dep_prefix.k[0];
      vp = dep_prefix.v[0];
    }
    if (!dep_rows.k.empty()) {
      ks = dep_rows.k[0];
      vs = dep_rows.v[0];
    }
    Tensor a = pred.dep_o(attention(q, kp, vp, ks, vs, /*causal=*/false, seg)).squeeze(1);  // [R, d]
    return pred.proj_s2(rms_norm(last + a, pred.dep_norm));
  }

  void append_dep(kv_t& dep, const Tensor& hn) const {
    Tensor k = dep_heads(pred.dep_k(hn));
    Tensor v = dep_heads(pred.dep_v(hn));
    if (dep.k.empty()) {
      dep.k = {k};
      dep.v = {v};
    } else {
      dep.k[0] = at::cat({dep.k[0], k}, 2);
      dep.v[0] = at::cat({dep.v[0], v}, 2);
    }
  }

  // ---- one series ----
  struct series {
    std::int64_t n = 0;
    core::sampling_params p;
    float mean[core::n_features]{}, std_[core::n_features]{};
    Tensor x;       // [1, n, 6] normalised, clipped
    Tensor stamps;  // [n + pred_len, 5] int64 (history then future)
    Tensor u;       // [pred_len, 2, S] float32 uniforms
  };

  series prepare(const core::forecast_window& w, const std::vector<core::bar_stamp>* fut, bool with_draws) const {
    series s;
    s.p = w.params;
    s.n = static_cast<std::int64_t>(w.bars.size());
    const auto n = s.n;
    std::vector<float> raw(static_cast<std::size_t>(n) * core::n_features);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& b = w.bars[static_cast<std::size_t>(i)];
      const double v[core::n_features] = {b.open, b.high, b.low, b.close, b.volume, b.amount};
      for (int f = 0; f < core::n_features; ++f)
        raw[static_cast<std::size_t>(i * core::n_features + f)] = static_cast<float>(v[f]);
    }
    for (int f = 0; f < core::n_features; ++f) {
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum += raw[static_cast<std::size_t>(i * core::n_features + f)];
      const double mean = sum / static_cast<double>(n);
      double ss = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double d = raw[static_cast<std::size_t>(i * core::n_features + f)] - mean;
        ss += d * d;
      }
      s.mean[f] = static_cast<float>(mean);
      s.std_[f] = static_cast<float>(std::sqrt(ss / static_cast<double>(n)));
    }
    const float clip = static_cast<float>(w.params.clip);
    for (std::int64_t i = 0; i < n; ++i) {
      for (int f = 0; f < core::n_features; ++f) {
        float& v = raw[static_cast<std::size_t>(i * core::n_features + f)];
        v = (v - s.mean[f]) / (s.std_[f] + 1e-5f);
        v = std::min(std::max(v, -clip), clip);
      }
    }
    s.x = upload(at::from_blob(raw.data(), {1, n, core::n_features}, at::kFloat).clone()).to(dtype);
    const int pred_len = with_draws ? w.params.pred_len : 0;
    std::vector<core::bar_stamp> future;
    if (fut && static_cast<int>(fut->size()) >= pred_len) {
      future.assign(fut->begin(), fut->begin() + pred_len);
    } else {
      future = future_stamps(w.bars, pred_len);
    }
    std::vector<std::int64_t> st;
    st.reserve(static_cast<std::size_t>(n + pred_len) * 5);
    auto push = [&st](const core::bar_stamp& t) { st.insert(st.end(), {t.minute, t.hour, t.weekday, t.day, t.month}); };
    for (const auto& b : w.bars) push(core::stamp_of(b));
    for (const auto& t : future) push(t);
    s.stamps = upload(at::from_blob(st.data(), {n + pred_len, 5}, at::kLong).clone());
    if (with_draws) {
      // All draws of the series up front, from its own generator, in a fixed order:
      // step-major, then s1 before s2, then sample. Independent of the batch and of the mode.
      const std::int64_t S = w.params.sample_count;
      std::mt19937_64 gen(w.seed);
      auto opts = at::TensorOptions().dtype(at::kFloat);
      if (device.is_cuda()) opts = opts.pinned_memory(true);
      Tensor u = at::empty({pred_len, 2, S}, opts);
      float* up = u.data_ptr<float>();
      for (std::int64_t i = 0; i < pred_len * 2 * S; ++i) {
        up[i] = static_cast<float>(gen() >> 40) * (1.0f / 16777216.0f);  // 24 random bits, [0, 1)
      }
      s.u = upload(u);
    }
    return s;
  }

  // Draws of one step for rows [S_tot] of stacked series: consecutive series with the same
  // sampling parameters sample together (the common case: one call for the whole group).
  // Row-wise the result is what each series draws alone: the filters and the inverse-CDF
  // search are per row, and the uniforms are the series' own.
  struct sample_run {
    std::int64_t row0 = 0, rows = 0;
    double temperature = 1;
    int top_k = 0;
    double top_p = 1;
  };
  static Tensor sample_runs(const Tensor& logits, const std::vector<sample_run>& runs, const Tensor& u) {
    if (runs.size() == 1) return sample_tokens(logits, runs[0].temperature, runs[0].top_k, runs[0].top_p, u);
    std::vector<Tensor> parts;
    for (const auto& r : runs) {
      parts.push_back(sample_tokens(logits.narrow(0, r.row0, r.rows), r.temperature, r.top_k, r.top_p,
                                    u.narrow(0, r.row0, r.rows)));
    }
    return at::cat(parts, 0);
  }

  // Ours: exact, cached, for a group of series stacked into the same tensors. Every series of the
  // group has the same history length n, pred_len and max_context (so the same window schedule:
  // the same prefix lengths at every step); sample_count and the sampling parameters may differ.
  // Returns per series the averaged decoded rows [pred_len, 6] (normalised space).
  //
  // Rows are series-major. The shared history prefix of each series is computed once per window
  // position for the whole group ([B, Lp] in one pass); per-path work of all series runs in one
  // pass ([U_total, i]); prefix attention is segmented so every path attends to its own series'
  // prefix only (attention()). Sampling uses each series' own uniforms, so a series' result does
  // not depend on its neighbours (beyond float rounding of the larger GEMMs).
  //
  // Samples of a series share the history; samples that drew the same tokens so far share their
  // whole window. So the state is kept per distinct token path ("path"), not per sample: U <= S
  // paths [U, i] with `inv` [S] mapping each sample to its path. The transformer runs once per
  // path; sampling runs per sample with its own draws. Identical inputs give identical outputs,
  // so this changes nothing but the work (on CUDA, where finding the distinct paths would need a
  // host synchronisation per step, every sample is its own path). Paths stay grouped by series
  // (sorted unique keys lead with the parent path), so `pseg` (paths per series) segments them.
  // A group's inputs: shapes, sample segments and sampling runs on the host; the stacked
  // series on the device. Every series of the group has the same history length n, pred_len P
  // and max_context C.
  struct group_in {
    std::int64_t B = 0, n = 0, C = 0, P = 0, S = 0;
    std::vector<std::int64_t> sseg, soff;  // samples per series, first sample of each series
    std::vector<sample_run> runs;          // consecutive series with equal sampling parameters
    Tensor x, stamps, u, sser;             // [B, n, 6], [B, n + P, 5], [P, 2, S], sample -> series [S]
  };

  group_in group_inputs(const std::vector<const series*>& g) const {
    group_in in;
    in.B = static_cast<std::int64_t>(g.size());
    in.n = g[0]->n;
    in.C = g[0]->p.max_context;
    in.P = g[0]->p.pred_len;
    for (const series* s : g) {
      if (s->n != in.n || s->p.max_context != in.C || s->p.pred_len != in.P) {
        throw tb::exception(errc::internal, "generate_cached: a group needs equal lengths, pred_len and max_context");
      }
    }
    // Samples: series-major offsets; runs of equal sampling parameters.
    std::vector<std::int64_t> sample_series;
    for (std::int64_t b = 0; b < in.B; ++b) {
      const auto& p = g[static_cast<std::size_t>(b)]->p;
      in.soff.push_back(in.S);
      in.sseg.push_back(p.sample_count);
      if (!in.runs.empty() && in.runs.back().temperature == p.temperature && in.runs.back().top_k == p.top_k &&
          in.runs.back().top_p == p.top_p) {
        in.runs.back().rows += p.sample_count;
      } else {
        in.runs.push_back({in.S, p.sample_count, p.temperature, p.top_k, p.top_p});
      }
      in.S += p.sample_count;
      sample_series.insert(sample_series.end(), static_cast<std::size_t>(p.sample_count), b);
    }
    if (in.B == 1) {
      in.x = g[0]->x;
      in.stamps = g[0]->stamps.unsqueeze(0);
      in.u = g[0]->u;
    } else {
      std::vector<Tensor> xs, sts, us;
      for (const series* s : g) {
        xs.push_back(s->x);
        sts.push_back(s->stamps);
        us.push_back(s->u);
      }
      in.x = at::cat(xs, 0);
      in.stamps = at::stack(sts, 0);
      in.u = at::cat(us, 2);
    }
    // Built on the host: repeat_interleave with a tensor of counts would read them back from the
    // device (a host synchronisation on CUDA).
    in.sser = upload(at::tensor(sample_series, at::kLong));
    return in;
  }

  // Device work only: on CUDA it reads nothing back to the host (so it can be captured into a
  // CUDA graph, cuda_graph.hpp). Returns per series the averaged decoded rows [P, 6].
  std::vector<Tensor> generate_cached(const group_in& in) const {
    const std::int64_t B = in.B, n = in.n, C = in.C, P = in.P, S = in.S;
    const std::vector<std::int64_t>& sseg = in.sseg;
    const std::vector<std::int64_t>& soff = in.soff;
    const std::vector<sample_run>& runs = in.runs;
    const std::int64_t V2 = std::int64_t{1} << info.predictor.s2_bits;
    const std::int64_t V12 = (std::int64_t{1} << info.predictor.s1_bits) * V2;
    const bool dedup = !device.is_cuda();
    Tensor h1, h2;
    std::tie(h1, h2) = encode(in.x);  // [B, n], once per series
    const Tensor& stamps = in.stamps;
    const Tensor& u = in.u;
    const Tensor& sser = in.sser;
    Tensor g1 = at::empty({B, 0}, lopts()), g2 = at::empty({B, 0}, lopts());  // paths [U, i]
    Tensor pser = at::arange(B, lopts());                                     // path -> series
    std::vector<std::int64_t> pseg(static_cast<std::size_t>(B), 1);           // paths per series
    Tensor inv = sser;                                                        // sample -> path
    kv_t pre, rows, dep_pre, dep_rows;  // pre, dep_pre: per series; rows, dep_rows: per path
    std::int64_t ws_prev = -1;
    for (std::int64_t i = 0; i < P; ++i) {
      const std::int64_t cur = n + i;
      const std::int64_t ws = std::max<std::int64_t>(0, cur - C);
      const std::int64_t Lp = n - ws;  // history tokens in the window (>= 1 since pred_len <= C)
      Tensor last;                     // [U, d] final normed hidden at the window's end, per path
      if (ws != ws_prev) {
        // (Re)compute the shared prefixes once per series: history tokens ws..n-1 at 0..Lp-1.
        pre = kv_t();
        dep_pre = kv_t();
        rows = kv_t();
        dep_rows = kv_t();
        Tensor xp = embed(h1.narrow(1, ws, Lp), h2.narrow(1, ws, Lp), stamps.narrow(1, ws, Lp));
        Tensor hp = rms_norm(run_stack(pred.tr, xp, 0, nullptr, &pre), pred.norm);  // [B, Lp, d]
        append_dep(dep_pre, hp);
        if (i == 0) {
          last = hp.select(1, Lp - 1);  // [B, d]: each series' single empty path
        } else {
          // Every path's generated tokens n..cur-1, at positions Lp..Lp+i-1, over its prefix.
          Tensor st = stamps.narrow(1, n, i);
          Tensor xs = embed(g1, g2, B == 1 ? st : st.index_select(0, pser));
          Tensor hs = rms_norm(run_stack(pred.tr, xs, Lp, &pre, &rows, false, &pseg), pred.norm);  // [U, i, d]
          append_dep(dep_rows, hs);
          last = hs.select(1, i - 1);
        }
      } else {
        // Window did not move: one new token per path at position cur-1 (KV cache).
        Tensor st = stamps.narrow(1, cur - 1, 1);
        Tensor xs = embed(g1.narrow(1, i - 1, 1), g2.narrow(1, i - 1, 1), B == 1 ? st : st.index_select(0, pser));
        Tensor hs = rms_norm(run_stack(pred.tr, xs, cur - 1 - ws, &pre, &rows, false, &pseg), pred.norm);  // [U, 1, d]
        append_dep(dep_rows, hs);
        last = hs.select(1, 0);
      }
      ws_prev = ws;
      // s1: projection at the last position only, once per path; draws per sample.
      Tensor l1 = pred.proj_s1(last).index_select(0, inv);  // [S, V1]
      Tensor t1 = sample_runs(l1, runs, u.select(0, i).select(0, 0));
      kv_t dep_s;
      if (!dep_rows.k.empty()) dep_s = kv_t{{dep_rows.k[0].index_select(0, inv)}, {dep_rows.v[0].index_select(0, inv)}};
      Tensor t2 = sample_runs(s2_logits(t1, last.index_select(0, inv), dep_pre, dep_s, &sseg), runs,
                              u.select(0, i).select(0, 1));
      // The paths of length i + 1: (parent path, s1, s2), distinct ones only.
      Tensor parent, n1, n2;
      if (dedup) {
        Tensor key = inv * V12 + t1 * V2 + t2;
        auto uq = at::_unique2(key, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/false);
        Tensor uk = std::get<0>(uq);
        inv = std::get<1>(uq).view({S});
        parent = at::div(uk, V12, "floor");
        n1 = at::div(at::remainder(uk, V12), V2, "floor");
        n2 = at::remainder(uk, V2);
        pser = pser.index_select(0, parent);  // non-decreasing: parents sorted, paths grouped by series
        if (B > 1) {
          Tensor cnt = at::bincount(pser, {}, B).to(at::kCPU).contiguous();
          pseg.assign(cnt.data_ptr<std::int64_t>(), cnt.data_ptr<std::int64_t>() + B);
        } else {
          pseg[0] = uk.size(0);
        }
      } else {
        parent = inv;
        n1 = t1;
        n2 = t2;
        inv = at::arange(S, lopts());
        pser = sser;
        pseg = sseg;
      }
      g1 = at::cat({g1.index_select(0, parent), n1.view({-1, 1})}, 1);
      g2 = at::cat({g2.index_select(0, parent), n2.view({-1, 1})}, 1);
      if (i + 1 < P && std::max<std::int64_t>(0, cur + 1 - C) == ws) {
        // The next step extends these caches: carry them to the new paths.
        for (auto& t : rows.k) t = t.index_select(0, parent);
        for (auto& t : rows.v) t = t.index_select(0, parent);
        for (auto& t : dep_rows.k) t = t.index_select(0, parent);
        for (auto& t : dep_rows.v) t = t.index_select(0, parent);
      }
    }
    rows = kv_t();
    dep_rows = kv_t();
    pre = kv_t();
    dep_pre = kv_t();
    // Tokenizer decode of the last min(n + P, C) tokens; the shared history parts once per series,
    // then each distinct path; averaged over each series' samples (each path weighted by its
    // samples).
    const std::int64_t Cd = std::min(n + P, C);
    const std::int64_t Lh = Cd - P;  // history tokens in the decode window
    kv_t dpre;
    if (Lh > 0 && !tok.dec.blocks.empty()) {
      Tensor zp = tok.post_quant_embed(codes(h1.narrow(1, n - Lh, Lh), h2.narrow(1, n - Lh, Lh)));  // [B, Lh, d]
      run_stack(tok.dec, zp, 0, nullptr, &dpre, /*kv_only_last=*/true);
    }
    Tensor z = tok.post_quant_embed(codes(g1, g2));  // [U, P, d]
    if (!tok.dec.blocks.empty()) z = run_stack(tok.dec, z, Lh, Lh > 0 ? &dpre : nullptr, nullptr, false, &pseg);
    Tensor dec = tok.head(z).index_select(0, inv);  // [S, P, 6]
    std::vector<Tensor> out;
    for (std::int64_t b = 0; b < B; ++b) {
      out.push_back(
          dec.narrow(0, soff[static_cast<std::size_t>(b)], sseg[static_cast<std::size_t>(b)]).mean(0));  // [P, 6]
    }
    return out;
  }

  // ---- CUDA graphs ("compile") ----
  // One captured generation of a group of `series` windows (a bucket): the static inputs the
  // graph reads and the static output it writes. Replays of one bucket are serialised: `mu` on
  // the host, and on the device every user's stream waits for the previous user's `released`
  // (recorded once it has copied `out` away) before it overwrites the inputs.
  struct graph_bucket {
    std::int64_t series = 0;
    group_in in;  // x, stamps, u: rewritten before each replay (rows beyond the group keep old data)
    Tensor out;   // [series, P, 6]
    std::unique_ptr<detail::device_graph> graph;
    std::mutex mu;
    c10::Event released{c10::DeviceType::CUDA};
  };
  // The shape every bucket was captured at: a group replays only when all of its series have it.
  struct graph_set {
    std::int64_t n = 0, P = 0, C = 0, S = 0;
    sample_run run;
    std::vector<std::unique_ptr<graph_bucket>> buckets;  // ascending series
  };
  mutable std::mutex graphs_mu;  // guards graphs (set once by capture_graphs)
  mutable std::shared_ptr<graph_set> graphs;

  // The group's forecasts through the smallest captured bucket that holds it (padded: rows of
  // the bucket beyond the group compute on stale inputs and are not read), on `stream`; nullopt
  // when no bucket fits its shape.
  std::optional<std::vector<Tensor>> replay_graph(const group_in& in, const c10::Stream& stream) const {
    std::shared_ptr<graph_set> gs;
    {
      std::lock_guard<std::mutex> lock(graphs_mu);
      gs = graphs;
    }
    if (!gs || in.n != gs->n || in.P != gs->P || in.C != gs->C || in.runs.size() != 1) return std::nullopt;
    const sample_run& r = in.runs[0];
    if (r.temperature != gs->run.temperature || r.top_k != gs->run.top_k || r.top_p != gs->run.top_p)
      return std::nullopt;
    for (auto c : in.sseg) {
      if (c != gs->S) return std::nullopt;
    }
    graph_bucket* bucket = nullptr;
    for (const auto& b : gs->buckets) {
      if (b->series >= in.B) {
        bucket = b.get();
        break;
      }
    }
    if (!bucket) return std::nullopt;
    std::lock_guard<std::mutex> lock(bucket->mu);
    bucket->released.block(stream);  // the previous replay's output has been copied away
    bucket->in.x.narrow(0, 0, in.B).copy_(in.x, /*non_blocking=*/true);
    bucket->in.stamps.narrow(0, 0, in.B).copy_(in.stamps, /*non_blocking=*/true);
    bucket->in.u.narrow(2, 0, in.S).copy_(in.u, /*non_blocking=*/true);
    bucket->graph->replay();
    const Tensor out = bucket->out.narrow(0, 0, in.B).clone();
    bucket->released.record(stream);
    std::vector<Tensor> rs;
    for (std::int64_t b = 0; b < in.B; ++b) rs.push_back(out.select(0, b));
    return rs;
  }

  // Plain port of the reference: every step recomputes the whole window for every sample.
  Tensor generate_plain(const series& s) const {
    const std::int64_t n = s.n, S = s.p.sample_count, C = s.p.max_context, P = s.p.pred_len;
    Tensor x = s.x.expand({S, n, s.x.size(2)}).contiguous();
    Tensor f1, f2;
    std::tie(f1, f2) = encode(x);  // [S, n]: the reference encodes every sample's copy
    for (std::int64_t i = 0; i < P; ++i) {
      const std::int64_t cur = n + i;
      const std::int64_t ws = std::max<std::int64_t>(0, cur - C);
      const std::int64_t W = cur - ws;
      Tensor st = s.stamps.narrow(0, ws, W).unsqueeze(0);
      Tensor xw = embed(f1.narrow(1, ws, W), f2.narrow(1, ws, W), st);
      Tensor h = rms_norm(run_stack(pred.tr, xw, 0, nullptr, nullptr), pred.norm);  // [S, W, d]
      Tensor l1 = pred.proj_s1(h).select(1, W - 1);  // head at every position, keep the last
      Tensor t1 = sample_tokens(l1, s.p.temperature, s.p.top_k, s.p.top_p, s.u.select(0, i).select(0, 0));
      Tensor sib = at::embedding(pred.emb_s1, t1.view({S, 1}));
      Tensor q = dep_heads(pred.dep_q(sib));
      Tensor k = dep_heads(pred.dep_k(h)), v = dep_heads(pred.dep_v(h));
      Tensor a = pred.dep_o(attention(q, Tensor(), Tensor(), k, v, false));       // [S, 1, d]
      Tensor l2 = pred.proj_s2(rms_norm(h + a, pred.dep_norm)).select(1, W - 1);  // every position, keep last
      Tensor t2 = sample_tokens(l2, s.p.temperature, s.p.top_k, s.p.top_p, s.u.select(0, i).select(0, 1));
      f1 = at::cat({f1, t1.view({S, 1})}, 1);
      f2 = at::cat({f2, t2.view({S, 1})}, 1);
    }
    const std::int64_t total = n + P;
    const std::int64_t start = std::max<std::int64_t>(0, total - C);
    Tensor z = decode(f1.narrow(1, start, total - start), f2.narrow(1, start, total - start));
    return z.narrow(1, z.size(1) - P, P).mean(0);
  }
};

kronos_model::kronos_model(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}

const model_info& kronos_model::info() const { return impl_->info; }
const core::model_identity& kronos_model::identity() const { return impl_->identity; }

tb::expected<kronos_model> kronos_model::load(const std::string& tokenizer_dir, const std::string& predictor_dir,
                                              const device_options& options) {
  auto p = std::make_shared<impl>();
  // Device and dtype.
  at::set_num_threads(options.cpu_threads > 0 ? options.cpu_threads
                                              : static_cast<int>(std::thread::hardware_concurrency()));
  try {
    std::string dev = options.device.empty() ? "cpu" : options.device;
    if (dev == "auto") dev = at::hasCUDA() ? "cuda" : "cpu";
    if (dev.rfind("cuda", 0) == 0 && !at::hasCUDA()) {
      return tb::error{errc::unavailable, "device '" + options.device + "': CUDA is not available to LibTorch here"};
    }
    if (dev != "cpu" && dev.rfind("cuda", 0) != 0) {
      return tb::error{errc::invalid_argument, "device '" + options.device + "': use cpu, cuda, cuda:N or auto"};
    }
    p->device = at::Device(dev);
    if (p->device.is_cuda() && !p->device.has_index()) p->device = at::Device(at::kCUDA, 0);
  } catch (const std::exception& e) {
    return tb::error{errc::invalid_argument, "device '" + options.device + "': " + e.what()};
  }
  if (options.dtype == "float32" || options.dtype.empty()) {
    p->dtype = at::kFloat;
  } else if (options.dtype == "bfloat16") {
    p->dtype = at::kBFloat16;
  } else if (options.dtype == "float16") {
    p->dtype = at::kHalf;
  } else {
    return tb::error{errc::invalid_argument, "dtype '" + options.dtype + "': use float32, bfloat16 or float16"};
  }
  if (!p->device.is_cuda()) p->dtype = at::kFloat;  // the CPU path computes in float32

  // Configs.
  std::vector<std::uint8_t> tcj, pcj;  // the files as read, for the content hash
  auto tj = read_config_json(tokenizer_dir, &tcj);
  if (!tj) return tj.error();
  auto pj = read_config_json(predictor_dir, &pcj);
  if (!pj) return pj.error();
  auto tc = tokenizer_config_from_json(*tj, tokenizer_dir + "/config.json");
  if (!tc) return tc.error();
  auto pc = predictor_config_from_json(*pj, predictor_dir + "/config.json");
  if (!pc) return pc.error();
  if (tc->s1_bits != pc->s1_bits || tc->s2_bits != pc->s2_bits) {
    return tb::error{errc::bad_checkpoint, predictor_dir + "/config.json: s1_bits/s2_bits (" +
                                               std::to_string(pc->s1_bits) + "/" + std::to_string(pc->s2_bits) +
                                               ") differ from the tokenizer's (" + std::to_string(tc->s1_bits) + "/" +
                                               std::to_string(tc->s2_bits) + ")"};
  }
  p->info.tokenizer = *tc;
  p->info.predictor = *pc;
  p->info.tokenizer_note = checkpoint_note_from_json(*tj);
  p->info.predictor_note = checkpoint_note_from_json(*pj);

  auto tf = safetensors_file::open(tokenizer_dir + "/model.safetensors");
  if (!tf) return tf.error();
  auto pf = safetensors_file::open(predictor_dir + "/model.safetensors");
  if (!pf) return pf.error();

  try {
    c10::InferenceMode guard;
    const auto opts = p->fopts();
    std::set<std::string> dtypes;
    {
      weight_source src(*tf, opts);
      const std::int64_t d = tc->d_model, bits = tc->s1_bits + tc->s2_bits;
      p->tok.embed = take_linear(src, "embed", d, tc->d_in);
      p->tok.enc = take_stack(src, "encoder", tc->n_enc_layers - 1, d, tc->n_heads, tc->ff_dim, p->device);
      p->tok.dec = take_stack(src, "decoder", tc->n_dec_layers - 1, d, tc->n_heads, tc->ff_dim, p->device);
      p->tok.quant_embed = take_linear(src, "quant_embed", bits, d);
      p->tok.post_quant_embed = take_linear(src, "post_quant_embed", d, bits);
      src.skip("post_quant_embed_pre.weight", {d, tc->s1_bits});
      src.skip("post_quant_embed_pre.bias", {d});
      p->tok.head = take_linear(src, "head", tc->d_in, d);
      src.finish();
      p->info.tokenizer_params = src.params();
      dtypes.insert(src.dtypes().begin(), src.dtypes().end());
    }
    {
      weight_source src(*pf, opts);
      const std::int64_t d = pc->d_model, v1 = std::int64_t{1} << pc->s1_bits, v2 = std::int64_t{1} << pc->s2_bits;
      p->pred.emb_s1 = src.take("embedding.emb_s1.weight", {v1, d});
      p->pred.emb_s2 = src.take("embedding.emb_s2.weight", {v2, d});
      p->pred.fusion = take_linear(src, "embedding.fusion_proj", d, 2 * d);
      const std::string suffix = pc->learn_te ? ".weight" : ".emb.weight";
      p->pred.minute = src.take("time_emb.minute_embed" + suffix, {60, d});
      p->pred.hour = src.take("time_emb.hour_embed" + suffix, {24, d});
      p->pred.weekday = src.take("time_emb.weekday_embed" + suffix, {7, d});
      p->pred.day = src.take("time_emb.day_embed" + suffix, {32, d});
      p->pred.month = src.take("time_emb.month_embed" + suffix, {13, d});
      p->pred.tr = take_stack(src, "transformer", pc->n_layers, d, pc->n_heads, pc->ff_dim, p->device);
      p->pred.norm = src.take("norm.weight", {d});
      p->pred.dep_q = take_linear(src, "dep_layer.cross_attn.q_proj", d, d);
      p->pred.dep_k = take_linear(src, "dep_layer.cross_attn.k_proj", d, d);
      p->pred.dep_v = take_linear(src, "dep_layer.cross_attn.v_proj", d, d);
      p->pred.dep_o = take_linear(src, "dep_layer.cross_attn.out_proj", d, d);
      p->pred.dep_norm = src.take("dep_layer.norm.weight", {d});
      p->pred.proj_s1 = take_linear(src, "head.proj_s1", v1, d);
      p->pred.proj_s2 = take_linear(src, "head.proj_s2", v2, d);
      src.finish();
      p->info.predictor_params = src.params();
      dtypes.insert(src.dtypes().begin(), src.dtypes().end());
    }
    p->info.stored_dtype = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
    p->info.device = p->device.str();
  } catch (const tb::exception& e) {
    return e.to_error();
  } catch (const std::exception& e) {
    return torch_error("loading " + tokenizer_dir + " + " + predictor_dir, e);
  }

  // Identity: content hash over the four files, as read (and parsed) above.
  p->identity.checkpoint_hash = sha256_hex({&tcj, &tf->bytes(), &pcj, &pf->bytes()});
  p->identity.dtype = p->dtype == at::kFloat ? "float32" : p->dtype == at::kBFloat16 ? "bfloat16" : "float16";
  p->identity.compile = false;
  return kronos_model(std::move(p));
}

tb::expected<std::vector<core::forecast>> kronos_model::generate(const std::vector<core::forecast_window>& batch,
                                                                 const generate_options& options,
                                                                 generate_stats* stats) const {
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const std::string why = core::window_problem(batch[b]);
    if (!why.empty()) {
      return tb::error{errc::invalid_argument, "series " + std::to_string(b) + " (" + batch[b].symbol + "): " + why};
    }
  }
  const impl& m = *impl_;
  std::vector<core::forecast> out;
  out.reserve(batch.size());
  generate_stats cost;
  try {
    c10::InferenceMode guard;
    const c10::Stream stream = thread_stream(m.device);
    const c10::StreamGuard on_stream(stream);  // every kernel and copy below goes to this thread's stream
    // Series with the same history length, pred_len and max_context share a window schedule and
    // are stacked into one computation (generate_cached), in groups of at most
    // generate_options::max_group_rows samples; the others form their own groups. Results depend
    // only on the series itself (its own draws), never on its neighbours (up to float rounding).
    std::vector<impl::series> prepared;
    prepared.reserve(batch.size());
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const std::vector<core::bar_stamp>* fut =
          b < options.future_stamps.size() && !options.future_stamps[b].empty() ? &options.future_stamps[b] : nullptr;
      prepared.push_back(m.prepare(batch[b], fut, true));
    }
    const auto stop_if_cancelled = [&](std::size_t b) {
      if (options.cancel && options.cancel->load())
        throw tb::exception(errc::unavailable, "generate: cancelled before series " + std::to_string(b) + " (" +
                                                   batch[b].symbol + ") of " + std::to_string(batch.size()));
    };
    std::vector<Tensor> result(batch.size());
    if (options.mode == generation_mode::plain) {
      for (std::size_t b = 0; b < batch.size(); ++b) {
        stop_if_cancelled(b);
        result[b] = m.generate_plain(prepared[b]);
      }
    } else {
      const std::int64_t cap = max_group_rows(options);
      std::vector<bool> done(batch.size(), false);
      for (std::size_t b = 0; b < batch.size(); ++b) {
        if (done[b]) continue;
        stop_if_cancelled(b);
        std::vector<std::size_t> members;
        std::int64_t rows = 0;
        for (std::size_t c = b; c < batch.size(); ++c) {
          if (done[c] || prepared[c].n != prepared[b].n || prepared[c].p.pred_len != prepared[b].p.pred_len ||
              prepared[c].p.max_context != prepared[b].p.max_context) {
            continue;
          }
          const std::int64_t r = prepared[c].p.sample_count;
          if (!members.empty() && cap > 0 && rows + r > cap) continue;
          members.push_back(c);
          rows += r;
          done[c] = true;
        }
        std::vector<const impl::series*> group;
        for (auto c : members) group.push_back(&prepared[c]);
        const auto in = m.group_inputs(group);
        std::optional<std::vector<Tensor>> rs;
        if (options.graphs) rs = m.replay_graph(in, stream);
        if (!rs) rs = m.generate_cached(in);
        for (std::size_t k = 0; k < members.size(); ++k) result[members[k]] = std::move((*rs)[k]);
      }
    }
    // Every series' rows [pred_len, 6] in one tensor, one copy to the host, one wait.
    const Tensor host = copy_to_host(at::cat(result, 0), stream, cost).contiguous();
    const float* r = host.data_ptr<float>();
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const auto& w = batch[b];
      const auto& s = prepared[b];
      core::forecast f;
      for (int i = 0; i < w.params.pred_len; ++i, r += core::n_features) {
        core::feature_row row{};
        for (int k = 0; k < core::n_features; ++k) {
          row[static_cast<std::size_t>(k)] = static_cast<double>(r[k] * (s.std_[k] + 1e-5f) + s.mean[k]);
        }
        f.rows.push_back(row);
      }
      out.push_back(std::move(f));
    }
  } catch (const tb::exception& e) {
    return e.to_error();
  } catch (const std::exception& e) {
    return torch_error("generate", e);
  }
  if (stats) {
    stats->host_syncs += cost.host_syncs;
    stats->d2h += cost.d2h;
  }
  return out;
}

bool cuda_graphs_built() {
#ifdef TRADEBOT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

#ifndef TRADEBOT_WITH_CUDA
void set_cuda_sync_check(bool) {}
#endif

tb::expected<std::size_t> kronos_model::capture_graphs(const core::forecast_window& shape,
                                                       const std::vector<std::int64_t>& series_per_graph) const {
  const impl& m = *impl_;
  if (!m.device.is_cuda() || !cuda_graphs_built() || series_per_graph.empty()) return std::size_t{0};
  const std::string why = core::window_problem(shape);
  if (!why.empty()) return tb::error{errc::invalid_argument, "capture_graphs: " + why};
  {
    std::lock_guard<std::mutex> lock(m.graphs_mu);
    m.graphs = nullptr;
  }
  auto gs = std::make_shared<impl::graph_set>();
  try {
    c10::InferenceMode guard;
    const c10::Stream stream = thread_stream(m.device);
    const c10::StreamGuard on_stream(stream);  // capture needs a stream other than the default one
    std::vector<std::int64_t> sizes = series_per_graph;
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    for (const std::int64_t count : sizes) {
      if (count < 1) continue;
      std::vector<impl::series> prepared;
      for (std::int64_t k = 0; k < count; ++k) {
        core::forecast_window w = shape;
        w.seed = static_cast<std::uint64_t>(k);
        prepared.push_back(m.prepare(w, nullptr, true));
      }
      std::vector<const impl::series*> group;
      for (const auto& s : prepared) group.push_back(&s);
      auto bucket = std::make_unique<impl::graph_bucket>();
      bucket->series = count;
      bucket->in = m.group_inputs(group);
      // Inputs of their own (the graph keeps reading these addresses).
      bucket->in.x = bucket->in.x.clone();
      bucket->in.stamps = bucket->in.stamps.clone();
      bucket->in.u = bucket->in.u.clone();
      (void)m.generate_cached(bucket->in);  // eager run first: workspaces and caches exist before capture
      impl::graph_bucket* b = bucket.get();
#ifdef TRADEBOT_WITH_CUDA
      b->graph = detail::capture_graph([&m, b] { b->out = at::stack(m.generate_cached(b->in), 0); });
#endif
      if (!b->graph) return std::size_t{0};
      if (gs->buckets.empty()) {
        gs->n = b->in.n;
        gs->P = b->in.P;
        gs->C = b->in.C;
        gs->S = shape.params.sample_count;
        gs->run = b->in.runs[0];
      }
      gs->buckets.push_back(std::move(bucket));
    }
    stream.synchronize();  // warm-up only: the captures are complete before anyone replays them
  } catch (const tb::exception& e) {
    return e.to_error();
  } catch (const std::exception& e) {
    return torch_error("capturing CUDA graphs", e);
  }
  const std::size_t captured = gs->buckets.size();
  std::lock_guard<std::mutex> lock(m.graphs_mu);
  m.graphs = captured ? gs : nullptr;
  return captured;
}

std::int64_t kronos_model::max_group_rows(const generate_options& options) const {
  return options.max_group_rows >= 0 ? options.max_group_rows : impl_->device.is_cuda() ? 3072 : 1;
}

tb::expected<token_ids> kronos_model::tokenize(const std::vector<core::bar>& bars, double clip) const {
  core::forecast_window w;
  w.bars = bars;
  w.params.clip = clip;
  w.params.pred_len = 1;
  w.params.max_context = std::max<int>(1, static_cast<int>(bars.size()));
  const std::string why = core::window_problem(w);
  if (!why.empty()) return tb::error{errc::invalid_argument, "tokenize: " + why};
  try {
    c10::InferenceMode guard;
    const auto s = impl_->prepare(w, nullptr, false);
    auto [s1, s2] = impl_->encode(s.x);
    s1 = s1.squeeze(0).to(at::kCPU).contiguous();
    s2 = s2.squeeze(0).to(at::kCPU).contiguous();
    token_ids t;
    t.s1.assign(s1.data_ptr<std::int64_t>(), s1.data_ptr<std::int64_t>() + s1.numel());
    t.s2.assign(s2.data_ptr<std::int64_t>(), s2.data_ptr<std::int64_t>() + s2.numel());
    return t;
  } catch (const std::exception& e) {
    return torch_error("tokenize", e);
  }
}

tb::expected<std::vector<core::feature_row>> kronos_model::detokenize(const token_ids& ids) const {
  if (ids.s1.size() != ids.s2.size() || ids.s1.empty()) {
    return tb::error{errc::invalid_argument, "detokenize: s1 and s2 must be non-empty and of equal length"};
  }
  const std::int64_t v1 = std::int64_t{1} << impl_->info.tokenizer.s1_bits;
  const std::int64_t v2 = std::int64_t{1} << impl_->info.tokenizer.s2_bits;
  for (std::size_t i = 0; i < ids.s1.size(); ++i) {
    if (ids.s1[i] < 0 || ids.s1[i] >= v1 || ids.s2[i] < 0 || ids.s2[i] >= v2) {
      return tb::error{errc::invalid_argument, "detokenize: token " + std::to_string(i) + " out of range"};
    }
  }
  try {
    c10::InferenceMode guard;
    const auto L = static_cast<std::int64_t>(ids.s1.size());
    Tensor s1 = at::from_blob(const_cast<std::int64_t*>(ids.s1.data()), {1, L}, at::kLong).clone().to(impl_->device);
    Tensor s2 = at::from_blob(const_cast<std::int64_t*>(ids.s2.data()), {1, L}, at::kLong).clone().to(impl_->device);
    Tensor z = impl_->decode(s1, s2).squeeze(0).to(at::kCPU, at::kDouble).contiguous();
    std::vector<core::feature_row> out(static_cast<std::size_t>(L));
    const double* p = z.data_ptr<double>();
    for (std::int64_t i = 0; i < L; ++i) {
      for (int k = 0; k < core::n_features; ++k)
        out[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)] = p[i * core::n_features + k];
    }
    return out;
  } catch (const std::exception& e) {
    return torch_error("detokenize", e);
  }
}

tb::expected<step_logits> kronos_model::next_logits(const std::vector<core::bar>& bars, double clip,
                                                    int max_context) const {
  core::forecast_window w;
  w.bars = bars;
  w.params.clip = clip;
  w.params.pred_len = 1;
  w.params.max_context = max_context;
  const std::string why = core::window_problem(w);
  if (!why.empty()) return tb::error{errc::invalid_argument, "next_logits: " + why};
  const impl& m = *impl_;
  try {
    c10::InferenceMode guard;
    const auto s = m.prepare(w, nullptr, false);
    auto [t1, t2] = m.encode(s.x);
    const std::int64_t W = std::min<std::int64_t>(s.n, max_context), ws = s.n - W;
    Tensor x = m.embed(t1.narrow(1, ws, W), t2.narrow(1, ws, W), s.stamps.narrow(0, ws, W).unsqueeze(0));
    kv_t none;
    Tensor h = rms_norm(run_stack(m.pred.tr, x, 0, nullptr, nullptr), m.pred.norm);  // [1, W, d]
    Tensor last = h.select(1, W - 1);
    Tensor l1 = m.pred.proj_s1(last);
    Tensor arg = l1.argmax(1);
    kv_t dep;
    m.append_dep(dep, h);
    Tensor l2 = m.s2_logits(arg, last, dep, none);
    l1 = l1.squeeze(0).to(at::kCPU, at::kFloat).contiguous();
    l2 = l2.squeeze(0).to(at::kCPU, at::kFloat).contiguous();
    step_logits out;
    out.s1.assign(l1.data_ptr<float>(), l1.data_ptr<float>() + l1.numel());
    out.s2.assign(l2.data_ptr<float>(), l2.data_ptr<float>() + l2.numel());
    out.s1_argmax = arg.to(at::kCPU).item<std::int64_t>();
    return out;
  } catch (const std::exception& e) {
    return torch_error("next_logits", e);
  }
}

}  // namespace tb::inference

namespace tb::inference {

namespace {
std::string check_sampling(const std::vector<std::vector<float>>& logits, double temperature, int top_k, double top_p) {
  if (logits.empty() || logits[0].empty()) return "no logits";
  if (!(temperature > 0)) return "temperature must be > 0";
  if (top_k < 0) return "top_k < 0";
  if (!(top_p > 0 && top_p <= 1)) return "top_p outside (0, 1]";
  return {};
}
}  // namespace

tb::expected<std::vector<std::vector<float>>> sampling_distribution(const std::vector<std::vector<float>>& logits,
                                                                    double temperature, int top_k, double top_p) {
  const std::string why = check_sampling(logits, temperature, top_k, top_p);
  if (!why.empty()) return tb::error{errc::invalid_argument, why};
  try {
    c10::InferenceMode guard;
    const sorted_dist d = sampling_dist(rows_tensor(logits), temperature, top_k, top_p);
    Tensor probs = at::zeros({d.probs.size(0), d.vocab}, d.probs.options()).scatter_(1, d.idx, d.probs).contiguous();
    std::vector<std::vector<float>> out;
    for (std::int64_t r = 0; r < probs.size(0); ++r) {
      const float* p = probs[r].data_ptr<float>();
      out.emplace_back(p, p + probs.size(1));
    }
    return out;
  } catch (const tb::exception& e) {
    return e.to_error();
  } catch (const std::exception& e) {
    return torch_error("sampling_distribution", e);
  }
}

tb::expected<std::vector<std::int64_t>> sample_from_logits(const std::vector<std::vector<float>>& logits,
                                                           double temperature, int top_k, double top_p,
                                                           const std::vector<float>& u) {
  const std::string why = check_sampling(logits, temperature, top_k, top_p);
  if (!why.empty()) return tb::error{errc::invalid_argument, why};
  if (u.size() != logits.size()) return tb::error{errc::invalid_argument, "one uniform per row needed"};
  try {
    c10::InferenceMode guard;
    Tensor ut = at::from_blob(const_cast<float*>(u.data()), {static_cast<std::int64_t>(u.size())}, at::kFloat).clone();
    Tensor t = sample_tokens(rows_tensor(logits), temperature, top_k, top_p, ut).contiguous();
    return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel());
  } catch (const tb::exception& e) {
    return e.to_error();
  } catch (const std::exception& e) {
    return torch_error("sample_from_logits", e);
  }
}

}  // namespace tb::inference
