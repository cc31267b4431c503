#pragma once
// Random-weight Kronos checkpoints at the released sizes (`tradebot model init`), for tests,
// benchmarks and the demo. Torch-free: weights are drawn with std::mt19937_64 and written with our
// safetensors writer in the published layout (names as KRONOS.md lists them), configs marked
// untrained under the "tradebot" key.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "inference/kronos_config.hpp"

namespace tb::inference {

struct kronos_preset {
  std::string name;  // tiny | mini | small | base
  tokenizer_config tokenizer;
  predictor_config predictor;
  int max_context = 512;  // the released context length
};

const std::vector<std::string>& preset_names();
tb::expected<kronos_preset> preset_by_name(const std::string& name);

// Writes OUT/tokenizer/{config.json,model.safetensors} and OUT/model/{...}, creating folders.
// Same preset and seed: byte-identical files. Errors: errc::io.
tb::expected<bool> write_random_checkpoint(const kronos_preset& preset, std::uint64_t seed, const std::string& out_dir);

}  // namespace tb::inference
