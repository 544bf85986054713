#!/usr/bin/env python3
"""A real GGUF model beside transformers (fp32, weights dequantized from the same file by transformers' GGUF
loader): the first-step logit gaps of the engine's 10 best tokens, on real_model_prompts.json.

It separates the engine's error from llama.cpp's: where the engine at fp32 matches transformers and llama.cpp
does not, the difference is llama.cpp's arithmetic (8-bit activations, an f16 KV cache). Prints one JSON line
per prompt (and the greedy ids of both, MAX_TOKENS long), then a summary line.

    python experiments/families/real_model_transformers_check.py MODEL.gguf [--psr .build/release/psr]

Needs torch, transformers, accelerate and gguf (a venv outside the repo).
"""
import argparse, json, os, subprocess
import torch
from transformers import AutoModelForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
PROMPTS = json.load(open(os.path.join(here, "real_model_prompts.json")))
MAX_TOKENS = 24

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--psr", default=".build/release/psr")
args = ap.parse_args()
directory, name = os.path.split(os.path.abspath(args.model))
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()

worst = 0.0
greedy_equal = 0
for prompt in PROMPTS:
    run = json.loads(subprocess.run(
        [args.psr, "generate", "--model", args.model, "--compute", "fp32", "--raw", "--prompt", prompt,
         "--max-tokens", str(MAX_TOKENS), "--temperature", "0", "--json", "--logprobs", "10"],
        check=True, capture_output=True, text=True).stdout)
    ids = torch.tensor([run["prompt_ids"]])
    with torch.no_grad():
        logits = model(ids).logits[0, -1].double()
        reference = model.generate(ids, max_new_tokens=MAX_TOKENS, do_sample=False)[0, ids.shape[1]:].tolist()
    top = run["top"][0]
    best = max(lp for _, lp in top)
    gap = max(abs((lp - best) - float(logits[t] - logits.max())) for t, lp in top)
    worst = max(worst, gap)
    same = reference[: len(run["ids"])] == run["ids"]
    greedy_equal += same
    print(json.dumps({"prompt": prompt, "first_step_worst_gap_error": round(gap, 6), "greedy_equal": same,
                      "engine": run["ids"], "transformers": reference}, ensure_ascii=False))
print(json.dumps({"model": args.model, "prompts": len(PROMPTS), "greedy_equal": greedy_equal,
                  "worst_first_step_gap_error": round(worst, 6)}))
