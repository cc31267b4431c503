#pragma once
// The Kronos tokenizer + predictor pair in LibTorch, behind a torch-free interface (pimpl): other
// folders include this header without paying for torch headers.
//
// Contract
// - load() reads a hub-style checkpoint pair (DIR/config.json + DIR/model.safetensors for the
//   tokenizer and for the predictor) exactly as published: strict on learnable parameters (names
//   and shapes from config.json), tolerant of the persistent buffers (`*.rotary.inv_freq`,
//   `tokenizer.bsq.*`, any I64 tensor), which are recomputed or ignored. F32, F16 and BF16 weights.
// - generate() forecasts a batch of series, each with its own length and sampling parameters, and
//   returns per series pred_len rows of (open, high, low, close, volume, amount), de-normalised.
//   It computes what ../shared/docs/KRONOS.md specifies (the reference's auto_regressive_inference);
//   the default mode (cached) gives the reference's results with far less work (see README.md).
// - Determinism: a series' sampling draws come from its own generator seeded with its seed, drawn
//   in a fixed order, so the same window and seed give the same forecast whatever else is in the
//   batch and whichever mode runs (up to float rounding).
//
// Thread: a kronos_model is immutable after load(); copies share the weights; every const member
// may be called from several threads at once (intra-op threads are process-wide, see
// device_options). Each call blocks its thread for the whole computation: callers on an actor
// system run it on a detached actor or their own executor.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bar.hpp"
#include "core/error.hpp"
#include "core/forecast.hpp"
#include "inference/kronos_config.hpp"

namespace tb::inference {

struct device_options {
  // "cpu", "cuda", "cuda:N", or "auto" (the first CUDA device when torch sees one, else cpu).
  std::string device = "cpu";
  // Weights and activations on CUDA: "float32", "bfloat16" or "float16" (KRONOS_DTYPE). On the
  // CPU the model always computes in float32 and this is ignored.
  std::string dtype = "float32";
  // LibTorch intra-op threads (at::set_num_threads, process-wide) set at load; 0 = number of cores.
  int cpu_threads = 0;
};

enum class generation_mode {
  cached,  // ours: history encoded once per series, shared window prefix once per step, KV cache,
           // samples batched, projections only where read. Exact (same maths as the reference).
  plain,   // a plain port of the reference: whole window recomputed per step and per sample.
           // For benchmarks and cross-checks; same results, tens of times slower.
};

struct generate_options {
  generation_mode mode = generation_mode::cached;
  // Per series (batch order): the calendar stamps of the pred_len bars to come. The model reads
  // the stamps of the bars it has generated once they are in its window. Missing or empty entries
  // are extrapolated from the history with future_stamps() (bar_calendar.hpp).
  std::vector<std::vector<core::bar_stamp>> future_stamps;
  // Cached mode stacks the series of a call that share history length, pred_len and max_context
  // into one computation (rows = series x samples). A group holds at most this many rows (samples
  // summed over its series; a single larger series runs alone), which also bounds the memory of
  // the stacked KV caches and activations. -1 (default): 1 on the CPU (every series alone:
  // stacking measured no faster there, see inference/README.md, and a series alone gives the
  // bitwise same forecast whatever else is in the batch, which keeps replays and backtests
  // identical with the cache on or off), 3072 on CUDA. 0: no limit. 1: every series alone.
  std::int64_t max_group_rows = -1;
  // Replay a captured CUDA graph (capture_graphs) for a group whose shape one was captured at.
  // false: always run eagerly (benchmarks compare both on one model).
  bool graphs = true;
  // When set (by another thread), generate() stops before its next stacked group (on the CPU:
  // before its next series) and returns errc::unavailable; nothing computed so far is returned.
  // Owned by the caller; must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

// What one generate() call cost its thread, measured where it happens.
struct generate_stats {
  // Times the calling thread waited for the device: the one wait per call for the event that
  // marks the batch's forecasts copied to the host (counted on the CPU device too, where the
  // wait returns at once: the same code), plus any read of a device tensor. On the CPU device
  // reading a CPU tensor is not a synchronisation and is not counted.
  std::uint64_t host_syncs = 0;
  // Copying the forecasts to the host: on CUDA from the moment the device finished computing
  // (an event) to the moment the copy's event completed, as seen by the waiting thread; on the
  // CPU the copy itself.
  std::chrono::nanoseconds d2h{0};
};

// Token ids of a sequence (one pair per bar).
struct token_ids {
  std::vector<std::int64_t> s1, s2;
};

// The predictor's output at the last position of a window (for parity checks and diagnostics).
struct step_logits {
  std::vector<float> s1;       // 2^s1_bits logits
  std::int64_t s1_argmax = 0;  // the greedy s1 token
  std::vector<float> s2;       // 2^s2_bits logits given s1 = s1_argmax
};

struct model_info {
  tokenizer_config tokenizer;
  predictor_config predictor;
  checkpoint_note tokenizer_note, predictor_note;
  std::int64_t tokenizer_params = 0;  // learnable parameters as stored (post_quant_embed_pre too)
  std::int64_t predictor_params = 0;
  std::string stored_dtype;  // dtype of the learnable tensors in the files (F32, F16, BF16, mixed)
  std::string device;        // where the weights live ("cpu", "cuda:0")
};

class kronos_model {
 public:
  // Errors: errc::io (a file cannot be read), errc::bad_checkpoint (malformed, missing or
  // unexpected tensor, wrong shape: the message names the file and tensor), errc::unavailable
  // (CUDA asked for and not present), errc::invalid_argument (unknown dtype or device string).
  static tb::expected<kronos_model> load(const std::string& tokenizer_dir, const std::string& predictor_dir,
                                         const device_options& options = {});

