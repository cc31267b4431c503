// `tradebot model init` and `tradebot model info`: random-weight checkpoints at the released sizes
// and a summary of a checkpoint pair. Runs on the caller's thread; LibTorch only through
// inference/ (this file includes no torch header).
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/tool_commands.hpp"
#include "inference/kronos_init.hpp"
#include "inference/kronos_model.hpp"
#include "inference/model_service.hpp"

namespace tb::daemon {

namespace {

[[noreturn]] void fail(const tb::error& e, int code) {
  std::cerr << "tradebot model: " << e.message << "\n";
  throw CLI::RuntimeError(code);
}

struct init_options {
  std::string preset;
  std::uint64_t seed = 0;
  std::string out;
};

void run_init(const init_options& o) {
  auto p = inference::preset_by_name(o.preset);
  if (!p) fail(p.error(), exit_bad_input);
  auto w = inference::write_random_checkpoint(*p, o.seed, o.out);
  if (!w) fail(w.error(), exit_failed);
  auto m = inference::load_checkpoint(o.out, {});
  if (!m) fail(m.error(), exit_failed);
  std::cout << "wrote " << o.out << "/tokenizer and " << o.out << "/model: preset " << o.preset << ", seed " << o.seed
            << ", untrained, " << m->info().tokenizer_params + m->info().predictor_params << " parameters, hash "
            << m->identity().checkpoint_hash << "\n";
}

std::string millions(std::int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
  return buf;
}

void run_info(const std::string& dir) {
  auto m = inference::load_checkpoint(dir, {});
  if (!m) fail(m.error(), exit_bad_input);
  const auto& i = m->info();
  const auto& t = i.tokenizer;
  const auto& p = i.predictor;
  std::cout << "checkpoint   " << dir << "\n"
            << "hash         " << m->identity().checkpoint_hash
            << " (sha256 of both config.json and safetensors files)\n"
            << "dtype        " << i.stored_dtype << " as stored\n"
            << "tokenizer    d_model " << t.d_model << ", heads " << t.n_heads << ", ff " << t.ff_dim
            << ", enc/dec layers " << t.n_enc_layers << "/" << t.n_dec_layers << ", bits " << t.s1_bits << "+"
            << t.s2_bits << ", " << millions(i.tokenizer_params) << " parameters\n"
            << "predictor    d_model " << p.d_model << ", layers " << p.n_layers << ", heads " << p.n_heads << ", ff "
            << p.ff_dim << ", learn_te " << (p.learn_te ? "true" : "false") << ", " << millions(i.predictor_params)
            << " parameters\n"
            << "total        " << millions(i.tokenizer_params + i.predictor_params) << " parameters\n";
  const auto& note = i.predictor_note;
  if (!note.preset.empty() || note.untrained) {
    std::cout << "origin       " << (note.untrained ? "untrained random weights" : "trained") << ", preset "
              << note.preset << ", seed " << note.seed;
    if (note.max_context > 0) std::cout << ", released context " << note.max_context;
    std::cout << "\n";
  }
}

}  // namespace

void add_model_commands(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "Kronos checkpoints: make random ones, describe one");
  model->require_subcommand(1);

  auto init = std::make_shared<init_options>();
  CLI::App* cmd_init = model->add_subcommand(
      "init", "Write a random-weight tokenizer/ + model/ pair at a released size, marked untrained");
  cmd_init->add_option("--preset", init->preset, "tiny (tests, demo), mini, small or base")
      ->required()
      ->check(CLI::IsMember(inference::preset_names()));
  cmd_init->add_option("--seed", init->seed, "random seed (same seed, same files)");
  cmd_init->add_option("--out", init->out, "output folder (tokenizer/ and model/ are created in it)")->required();
  cmd_init->callback([init] { run_init(*init); });

  auto dir = std::make_shared<std::string>();
  CLI::App* cmd_info =
      model->add_subcommand("info", "Sizes, parameter count, dtype and content hash of DIR/{tokenizer,model}");
  cmd_info->add_option("dir", *dir, "checkpoint folder holding tokenizer/ and model/")->required();
  cmd_info->callback([dir] { run_info(*dir); });
}

}  // namespace tb::daemon
