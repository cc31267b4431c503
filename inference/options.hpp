#pragma once
// The [model], [inference] and [forecast] sections of the daemon's config: the options of the
// model service and of the CAF middleman, their rows and cross-key rules. Torch-free (its own
// library, tb_inference_options), so the config and the actors that read it build without LibTorch.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/forecast.hpp"
#include "inference/dynamic_batcher.hpp"
#include "inference/kronos_model.hpp"

namespace tb::inference {

// The CAF middleman: publishing this process's inference actor to others, using other hosts'
// (inference.remote), and the mutual TLS beyond loopback. Not used by the service: the inference
// actor, the remote pool and actors/middleman_transport read it.
struct middleman_options {
  bool publish = false;
  std::string publish_address = "127.0.0.1";
  std::int64_t publish_port = 4242;  // 0 picks a free one (in /stats)
  std::vector<std::string> remote;   // "host:port" of inference hosts; [] = the local model
  std::string model_identity;        // checkpoint hash (or prefix) the hosts must serve; "" = the first host's
  std::chrono::milliseconds remote_backoff_max{5000};  // longest wait between reconnects to a lost host
  // PEM files: this side's certificate and key, and the CA that signed every peer's. All three or
  // none; required beyond loopback.
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;
};

// The [model], [inference] and [forecast] sections of the daemon's config (config_rows()).
struct service_options {
  std::string model_dir;  // holds tokenizer/ and model/; "" = the daemon's demo checkpoint
  device_options device{"auto"};
  bool compile = false;                      // CUDA graphs, see inference/README.md
  std::string compile_mode = "default";      // which buckets (graph_buckets)
  std::string compile_backend = "inductor";  // graphs or eager (backend_captures_graphs)
  batcher_options batching;
  middleman_options middleman;
  // The forecasts the daemon asks for ([forecast]). Warm-up: whole windows of `sampling`,
  // `lookback` bars each, as many as one stacked group of a max_batch_rows batch holds (at least one).
  core::sampling_params sampling{7, 232, 0.152, 20, 0.83, 192, 1.85};
  int lookback = 232;
};

// The [model], [inference] and [forecast] keys, one row per member above.
const core::rows<service_options>& config_rows();

// The cross-key rules of those keys (pred_len <= max_context; the middleman's TLS files all or
// none, readable, and required beyond loopback): one line per problem.
void check(const service_options& o, std::vector<std::string>& errors);

}  // namespace tb::inference
