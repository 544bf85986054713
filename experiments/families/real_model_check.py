#!/usr/bin/env python3
"""A real GGUF model beside llama.cpp: prompt ids, greedy continuations and first-step logit gaps.

Issue 30's check for a real (trained) model, run on any GGUF file: for each prompt below, as raw text
(no chat template, so a base model qualifies),
- the prompt's token ids from `psr tokenize` must equal llama.cpp's (`Llama.tokenize`, BOS as the file says);
- greedy continuations of MAX_TOKENS tokens must be equal up to the first near-tie: where they first
  differ, llama.cpp's own margin between its two best tokens must be under NEAR_TIE (otherwise it is a
  real mismatch);
- at the first generated position, the gaps of the 10 best tokens to the best one (logit differences,
  the same from log-probabilities) must agree within GAP_LIMIT.
The engine runs at each --compute given (fp32 is the reference path; int8 multiplies 8-bit activations as
llama.cpp does on these weights). Prints one JSON line per prompt and compute, then a summary line; exits 1
when a criterion fails.

    python experiments/families/real_model_check.py MODEL.gguf [--psr .build/release/psr] [--compute fp32,int8]

Needs llama-cpp-python and numpy (a venv outside the repo).
"""
import argparse, json, os, subprocess, sys
import numpy as np
import llama_cpp

# Raw-text prompts: English, code, French, Japanese, accented names, a list, arithmetic (one list for every check).
PROMPTS = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_model_prompts.json")))
MAX_TOKENS = 24
NEAR_TIE = 0.25
GAP_LIMIT = 0.25

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--psr", default=".build/release/psr")
ap.add_argument("--compute", default="fp32,int8")
args = ap.parse_args()

llm = llama_cpp.Llama(model_path=args.model, n_ctx=256, logits_all=True, verbose=False, n_threads=2, seed=0)


def llama_greedy(ids):
    """Greedy ids, the margin (best − second logit) at each step, and the first step's logits."""
    llm.reset()
    llm.eval(ids)
    out, margins, first = [], [], None
    for step in range(MAX_TOKENS):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        if first is None:
            first = row.copy()
        order = np.argsort(-row)
        out.append(int(order[0]))
        margins.append(float(row[order[0]] - row[order[1]]))
        if int(order[0]) == llm.token_eos():
            break
        llm.eval([int(order[0])])
    return out, margins, first


ok = True
worst_gap = 0.0
summary = {}
for compute in args.compute.split(","):
    exact_ids = agreeing = near_ties = 0
    for prompt in PROMPTS:
        ref_ids = llm.tokenize(prompt.encode(), add_bos=True, special=False)
        ours_ids = json.loads(subprocess.run([args.psr, "tokenize", "--model", args.model, "--", prompt],
                                             check=True, capture_output=True, text=True).stdout)
        run = json.loads(subprocess.run(
            [args.psr, "generate", "--model", args.model, "--compute", compute, "--raw", "--prompt", prompt,
             "--max-tokens", str(MAX_TOKENS), "--temperature", "0", "--json", "--logprobs", "10"],
            check=True, capture_output=True, text=True).stdout)
        ref_greedy, margins, first = llama_greedy(ref_ids)
        ours_greedy = run["ids"]
        # First divergence, and whether llama.cpp itself was near a tie there.
        n = min(len(ref_greedy), len(ours_greedy))
        diverge = next((i for i in range(n) if ref_greedy[i] != ours_greedy[i]), None)
        if diverge is None and len(ref_greedy) != len(ours_greedy):
            diverge = n
        near_tie = diverge is not None and diverge < len(margins) and margins[diverge] < NEAR_TIE
        # First-step gaps over our 10 best (all present in llama.cpp's full row), anchored at each side's best.
        ours_top = run["top"][0]
        ours_best = max(lp for _, lp in ours_top)
        ref_best = float(first.max())
        gaps = [abs((lp - ours_best) - (first[t] - ref_best)) for t, lp in ours_top]
        gap = float(max(gaps))
        worst_gap = max(worst_gap, gap)
        ids_equal = ours_ids == ref_ids and run["prompt_ids"] == ref_ids
        exact_ids += ids_equal
        agreeing += diverge is None
        near_ties += near_tie
        passed = bool(ids_equal and (diverge is None or near_tie) and gap <= GAP_LIMIT)
        ok &= passed
        print(json.dumps({
            "compute": compute, "prompt": prompt, "prompt_ids_equal": ids_equal, "prompt_tokens": len(ref_ids),
            "greedy_equal_tokens": diverge if diverge is not None else n, "greedy_tokens": len(ref_greedy),
            "diverges_at_near_tie": bool(near_tie) if diverge is not None else None,
            "llama_cpp_margin_there": round(margins[diverge], 4) if diverge is not None and diverge < len(margins) else None,
            "first_step_worst_gap_error": round(gap, 4), "pass": passed}, ensure_ascii=False))
    summary[compute] = {"prompts": len(PROMPTS), "prompt_ids_exact": exact_ids, "greedy_identical": agreeing,
                        "diverged_at_near_tie": near_ties}
print(json.dumps({"model": args.model, "llama_cpp": llama_cpp.__version__, "summary": summary,
                  "worst_first_step_gap_error": round(worst_gap, 4), "pass": ok}))
sys.exit(0 if ok else 1)
