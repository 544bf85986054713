#!/usr/bin/env python3
"""Why no engine but llama.cpp itself meets a 0.25 first-step gap bound against llama.cpp on a quantized Gemma 3.

On a Q8_0 file llama.cpp multiplies 8-bit activations (q8_0: per 32 values, d = max|x|/127, round half to even,
d kept as fp16). This script runs the same arithmetic in transformers (fp32, the file's weights dequantized by its
GGUF loader, every nn.Linear's input quantized q8_0-style first) and compares first-step logits on
real_model_prompts.json, as real_model_check.py does (the largest error of the gaps to the best token, over
llama.cpp's 10 best tokens):
  exact        transformers at fp32;
  q8 / q8f16   transformers with q8_0 activations (scale fp32 / rounded to fp16 as llama.cpp stores it);
  q8-jitter    q8f16 with the embeddings multiplied by (1 + 1e-6·N(0,1)), an fp32-rounding-sized change;
  engine       `psr generate --compute fp32` and `--compute int8` (its 10 best tokens).
Where two implementations of the same 8-bit arithmetic, and the same one under a 1e-6 jitter, are as far apart as
8-bit is from exact, the rounding of 8-bit activations is chaotic on this model and the bound can only be met
bit for bit. One JSON line per prompt, then a summary of each pair's worst and median error.

    python experiments/families/q8_emulation_check.py MODEL-Q8_0.gguf [--psr .build/release/psr]

Needs torch, transformers, gguf, numpy and llama-cpp-python (a venv outside the repo).
"""
import argparse, json, os, subprocess
import numpy as np
import torch
import llama_cpp
from transformers import AutoModelForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
PROMPTS = json.load(open(os.path.join(here, "real_model_prompts.json")))

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--psr", default=".build/release/psr")
args = ap.parse_args()
directory, name = os.path.split(os.path.abspath(args.model))
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
llm = llama_cpp.Llama(model_path=args.model, n_ctx=256, logits_all=True, verbose=False, n_threads=2, seed=0)

state = {"quantize": False, "fp16_scale": False, "jitter": False}
linear_forward = torch.nn.Linear.forward


def q8_0(x):
    """llama.cpp's quantize_row_q8_0 and its dequantized product: per 32 values along the row."""
    blocks = x.reshape(-1, 32)
    amax = blocks.abs().amax(dim=1, keepdim=True)
    inverse = torch.where(amax > 0, 127 / amax, torch.zeros_like(amax))
    q = torch.round(blocks * inverse)  # half to even, as _mm256_round_ps(_MM_ROUND_NEAREST)
    d = amax / 127
    if state["fp16_scale"]:
        d = d.half().float()
    return (q * d).reshape(x.shape)


def quantizing_forward(self, x):
    if state["quantize"] and x.shape[-1] % 32 == 0:
        x = q8_0(x)
    return linear_forward(self, x)


torch.nn.Linear.forward = quantizing_forward
generator = torch.Generator().manual_seed(0)
model.get_input_embeddings().register_forward_hook(
    lambda module, inputs, output: output * (1 + 1e-6 * torch.randn(output.shape, generator=generator))
    if state["jitter"] else output)


def transformers_first(ids, quantize, fp16_scale, jitter):
    state.update(quantize=quantize, fp16_scale=fp16_scale, jitter=jitter)
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].double().numpy()


def engine_top(prompt, compute):
    run = json.loads(subprocess.run(
        [args.psr, "generate", "--model", args.model, "--compute", compute, "--raw", "--prompt", prompt,
         "--max-tokens", "1", "--temperature", "0", "--json", "--logprobs", "10"],
        check=True, capture_output=True, text=True).stdout)
    return {t: lp for t, lp in run["top"][0]}


def gap_error(a, b, tokens):
    """Largest difference of the gaps to each side's best, over `tokens`; a and b map token → logit."""
    best_a, best_b = max(a.values()), max(b.values())
    return max(abs((a[t] - best_a) - (b[t] - best_b)) for t in tokens)


pairs = {}
for prompt in PROMPTS:
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(ids)
    reference = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    rows = {"llama.cpp": reference,
            "exact": transformers_first(ids, False, False, False),
            "q8": transformers_first(ids, True, False, False),
            "q8f16": transformers_first(ids, True, True, False),
            "q8-jitter": transformers_first(ids, True, True, True)}
    full = {k: {t: float(v[t]) for t in range(len(v))} for k, v in rows.items()}
    engines = {f"engine-{c}": engine_top(prompt, c) for c in ("fp32", "int8")}
    top = [int(t) for t in np.argsort(-reference)[:10]]
    line = {"prompt": prompt}
    for a, b in [("llama.cpp", "exact"), ("llama.cpp", "q8"), ("llama.cpp", "q8f16"), ("q8f16", "exact"),
                 ("q8f16", "q8"), ("q8f16", "q8-jitter")]:
        line[f"{a} vs {b}"] = round(gap_error(full[a], full[b], top), 4)
    for e, tops in engines.items():
        # Over the engine's own 10 best, as real_model_check.py measures.
        for b in ("llama.cpp", "exact", "q8f16"):
            line[f"{e} vs {b}"] = round(gap_error(tops, full[b], list(tops)), 4)
    for k, v in line.items():
        if k != "prompt":
            pairs.setdefault(k, []).append(v)
    print(json.dumps(line, ensure_ascii=False), flush=True)
print(json.dumps({"model": args.model, "llama_cpp": llama_cpp.__version__,
                  "worst": {k: max(v) for k, v in pairs.items()},
                  "median": {k: round(float(np.median(v)), 4) for k, v in pairs.items()}}))
