#!/usr/bin/env python3
"""Makes tests/data/kronos-parity: a random-weight Kronos tokenizer + predictor pair and the
outputs of the public Kronos reference implementation on windows of the 5-minute file.

tests/inference/kronos_parity_test.cpp checks our LibTorch implementation against cases.json.
The project itself needs no Python; this script is for whoever changes the fixture. It needs a
checkout of the reference (https://github.com/shiyu-coder/Kronos, MIT) and that checkout's Python
requirements (torch, numpy, pandas, einops, huggingface_hub, safetensors):

    scripts/make-parity-fixture.py --kronos ~/src/Kronos            # cases.json from the checkpoint
    scripts/make-parity-fixture.py --kronos ~/src/Kronos --new-weights  # new random weights first

Without --new-weights the checkpoint in --out is kept and only cases.json is written, so a change
to the cases does not change the weights the C++ tests load. Decoding is greedy (top_k = 1), so the
outputs are deterministic; float32 on the CPU.

--new-weights does not keep the reference constructors' initialisation (zero biases, unit norm
gains, which a loader could drop or mis-map unnoticed); see draw_weights.
"""
import argparse
import json
import math
import pathlib
import sys

SEED = 20261128
CSV_NAME = "XSHG_600977_5min.csv"
COLUMNS = ["open", "high", "low", "close", "volume", "amount"]
STAMP_COLUMNS = ["minute", "hour", "weekday", "day", "month"]

# Small enough to keep the fixture at ~1.7 MB, deep enough to exercise every layer kind.
TOKENIZER_CONFIG = {
    "d_in": 6, "d_model": 32, "n_heads": 2, "ff_dim": 64, "n_enc_layers": 3, "n_dec_layers": 3,
    "ffn_dropout_p": 0.0, "attn_dropout_p": 0.0, "resid_dropout_p": 0.0,
    "s1_bits": 10, "s2_bits": 10, "beta": 0.05, "gamma0": 1.0, "gamma": 1.1, "zeta": 0.05, "group_size": 2,
}
MODEL_CONFIG = {
    "s1_bits": 10, "s2_bits": 10, "n_layers": 2, "d_model": 64, "n_heads": 4, "ff_dim": 128,
    "ffn_dropout_p": 0.0, "attn_dropout_p": 0.0, "resid_dropout_p": 0.0, "token_dropout_p": 0.0,
    "learn_te": True,
}

# (name, [[first_row, end_row) of history per series], clip, sample_count). Rows count data rows
# from 0, header excluded; each series is forecast PRED_LEN bars, stamped like the rows after it.
PRED_LEN = 8
MAX_CONTEXT = 64
GREEDY_CASES = [
    ("greedy_fits_context", [(200, 240)], 5.0, 1),          # history + forecast fit max_context
    ("greedy_slides_window", [(300, 364)], 5.0, 1),         # the window slides while generating
    ("greedy_longer_history", [(400, 500)], 5.0, 1),        # history longer than max_context
    ("greedy_batch_of_three", [(500, 540), (900, 940), (1300, 1340)], 5.0, 1),
    ("greedy_samples_averaged", [(1700, 1740)], 1.85, 3),   # the bot's clip; samples averaged
]
TOKEN_ROWS = (100, 148)
TOKEN_CLIP = 5.0


def parse_args():
    here = pathlib.Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kronos", required=True, type=pathlib.Path, help="checkout of the reference implementation")
    p.add_argument("--csv", type=pathlib.Path, default=here / "tests/data/intraday" / CSV_NAME)
    p.add_argument("--out", type=pathlib.Path, default=here / "tests/data/kronos-parity")
    p.add_argument("--new-weights", action="store_true", help=f"write new random weights (seed {SEED}) first")
    return p.parse_args()


def draw_weights(modules):
    """Redraws every parameter of modules (in that order, each in named_parameters order) from one
    normal stream seeded with SEED, so none keeps its constructor value: RMSNorm gains 1 + 0.1 z,
    biases 0.1 z, embedding tables 1.6 z, other linear weights z * 1.6 / sqrt(fan_in), and then the
    two linears beside the quantiser (quant_embed, post_quant_embed) multiplied by sqrt(fan_in)
    again. The float32 operations are spelled as they were when the committed checkpoint was made,
    so the weights come out bit for bit the same."""
    import torch
    from model.module import RMSNorm
    torch.manual_seed(SEED)
    for module in modules:
        for owner_name, owner in module.named_modules():
            for name, p in owner.named_parameters(recurse=False):
                z = torch.randn(p.shape)
                if isinstance(owner, RMSNorm):
                    w = 1 + 0.1 * z
                elif name == "bias":
                    w = 0.1 * z
                elif isinstance(owner, torch.nn.Embedding):
                    w = 1.6 * z
                else:
                    fan_in = p.shape[1]
                    w = z * 1.6 / math.sqrt(fan_in)
                    if owner_name in ("quant_embed", "post_quant_embed"):
                        w = w * math.sqrt(fan_in)
                p.copy_(w)


