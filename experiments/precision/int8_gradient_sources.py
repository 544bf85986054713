"""Where int8's steering-gradient error comes from, and which activation formats would meet 0.999.

Simulates the engine's 8-bit activations on SmolLM2-135M-Instruct in PyTorch: the weights are the
default Q4_1 file's, dequantized by transformers; each projection's input is rounded as the engine's
int8 rounds it (per block of 32 or 256 values: scale = largest magnitude / 127, round to nearest
even, clamp to ±127), and the backward passes the gradient straight through (the engine's backward
multiplies by the weights, not by the rounding's derivative). The measure is psr precision's: the
cosine between the gradients, with and without the rounding, of the mean NLL of 16 AlpacaEval
instructions' GPT-4 answers (128 tokens) with respect to a random unit steering vector added after
layer 15. One format the engine does not have is tried too: a block's scale refined per 16 values by
a power of two (up to 2^6), which keeps every product an integer sum.

  python experiments/precision/int8_gradient_sources.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf

Needs torch, transformers and gguf (not the project's dependencies); prints one JSON line a format.
"""
import argparse, json, os
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
ap.add_argument("--answers", default="experiments/data/alpaca_eval/gpt4_outputs.jsonl")
ap.add_argument("--examples", type=int, default=16)
ap.add_argument("--tokens", type=int, default=128)
ap.add_argument("--layer", type=int, default=15)
args = ap.parse_args()
torch.set_num_threads(2)
directory, name = os.path.split(os.path.abspath(args.model))
tok = AutoTokenizer.from_pretrained(directory, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()

sequences = []
for line in open(args.answers).readlines()[: args.examples]:
    r = json.loads(line)
    prompt = tok.apply_chat_template([{"role": "user", "content": r["instruction"]}], add_generation_prompt=True)
    prompt = prompt if isinstance(prompt, list) else prompt["input_ids"]
    sequences.append((prompt, tok(r["output"], add_special_tokens=False)["input_ids"][: args.tokens]))


def blocks(n, refine=0):
    """Rounds x as 8-bit values with one scale per n values (refined per 16 by 2^-e, e <= refine)."""
    def rounded(x):
        xb = x.reshape(-1, n)
        d = xb.abs().amax(dim=1, keepdim=True).clamp_min(1e-30) / 127
        if refine:
            g = xb.reshape(xb.shape[0], n // 16, 16)
            e = torch.floor(torch.log2(127 * d.unsqueeze(2) / g.abs().amax(dim=2, keepdim=True).clamp_min(1e-30)))
            dg = d.unsqueeze(2) / 2 ** e.clamp(0, refine)
            return (torch.round(g / dg).clamp(-127, 127) * dg).reshape(x.shape)
        return (torch.round(xb / d).clamp(-127, 127) * d).reshape(x.shape)
    return rounded


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


class StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, f):
        return f(x)

    @staticmethod
    def backward(ctx, g):
        return g, None


KINDS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head")
rounding = {}
for module_name, m in model.named_modules():
    if isinstance(m, torch.nn.Linear):
        kind = next(k for k in KINDS if k in module_name)
        def forward(x, m=m, kind=kind):
            f = rounding.get(kind)
            return torch.nn.functional.linear(StraightThrough.apply(x, f) if f else x, m.weight, m.bias)
        m.forward = forward

direction = torch.rand(model.config.hidden_size, generator=torch.Generator().manual_seed(0)) * 2 - 1
direction /= direction.norm()


def gradient():
    v = direction.clone().requires_grad_(True)
    hook = model.model.layers[args.layer].register_forward_hook(
        lambda mod, inp, out: (out[0] + v,) + tuple(out[1:]) if isinstance(out, tuple) else out + v)
    total, count = 0, 0
    for prompt, answer in sequences:
        logits = model(torch.tensor([prompt + answer])).logits[0]
        logp = torch.log_softmax(logits[len(prompt) - 1 : -1], -1)
        total = total - logp.gather(1, torch.tensor(answer).unsqueeze(1)).sum()
        count += len(answer)
    (total / count).backward()
    hook.remove()
    return v.grad.clone()


reference = gradient()
QKV, REST = ("q_proj", "k_proj", "v_proj"), ("o_proj", "gate_proj", "up_proj", "lm_head")
q32, q256 = blocks(32), blocks(256)
formats = {
    # The engine's int8 on the default file (Q4_1: every product on 32-value blocks).
    "every product 32": {k: q32 for k in KINDS},
    # One kind of projection at a time.
    **{f"only {'+'.join(ks)} 32": {k: q32 for k in ks} for ks in (QKV, ("o_proj",), ("gate_proj", "up_proj"), ("down_proj",), ("lm_head",))},
    # The engine's int8 on SmolLM2 requantized to Q4_K_M: ffn_down in K-quants (256-value blocks), the rest Q5_0/Q8_0.
    "Q4_K_M: down 256, rest 32": {**{k: q32 for k in QKV + REST}, "down_proj": q256},
    "only down 256": {"down_proj": q256},
    "only down 256, refined per 16": {"down_proj": blocks(256, 6)},
    "Q4_K_M, every block refined per 16": {**{k: blocks(32, 6) for k in QKV + REST}, "down_proj": blocks(256, 6)},
    "every product 32, refined per 16": {k: blocks(32, 6) for k in KINDS},
    "Q4_K_M, q/k/v bf16, down refined": {**{k: q32 for k in REST}, **{k: bf16 for k in QKV}, "down_proj": blocks(256, 6)},
    "every product 32, q/k/v bf16": {**{k: q32 for k in REST + ("down_proj",)}, **{k: bf16 for k in QKV}},
    "every product bf16": {k: bf16 for k in KINDS},
}
for label, chosen in formats.items():
    rounding.clear()
    rounding.update(chosen)
    g = gradient()
    print(json.dumps({"format": label, "gradient_cosine": round(float(g @ reference / (g.norm() * reference.norm())), 5)}), flush=True)
