#!/usr/bin/env python3
"""PyTorch autograd reference for the SimPO objective of steering-vector training (`psr sv train --objective simpo`).

For each tiny family checkpoint in Tests/Fixtures/families it writes Tests/Fixtures/simpo/<family>.json with
two preference pairs (random prompt, chosen and rejected ids), a vector v and factor alpha at layer 1, and
cases that vary the positions (`all`; `p2+s2`, the first two and last two prompt positions) and SimPO's
constants. For each case: the mean loss over the pairs and autograd's gradients in alpha and v.

  per pair:  lbar(y) = mean_t log p(y_t | x, y_<t) under h_1 <- h_1 + alpha v at the positions
             m = beta s lbar(y_w) - beta lbar(y_l) - gamma,   loss = -log sigmoid(m)
  s = 1 (SimPO), or with a scaler c: s = max(c (R(y_l) - R(y_w)), 1), R the unsteered summed
  log-likelihood (RePS's scaled_simpo), a constant.

Usage (in a venv with torch and transformers):
  python scripts/make_simpo_reference.py [--families llama,qwen2,qwen3,gemma2]
"""
import argparse
import json
import os
import tempfile

import torch

from tiny_families import FAMILIES, ROOT, load

LAYER = 1


def logps(model, prompt, response, edit=None):
    """Summed log-likelihood of the response and its length, with `edit(h, n_prompt)` after block LAYER."""
    handle = None
    if edit is not None:
        def hook(module, inputs, output):
            h = output[0] if isinstance(output, tuple) else output
            h = edit(h, len(prompt))
            return (h,) + tuple(output[1:]) if isinstance(output, tuple) else h
        handle = model.model.layers[LAYER].register_forward_hook(hook)
    try:
        logits = model(torch.tensor([prompt + response])).logits[0]
    finally:
        if handle:
            handle.remove()
    lp = torch.log_softmax(logits[len(prompt) - 1:-1], dim=-1)
    return lp[torch.arange(len(response)), torch.tensor(response)].sum()


def mask(positions, n_prompt, n_total):
    m = torch.zeros(n_total)
    if positions == "all":
        m[:] = 1
    else:  # p2+s2: the first two and the last two prompt positions
        for i in [0, 1, n_prompt - 2, n_prompt - 1]:
            m[i] = 1
    return m


def case(model, pairs, v0, a0, positions, beta, gamma, scaler):
    v = v0.clone().requires_grad_(True)
    alpha = torch.tensor(a0, requires_grad=True)

    def edit(h, n_prompt):
        return h + alpha * v * mask(positions, n_prompt, h.shape[1])[None, :, None]

    total = 0
    for p in pairs:
        s = 1.0
        if scaler is not None:
            with torch.no_grad():
                r_w = logps(model, p["prompt"], p["chosen"]).item()
                r_l = logps(model, p["prompt"], p["rejected"]).item()
            s = max(scaler * (r_l - r_w), 1.0)
        lw = logps(model, p["prompt"], p["chosen"], edit) / len(p["chosen"])
        ll = logps(model, p["prompt"], p["rejected"], edit) / len(p["rejected"])
        m = beta * s * lw - beta * ll - gamma
        total = total - torch.nn.functional.logsigmoid(m)
    loss = total / len(pairs)
    loss.backward()
    return dict(positions=positions, beta=beta, gamma=gamma, scaler=scaler, loss=loss.item(),
                grad_alpha=alpha.grad.item(), grad_v=v.grad.tolist())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/simpo"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for family in args.families.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            model = load(family, tmp)
            g = torch.Generator().manual_seed(args.seed)
            vocab, d = model.config.vocab_size, model.config.hidden_size
            pairs = []
            for n_prompt, n_chosen, n_rejected in [(6, 5, 7), (9, 4, 3)]:
                ids = lambda n: torch.randint(3, vocab, (n,), generator=g).tolist()
                pairs.append(dict(prompt=ids(n_prompt), chosen=ids(n_chosen), rejected=ids(n_rejected)))
            v0 = torch.randn(d, generator=g)
            v0 = v0 / v0.norm()
            a0 = 1.5
            cases = [
                case(model, pairs, v0, a0, "all", 2.0, 0.5, None),
                case(model, pairs, v0, a0, "p2+s2", 2.0, 0.5, None),
                case(model, pairs, v0, a0, "all", 1.0, 0.0, 1.0),
            ]
        ref = dict(family=family, layer=LAYER, alpha=a0, v=v0.tolist(), pairs=pairs, cases=cases)
        with open(os.path.join(args.out, family + ".json"), "w") as f:
            json.dump(ref, f)
        print(family, " ".join(f"{c['positions']}/{c['scaler']}: {c['loss']:.5f}" for c in cases))


if __name__ == "__main__":
    main()
