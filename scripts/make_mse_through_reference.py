#!/usr/bin/env python3
"""PyTorch autograd reference for S-PSR's through-the-model objective (`psr fit --objective mse-through`).

For each tiny family checkpoint in Tests/Fixtures/families it writes one case to
Tests/Fixtures/mse-through/<family>.json:

  examples   per example: the unprompted prompt ids, the response ids, and the prompted targets,
             which are the prompted pass's states (prompt = instruction ids + unprompted prompt) at the
             response tokens, after every block from the gate's layer to the last
  gate       layer, w, b, z of one PSR gate: h <- h + ReLU(w.h + b) z on response tokens
  cases      for each bias: loss, the part of each layer, the regulariser, and autograd's gradients
             of the loss with respect to w, b and z

The loss is ModelPSRFit.batchLossByLayer's, written here from its definition:
  per layer l:  sum over the batch's T response tokens of |h_l,t - target_l,t|^2 / (T * n_l),
                n_l = sum |target_l,t|^2 / T
  regulariser:  0.1 / B * sum over the B examples of max(0, 1 - sum_t ReLU(w.h_t + b)), h_t the gate
                layer's states before the edit.
The states are the outputs of the decoder blocks (forward hooks), not `output_hidden_states`, whose
last entry has the final norm applied.

Usage (in a venv with torch and transformers):
  python scripts/make_mse_through_reference.py [--families llama,qwen2,qwen3,gemma2]
"""
import argparse
import json
import os
import tempfile

import torch

from tiny_families import FAMILIES, ROOT, load

DEAD_GATE_WEIGHT = 0.1


def block_output(output):
    return output[0] if isinstance(output, tuple) else output


def replace_output(output, value):
    return (value,) + tuple(output[1:]) if isinstance(output, tuple) else value


def run(model, ids, prompt_length, gate=None):
    """Block outputs (layer -> response rows x d) and, with a gate, the gate layer's states before the edit."""
    states, before = {}, {}

    def hook(layer):
        def f(module, inputs, output):
            h = block_output(output)
            if gate is not None and layer == gate["layer"]:
                before["h"] = h[0, prompt_length:]
                a = h[0, prompt_length:] @ gate["w"] + gate["b"]
                edit = torch.relu(a)[:, None] * gate["z"][None, :]
                h = torch.cat([h[:, :prompt_length], h[:, prompt_length:] + edit[None]], dim=1)
                output = replace_output(output, h)
            states[layer] = h[0, prompt_length:]
            return output

        return f

    handles = [block.register_forward_hook(hook(l)) for l, block in enumerate(model.model.layers)]
    try:
        model(torch.tensor([ids]))
    finally:
        for h in handles:
            h.remove()
    return states, before.get("h")


def loss_parts(model, examples, gate, layers):
    T = sum(len(e["response"]) for e in examples)
    outputs = [run(model, e["prompt"] + e["response"], len(e["prompt"]), gate) for e in examples]
    parts = {}
    for l in layers:
        n = sum((e["targets"][l] ** 2).sum() for e in examples) / T
        parts[l] = sum(((s[l] - e["targets"][l]) ** 2).sum() for (s, _), e in zip(outputs, examples)) / (T * n)
    reg = sum(torch.clamp(1 - torch.relu(h @ gate["w"] + gate["b"]).sum(), min=0) for _, h in outputs)
    parts[-1] = DEAD_GATE_WEIGHT / len(examples) * reg
    return parts


def case(model, seed):
    d = model.config.hidden_size
    L = model.config.num_hidden_layers
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(seed)
    instruction = torch.randint(3, vocab, (4,), generator=g).tolist()
    examples = []
    for prompt_len, response_len in [(5, 7), (8, 4)]:
        prompt = torch.randint(3, vocab, (prompt_len,), generator=g).tolist()
        response = torch.randint(3, vocab, (response_len,), generator=g).tolist()
        with torch.no_grad():
            targets, _ = run(model, instruction + prompt + response, len(instruction) + prompt_len)
        examples.append(dict(prompt=prompt, response=response, targets=targets))
    layer = 0
    layers = list(range(layer, L))
    # z: the unit mean delta at the gate layer, as fit's initialisation would start it.
    with torch.no_grad():
        base = [run(model, e["prompt"] + e["response"], len(e["prompt"]))[0][layer] for e in examples]
        delta = torch.cat([e["targets"][layer] - b for e, b in zip(examples, base)]).mean(0)
    z0 = delta / delta.norm()
    w0 = (torch.rand(d, generator=g) - 0.5) * 0.2
    out = dict(
        examples=[
            dict(prompt_ids=e["prompt"], response_ids=e["response"],
                 targets={str(l): e["targets"][l].flatten().tolist() for l in layers})
            for e in examples
        ],
        layer=layer, weight=w0.tolist(), direction=z0.tolist(), dead_gate_weight=DEAD_GATE_WEIGHT, cases=[],
    )
    # A bias that opens the gate everywhere (regulariser 0) and one that leaves Σλ in (0, 1) on an
    # example (regulariser on, with a gradient), away from the ReLU's kink.
    with torch.no_grad():
        pre = [run(model, e["prompt"] + e["response"], len(e["prompt"]))[0][layer] @ w0 for e in examples]
    def usable(b):
        sums = [torch.relu(a + b).sum().item() for a in pre]
        return any(0 < s < 0.9 for s in sums) and min((a + b).abs().min().item() for a in pre) > 1e-3
    low = next(b / 100 for b in range(1, -1000, -1) if usable(b / 100))
    for bias in [3.0, low]:
        w = w0.clone().requires_grad_(True)
        z = z0.clone().requires_grad_(True)
        b = torch.tensor(bias, requires_grad=True)
        parts = loss_parts(model, examples, dict(layer=layer, w=w, b=b, z=z), layers)
        loss = sum(parts.values())
        loss.backward()
        out["cases"].append(dict(
            bias=bias, loss=loss.item(), parts={str(k): float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in parts.items()},
            grad_weight=w.grad.tolist(), grad_bias=b.grad.item(), grad_direction=z.grad.tolist(),
        ))
    assert out["cases"][0]["parts"]["-1"] == 0, "bias 3 should leave the regulariser off"
    assert out["cases"][1]["parts"]["-1"] > 0, "the low bias should switch the regulariser on"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/mse-through"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for family in args.families.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            model = load(family, tmp)
            ref = case(model, args.seed)
        ref["family"] = family
        with open(os.path.join(args.out, family + ".json"), "w") as f:
            json.dump(ref, f)
        c = ref["cases"]
        print(f"{family}: loss {c[0]['loss']:.5f} (regulariser off), {c[1]['loss']:.5f} (on, {c[1]['parts']['-1']:.4f})")


if __name__ == "__main__":
    main()
