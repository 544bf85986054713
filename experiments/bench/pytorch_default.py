#!/usr/bin/env python3
"""PyTorch CPU fp32 beside `psr bench` on the default model, in one run on one machine.

Loads SmolLM2-135M-Instruct from the project's GGUF (transformers dequantizes its Q4_1 blocks to fp32,
the weights the reference tests use), then measures with torch's default threads:
  prefill: one forward of 512 tokens, no grad (tok/s);
  train: one steering-vector step on 4 sequences of 128 tokens — a vector added after layer 15, loss the
         mean response NLL (112 response tokens a sequence), backward to the vector (tok/s = 512 / step);
  decode: 128 greedy tokens with the KV cache, 1 stream (tok/s).
Prefill and training are measured again under torch.autocast("cpu", dtype=torch.bfloat16) (products in bf16).
Then runs `psr bench --only prefill,decode,batch64,train --json` once per --compute value (fp32 and bf16) and
prints every engine's figures as JSON lines, each naming the CPU model.

Usage: python experiments/bench/pytorch_default.py [--psr .build/release/psr] [--runs 3] [--compute fp32,bf16]
"""
import argparse
import json
import os
import subprocess
import time

import torch
from transformers import AutoModelForCausalLM


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--psr", default=".build/release/psr")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compute", default="fp32,bf16", help="psr bench's --compute values, comma-separated")
    args = ap.parse_args()
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(args.model)), gguf_file=os.path.basename(args.model), torch_dtype=torch.float32)
    model.eval()
    g = torch.Generator().manual_seed(1)
    vocab = model.config.vocab_size
    prompt = torch.randint(100, vocab - 100, (1, 512), generator=g)

    def prefill():
        with torch.no_grad():
            t = time.time()
            model(prompt, use_cache=False)
            return 512 / (time.time() - t)

    ids = torch.randint(100, 40_000, (4, 128), generator=g)
    labels = ids.clone()
    labels[:, :16] = -100
    vector = torch.zeros(model.config.hidden_size, requires_grad=True)
    hook = model.model.layers[15].register_forward_hook(lambda m, i, o: (o[0] + vector,) + tuple(o[1:]) if isinstance(o, tuple) else o + vector)
    for p in model.parameters():
        p.requires_grad_(False)

    def train():
        t = time.time()
        loss = model(ids, labels=labels, use_cache=False).loss
        loss.backward()
        vector.grad = None
        return 512 / (time.time() - t)

    def decode():
        with torch.no_grad():
            out = model(prompt[:, :16], use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            t = time.time()
            for _ in range(128):
                out = model(token, past_key_values=past, use_cache=True)
                past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            return 128 / (time.time() - t)

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    prefill(), train()  # warm-up
    torch_rates = {"prefill_tok_s": median([prefill() for _ in range(args.runs)]),
                   "train_fssv_tok_s": median([train() for _ in range(args.runs)])}
    # The same prefill and training step under CPU autocast: products in bf16, the rest fp32.
    with torch.autocast("cpu", dtype=torch.bfloat16):
        prefill(), train()
        autocast = {"prefill_tok_s": median([prefill() for _ in range(args.runs)]),
                    "train_fssv_tok_s": median([train() for _ in range(args.runs)])}
    hook.remove()
    torch_rates["decode_tok_s"] = median([decode() for _ in range(args.runs)])
    print(json.dumps({"engine": "pytorch", "cpu": cpu, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      **{k: round(v, 1) for k, v in torch_rates.items()}}))
    print(json.dumps({"engine": "pytorch-autocast-bf16", "cpu": cpu, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), **{k: round(v, 1) for k, v in autocast.items()}}))
    for compute in args.compute.split(","):
        out = subprocess.run([args.psr, "bench", "--model", args.model, "--compute", compute, "--only",
                              "prefill,decode,batch64,train", "--json", "--runs", str(args.runs)],
                             check=True, capture_output=True, text=True).stdout
        print(json.dumps({"engine": "psr", "cpu": cpu, **json.loads(out)}))


if __name__ == "__main__":
    main()