def write_checkpoint(folder, module, config):
    from safetensors.torch import save_file
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})


def read_checkpoint(folder, cls):
    from safetensors.torch import load_file
    config = json.loads((folder / "config.json").read_text())
    module = cls(**config)
    module.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    return module.eval()


def main():
    args = parse_args()
    sys.path.insert(0, str(args.kronos.resolve()))
    import numpy as np
    import pandas as pd
    import torch
    from model.kronos import Kronos, KronosPredictor, KronosTokenizer, calc_time_stamps

    torch.set_grad_enabled(False)
    if args.new_weights:
        new_tokenizer, new_model = KronosTokenizer(**TOKENIZER_CONFIG), Kronos(**MODEL_CONFIG)
        draw_weights([new_tokenizer, new_model])
        write_checkpoint(args.out / "tokenizer", new_tokenizer, TOKENIZER_CONFIG)
        write_checkpoint(args.out / "model", new_model, MODEL_CONFIG)
    tokenizer = read_checkpoint(args.out / "tokenizer", KronosTokenizer)
    model = read_checkpoint(args.out / "model", Kronos)

    df = pd.read_csv(args.csv, parse_dates=["timestamps"])

    def normalised(a, b, clip):
        # As KronosPredictor.predict does: per series over all rows given, std with ddof 0.
        x = df[COLUMNS].iloc[a:b].values.astype(np.float32)
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-5)
        return torch.from_numpy(np.clip(x, -clip, clip)[np.newaxis])

    def stamps(a, b):
        s = calc_time_stamps(df["timestamps"].iloc[a:b].reset_index(drop=True))
        return torch.from_numpy(s[STAMP_COLUMNS].values.astype(np.float32)[np.newaxis])

    def floats(t):
        return [float(v) for v in t.reshape(-1).tolist()]

    cases = []
    a, b = TOKEN_ROWS
    x = normalised(a, b, TOKEN_CLIP)
    s1, s2 = tokenizer.encode(x, half=True)
    decoded = tokenizer.decode([s1, s2], half=True)[0]
    cases.append({"name": "tokenizer_roundtrip", "rows": [a, b], "s1": s1[0].tolist(), "s2": s2[0].tolist(),
                  "decoded": [floats(row) for row in decoded]})

    # decode_s1 returns (logits, context) upstream; forks with a KV cache add the cache.
    s1_logits, context = model.decode_s1(s1, s2, stamps(a, b))[:2]
    s1_last = s1_logits[:, -1, :]
    argmax = s1_last.argmax(dim=-1, keepdim=True)
    s2_last = model.decode_s2(context, argmax)[:, -1, :]
    cases.append({"name": "predictor_step", "rows": [a, b], "s1_logits_last": floats(s1_last),
                  "s1_argmax": int(argmax.item()), "s2_logits_last": floats(s2_last)})

    for name, series, clip, sample_count in GREEDY_CASES:
        predictor = KronosPredictor(model, tokenizer, device="cpu", max_context=MAX_CONTEXT, clip=clip)
        future = [(end, end + PRED_LEN) for _, end in series]
        frames = [df.iloc[s:e].reset_index(drop=True) for s, e in series]
        x_times = [f["timestamps"] for f in frames]
        y_times = [df["timestamps"].iloc[s:e].reset_index(drop=True) for s, e in future]
        preds = predictor.predict_batch([f[COLUMNS] for f in frames], x_times, y_times, pred_len=PRED_LEN,
                                        T=1.0, top_k=1, top_p=1.0, sample_count=sample_count, verbose=False)
        cases.append({"name": name, "series": [list(s) for s in series], "pred_len": PRED_LEN,
                      "max_context": MAX_CONTEXT, "clip": clip, "T": 1.0, "top_k": 1, "top_p": 1.0,
                      "sample_count": sample_count, "future_rows": [list(f) for f in future],
                      "forecast": [[floats(torch.tensor(r)) for r in p[COLUMNS].values.astype(np.float32)]
                                   for p in preds]})

    doc = {
        "source": f"Kronos reference implementation (MIT), random weights, seed {SEED}",
        "csv": args.csv.name,
        "columns": COLUMNS,
        "stamp_columns": STAMP_COLUMNS,
        "normalisation": "per series over all rows given: (x-mean)/(std_ddof0+1e-5), clipped to +-clip",
        "cases": cases,
    }
    (args.out / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out / 'cases.json'}: {len(cases)} cases")


if __name__ == "__main__":
    main()
