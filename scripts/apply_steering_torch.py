#!/usr/bin/env python3
"""Apply a steering file exported by `psr export --format safetensors` to a transformers model.

The file holds PSR gates (w, b, z, alpha per layer), prompt-position vectors (PrOSV) or constant
vectors, and its __metadata__ says how to apply them ("apply"). This script is the reference
implementation of that rule with PyTorch forward hooks on model.model.layers[N]:

    with SteeringHooks(model, "pirate.psr.safetensors", prompt_length=len(prompt_ids)):
        logits = model(torch.tensor([prompt_ids + response_ids])).logits

Positions are counted from the first token the model sees after the hooks are attached (a hook on
the embedding layer counts them), so the same hooks serve one teacher-forced pass or a prompt
followed by cached decoding steps. One sequence at a time (batch size 1).

Usage:
  python scripts/apply_steering_torch.py --model HF_DIR --steering FILE.safetensors --prompt "Hi" [--max-tokens 32]
  python scripts/apply_steering_torch.py --model HF_DIR --steering FILE.safetensors \\
      --prompt-ids 1,2,3 --response-ids 4,5 --logits-out logits.json
"""
import argparse
import json

import torch
from safetensors import safe_open

FORMAT = "psr-steering-safetensors"


def load_steering(path):
    """The entries of a steering export, in order of application, with their tensors."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file (format: {meta.get('format')!r})")
        entries = json.loads(meta["entries"])
        for e in entries:
            prefix = e["tensors"]
            names = ["v", "alpha"] if e["type"] == "vector" else ["w", "b", "z", "alpha"]
            e.update({n: f.get_tensor(f"{prefix}.{n}").to(torch.float32) for n in names})
    return meta, entries


def position_mask(positions, start, count, prompt_length):
    """Which of the tokens at absolute positions start..<start+count an entry touches."""
    p = torch.arange(start, start + count)
    if positions == "all":
        return torch.ones(count, dtype=torch.bool)
    if positions == "response":
        return p >= prompt_length
    first = last = 0
    for part in positions.split("+"):
        if part[0] == "p":
            first = int(part[1:])
        elif part[0] == "s":
            last = int(part[1:])
        else:
            raise ValueError(f"unknown positions {positions!r}")
    in_prompt = p < prompt_length
    return in_prompt & ((p < first) | (prompt_length - 1 - p < last))


class SteeringHooks:
    """Forward hooks that apply a steering export while the `with` block lasts."""

    def __init__(self, model, path, prompt_length, factor=1.0):
        self.model = model
        self.meta, self.entries = load_steering(path)
        self.prompt_length = prompt_length
        self.factor = factor
        layers = model.model.layers
        if int(self.meta["layer_count"]) != len(layers) or int(self.meta["model_dimension"]) != model.config.hidden_size:
            raise ValueError(
                f"{path} was made for {self.meta['layer_count']} layers of width {self.meta['model_dimension']}, "
                f"not {len(layers)} of {model.config.hidden_size}")
        self.handles = []
        self.start = 0
        self.seen = 0

    def __enter__(self):
        self.seen = 0
        self.handles.append(self.model.model.embed_tokens.register_forward_hook(self._count))
        for layer in sorted({e["layer"] for e in self.entries}):
            self.handles.append(self.model.model.layers[layer].register_forward_hook(self._edit(layer)))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles = []

    def _count(self, module, args, output):
        self.start = self.seen
        self.seen += output.shape[1]

    def _edit(self, layer):
        def hook(module, args, output):
            h = output[0] if isinstance(output, tuple) else output
            h = h.clone()
            T = h.shape[1]
            for e in (e for e in self.entries if e["layer"] == layer):
                mask = position_mask(e["positions"], self.start, T, self.prompt_length).to(h.device)
                if e["type"] == "vector":
                    h[0, mask] += self.factor * e["alpha"].to(h) * e["v"].to(h)
                else:
                    rows = h[0, mask]
                    lam = torch.relu(rows @ e["w"].to(h) + e["b"].to(h))
                    h[0, mask] = rows + self.factor * e["alpha"].to(h) * lam[:, None] * e["z"].to(h)
            return (h,) + tuple(output[1:]) if isinstance(output, tuple) else h

        return hook


def ids_arg(text):
    return [int(t) for t in text.split(",") if t.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face model directory")
    ap.add_argument("--steering", required=True, help="safetensors file from psr export")
    ap.add_argument("--factor", type=float, default=1.0, help="multiplies every alpha")
    ap.add_argument("--prompt", help="user message, rendered with the model's chat template")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt-ids", type=ids_arg, help="comma-separated prompt ids (instead of --prompt)")
    ap.add_argument("--response-ids", type=ids_arg, default=[], help="teacher-forced response ids")
    ap.add_argument("--logits-out", help="write the steered logits of every position here (JSON)")
    args = ap.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model.eval()
    tokenizer = None
    if args.prompt_ids is not None:
        prompt = args.prompt_ids
    else:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": args.prompt}], add_generation_prompt=True, tokenize=True, return_dict=False)
    with torch.no_grad(), SteeringHooks(model, args.steering, len(prompt), args.factor):
        if args.logits_out:
            logits = model(torch.tensor([prompt + args.response_ids])).logits[0]
            with open(args.logits_out, "w") as f:
                json.dump({"prompt_ids": prompt, "response_ids": args.response_ids, "logits": logits.tolist()}, f)
            return
        out = model.generate(torch.tensor([prompt]), max_new_tokens=args.max_tokens, do_sample=False)
    new = out[0, len(prompt):].tolist()
    print(tokenizer.decode(new, skip_special_tokens=True) if tokenizer else new)


if __name__ == "__main__":
    main()
