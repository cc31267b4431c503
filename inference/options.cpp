#include "inference/options.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

#include "core/endpoint.hpp"

namespace tb::inference {

const core::rows<service_options>& config_rows() {
  using o = service_options;
  using core::key;
  using core::member;
  using core::restart_only;
  using sp = core::sampling_params;
  using mm = middleman_options;
  using lim = core::window_limits;
  static const core::rows<service_options> rows = {
      key("model.dir", &o::model_dir,
          "checkpoint folder holding tokenizer/ and model/; empty = the demo checkpoint under state_dir"),
      key("model.dtype", member(&o::device, &device_options::dtype), "weights and activations on the device",
          "KRONOS_DTYPE", 0, 0, {"float32", "bfloat16", "float16"}),
      key("model.compile", &o::compile, "fastest steady-state path for the device (inference/README.md)",
          "KRONOS_COMPILE"),
      key("model.compile_mode", &o::compile_mode, "compile flavour", "KRONOS_COMPILE_MODE", 0, 0,
          {"default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"}),
      key("model.compile_backend", &o::compile_backend,
          "torch.compile's backend, as the original bot took it: inductor and cudagraphs capture CUDA graphs, eager "
          "and aot_eager run eagerly (inference/README.md)",
          "KRONOS_COMPILE_BACKEND", 0, 0, {"inductor", "cudagraphs", "aot_eager", "eager"}),
      key("model.threads", member(&o::device, &device_options::cpu_threads),
          "LibTorch intra-op threads; 0 = number of cores", nullptr, 0, 256),
      restart_only(key("model.device", member(&o::device, &device_options::device), "where the model runs", nullptr, 0,
                       0, {"auto", "cpu", "cuda"})),
      restart_only(key("inference.max_batch_rows", member(&o::batching, &batcher_options::max_batch_rows),
                       "rows (windows x samples) per batch; a larger window runs alone", nullptr, 1, 1 << 22)),
      restart_only(key("inference.max_queue_delay_us", member(&o::batching, &batcher_options::max_queue_delay),
                       "how long a window waits for company before its batch starts", nullptr, 0, 10000000)),
      restart_only(key("inference.max_queue_rows", member(&o::batching, &batcher_options::max_queue_rows),
                       "queued rows beyond which requests are refused as overloaded", nullptr, 1, 1 << 30)),
      restart_only(key("inference.backfill_max_wait_ms", member(&o::batching, &batcher_options::backfill_max_wait),
                       "walk-forward windows older than this go before live ones (no starvation)", nullptr, 0,
                       3600000)),
      restart_only(key("inference.executors", member(&o::batching, &batcher_options::executors),
                       "batches computed at once (CUDA streams on a GPU)", nullptr, 1, 16)),
      restart_only(key("inference.publish", member(&o::middleman, &mm::publish),
                       "publish the inference actor for other tradebotd processes (CAF middleman)")),
      restart_only(
          key("inference.publish_address", member(&o::middleman, &mm::publish_address), "middleman listen address")),
      restart_only(key("inference.publish_port", member(&o::middleman, &mm::publish_port),
                       "middleman port; 0 picks a free one (in /stats)", nullptr, 0, 65535)),
      restart_only(core::endpoint_list(key("inference.remote", member(&o::middleman, &mm::remote),
                                           "\"host:port\" of published inference hosts; non-empty: load no model, "
                                           "forecast there; [] = the local model. Beyond loopback TLS is required",
                                           nullptr, 0, 64))),
      restart_only(key("inference.model_identity", member(&o::middleman, &mm::model_identity),
                       "checkpoint hash (or a prefix of it) every remote host must serve; \"\" = the first host to "
                       "answer decides")),
      restart_only(key("inference.remote_backoff_max_ms", member(&o::middleman, &mm::remote_backoff_max),
                       "longest wait between reconnects to a lost inference host (starts at 100 ms, doubles)", nullptr,
                       100, 3600000)),
      restart_only(key("inference.tls_certificate", member(&o::middleman, &mm::tls_certificate),
                       "PEM certificate this process shows its middleman peers (CAF's OpenSSL module); with tls_key "
                       "and tls_ca, or none of them. Required when publish_address or a remote host is not loopback")),
      restart_only(key("inference.tls_key", member(&o::middleman, &mm::tls_key), "PEM private key of tls_certificate")),
      restart_only(key("inference.tls_ca", member(&o::middleman, &mm::tls_ca),
                       "PEM CA certificate(s) every peer's certificate must chain to (both directions are verified)")),
      key("forecast.pred_len", member(&o::sampling, &sp::pred_len), "bars forecast per window", nullptr, 1,
          lim::max_pred_len),
      key("forecast.lookback", &o::lookback, "bars of history per window", nullptr, 1, lim::max_bars),
      key("forecast.max_context", member(&o::sampling, &sp::max_context), "tokens the predictor sees at once", nullptr,
          1, lim::max_context),
      key("forecast.temperature", member(&o::sampling, &sp::temperature), "sampling temperature", nullptr, 1e-6,
          lim::max_temperature),
      key("forecast.top_k", member(&o::sampling, &sp::top_k),
          "keep the k most likely tokens; 0 = off (then top_p applies)", nullptr, 0, lim::max_top_k),
      key("forecast.top_p", member(&o::sampling, &sp::top_p), "nucleus mass; 1 = off; ignored when top_k > 0", nullptr,
          1e-6, 1),
      key("forecast.sample_count", member(&o::sampling, &sp::sample_count), "samples averaged per forecast", nullptr, 1,
          lim::max_sample_count),
      key("forecast.clip", member(&o::sampling, &sp::clip), "normalised inputs clipped to [-clip, clip]", nullptr, 1e-6,
          lim::max_clip),
  };
  return rows;
}

void check(const service_options& o, std::vector<std::string>& errors) {
  if (o.sampling.pred_len > o.sampling.max_context)
    errors.push_back("forecast.pred_len (" + std::to_string(o.sampling.pred_len) +
                     ") must be <= forecast.max_context (" + std::to_string(o.sampling.max_context) + ")");
  // The middleman beyond loopback needs mutual TLS: a non-loopback publish_address (when
  // publishing) or remote host is refused without the three tls_* files, which must be readable.
  // (Their content is checked where the daemon starts: actors/middleman_transport.)
  const auto& m = o.middleman;
  const std::pair<const char*, const std::string*> files[] = {{"inference.tls_certificate", &m.tls_certificate},
                                                              {"inference.tls_key", &m.tls_key},
                                                              {"inference.tls_ca", &m.tls_ca}};
  const auto set = std::count_if(std::begin(files), std::end(files), [](const auto& f) { return !f.second->empty(); });
  if (set != 0 && set != 3) {
    errors.push_back(
        "inference.tls_certificate, inference.tls_key and inference.tls_ca go together: set all three "
        "(TLS) or none (plain, loopback only)");
    return;
  }
  for (const auto& [key, path] : files)
    if (!path->empty() && !std::ifstream(*path))
      errors.push_back(std::string(key) + " " + excerpt(*path) + " cannot be read");
  if (set == 3) return;
  std::vector<std::string> beyond;
  if (m.publish && !core::is_loopback_host(m.publish_address))
    beyond.push_back("inference.publish_address " + excerpt(m.publish_address));
  for (const auto& r : m.remote)
    if (auto e = core::parse_endpoint(r); e && !core::is_loopback_host(e->host))
      beyond.push_back("inference.remote " + r);
  if (!beyond.empty()) {
    std::string which;
    for (const auto& b : beyond) which += (which.empty() ? "" : ", ") + b;
    errors.push_back(
        which + (beyond.size() > 1 ? " are" : " is") +
        " not loopback: the middleman beyond this machine needs mutual TLS; set inference.tls_certificate, "
        "inference.tls_key and inference.tls_ca (README.md, \"Two machines\")");
  }
}

}  // namespace tb::inference
