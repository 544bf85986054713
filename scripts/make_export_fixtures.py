#!/usr/bin/env python3
"""Steering exports applied by PyTorch: fixtures for SafetensorsExportTests.

For each tiny family checkpoint (Tests/Fixtures/families/*.tar.gz):
1. `psr sv import` of a throw-away control vector gives a steering file that carries the model's
   fingerprint; its vectors and gates are then replaced by seeded random ones that use every kind of
   entry: a PrOSV vector on prompt positions p2+s2, a constant vector on all positions, two PSR gates
   (biases near zero, so each gate is on for some response tokens and off for others) and a global α.
2. `psr export --format safetensors` writes it; scripts/apply_steering_torch.py applies that file to
   the Hugging Face checkpoint in fp32 and records the logits of every position of a teacher-forced
   sequence (12 prompt tokens, 8 response tokens).
Output: Tests/Fixtures/steering-export/<family>.json and <family>.logits.json, and exports.tar.gz holding
every <family>.safetensors.

Usage (venv with torch, transformers, safetensors, gguf; after swift build -c release):
  python scripts/make_export_fixtures.py
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_families import FAMILIES  # noqa: E402
PROMPT = 12


def main():
    import gguf
    import torch
    from transformers import AutoModelForCausalLM

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from apply_steering_torch import SteeringHooks

    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/steering-export"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    psr = os.path.join(ROOT, ".build/release/psr")
    rng = np.random.default_rng(11)
    packed = tempfile.mkdtemp()
    for family in FAMILIES:
        work = tempfile.mkdtemp()
        with tarfile.open(os.path.join(ROOT, f"Tests/Fixtures/families/{family}.tar.gz")) as t:
            t.extractall(work, filter="data")
        hf = os.path.join(work, family, "hf")
        config = json.load(open(os.path.join(hf, "config.json")))
        d, layers = config["hidden_size"], config["num_hidden_layers"]
        ids = json.load(open(os.path.join(work, family, "reference.json")))["ids"]
        cv = os.path.join(work, "cv.gguf")
        w = gguf.GGUFWriter(cv, "controlvector")
        w.add_tensor("direction.1", np.ones(d, dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        base = os.path.join(work, "base.json")
        subprocess.run([psr, "sv", "import", cv, "--model", hf, "--out", base], check=True)
        steering = json.load(open(base))

        def vec(scale):
            return [float(x) for x in rng.standard_normal(d) * scale / np.sqrt(d)]

        steering.update(kind="psr", alpha=1.3, training={"fixture": "scripts/make_export_fixtures.py"})
        steering["vectors"] = [
            {"layer": 0, "positions": "p2+s2", "alpha": 2.0, "vector": vec(1.0)},
            {"layer": layers - 2, "positions": "all", "alpha": 0.5, "vector": vec(1.0)},
        ]
        steering["gates"] = [
            {"layer": layers - 2, "weight": vec(1.0), "bias": 0.01, "direction": vec(2.0)},
            {"layer": layers - 1, "weight": vec(1.0), "bias": -0.02, "direction": vec(2.0)},
        ]
        path = os.path.join(out, f"{family}.json")
        with open(path, "w") as f:
            json.dump(steering, f, sort_keys=True)
        exported = os.path.join(packed, f"{family}.safetensors")
        subprocess.run([psr, "export", "--format", "safetensors", path, "--model", hf, "--out", exported], check=True)

        model = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32)
        model.eval()
        prompt, response = ids[:PROMPT], ids[PROMPT:]
        tokens = torch.tensor([prompt + response])
        with torch.no_grad():
            plain = model(tokens).logits[0]
            with SteeringHooks(model, exported, len(prompt)):
                steered = model(tokens).logits[0]
        moved = (steered - plain).abs().max().item()
        assert moved > 0.05, f"{family}: steering moved the logits by only {moved}"
        with open(os.path.join(out, f"{family}.logits.json"), "w") as f:
            json.dump({"prompt_ids": prompt, "response_ids": response, "logits": steered.tolist()}, f)
        print(f"{family}: d={d}, {layers} layers, logits moved by up to {moved:.3f}")
    # The repository keeps .safetensors names out of git: the exports travel packed.
    with tarfile.open(os.path.join(out, "exports.tar.gz"), "w:gz") as t:
        for family in FAMILIES:
            t.add(os.path.join(packed, f"{family}.safetensors"), arcname=f"{family}.safetensors")


if __name__ == "__main__":
    main()