  const model_info& info() const;
  // Content hash (SHA-256 of both config.json files and both safetensors files), effective dtype,
  // compile = false: the part of every forecast-cache key that names the model.
  const core::model_identity& identity() const;

  // Forecasts every window of `batch`. Errors: errc::invalid_argument naming the series (index
  // and symbol) when its bars or parameters are out of contract (empty, NaN, pred_len outside
  // 1..max_context, T <= 0, top_p outside (0, 1], sample_count < 1, clip <= 0); errc::out_of_memory;
  // errc::internal for an unexpected LibTorch failure (its message included).
  // Device work runs on the calling thread's own stream (on CUDA one from LibTorch's pool, taken
  // at the thread's first call; on the CPU the default CPU stream, where work is synchronous);
  // the forecasts of the whole call come back through ONE non-blocking copy into one host buffer
  // (pinned on CUDA) and an event, which the thread waits for only to deliver. `stats`, when
  // given, receives what the call cost (added to what it holds).
  tb::expected<std::vector<core::forecast>> generate(const std::vector<core::forecast_window>& batch,
                                                     const generate_options& options = {},
                                                     generate_stats* stats = nullptr) const;
  // The most rows (samples summed over series) generate() stacks into one computation with
  // `options` on this model's device: generate_options::max_group_rows resolved (0: no limit).
  std::int64_t max_group_rows(const generate_options& options = {}) const;

  // "compile" on CUDA: captures the whole cached generation of a group of `count` windows shaped
  // like `shape` (its bars' count, pred_len, max_context, sample_count and sampling parameters)
  // into a CUDA graph, for each count of `series_per_graph` (the buckets). Afterwards generate()
  // runs a group of that shape (same history length, pred_len, max_context, sample_count and
  // sampling parameters in every series, at most the largest count of series) as a replay of the
  // smallest bucket that holds it, padded: one launch instead of thousands of kernels. A replayed
  // forecast may differ from the eager one in the last bits (hence model_identity::compile).
  // Returns how many graphs were captured: 0 on the CPU or in a build without CUDA graphs
  // (cuda_graphs_built()). Call it before serving (LibTorch 2.x captures in the global mode,
  // where other threads' CUDA calls during the capture fail it). A second call replaces the
  // graphs. Errors: errc::invalid_argument (a bad shape), errc::out_of_memory, errc::internal
  // (CUDA's message); the model then replays no graph.
  tb::expected<std::size_t> capture_graphs(const core::forecast_window& shape,
                                           const std::vector<std::int64_t>& series_per_graph) const;

  // Diagnostics (parity tests): the tokenizer on bars normalised over all of them and clipped.
  tb::expected<token_ids> tokenize(const std::vector<core::bar>& bars, double clip) const;
  // Decoded rows in normalised space, one per token.
  tb::expected<std::vector<core::feature_row>> detokenize(const token_ids& ids) const;
  // Predictor logits at the last position of the window of the last min(size, max_context) bars.
  tb::expected<step_logits> next_logits(const std::vector<core::bar>& bars, double clip, int max_context) const;

  struct impl;

 private:
  explicit kronos_model(std::shared_ptr<const impl> p);
  std::shared_ptr<const impl> impl_;
};

// The sampling rule of generate(), exposed for tests and diagnostics. Per row of logits: logits / T;
// top_k > 0 keeps the tokens whose logit is >= the k-th largest and IGNORES top_p; else top_p < 1
// keeps the most likely tokens until their mass reaches top_p (the most likely token is always
// kept); softmax over what is kept. Returns the probabilities (0 for removed tokens).
tb::expected<std::vector<std::vector<float>>> sampling_distribution(const std::vector<std::vector<float>>& logits,
                                                                    double temperature, int top_k, double top_p);
// One draw per row from sampling_distribution, by inverse CDF over the tokens in descending-logit
// order with u[row] uniform in [0, 1) (generate() draws u from the series' own generator).
tb::expected<std::vector<std::int64_t>> sample_from_logits(const std::vector<std::vector<float>>& logits,
                                                           double temperature, int top_k, double top_p,
                                                           const std::vector<float>& u);

}  // namespace tb::inference
