#!/usr/bin/env python3
"""A multi-layer control vector as repeng writes it, and llama.cpp's logits with it applied.

Writes Tests/Fixtures/control-vectors/smollm2.cvec.tar.gz (holding smollm2.cvec.gguf) with gguf-py's GGUFWriter the way repeng's
ControlVector.export_gguf does (architecture "controlvector", controlvector.model_hint and
controlvector.layer_count, one F32 tensor direction.N per steered layer), for SmolLM2-135M-Instruct
(d = 576, 30 layers). Then it loads the vector into llama.cpp through llama-cpp-python exactly as
llama.cpp's common_control_vector_load does (direction.N at offset (N-1)·d, scaled by the strength)
and applies it with llama_set_adapter_cvec over layers 1..29. For each prompt of logits.jsonl and each
strength it records the 20 highest [id, logit] at the last position (steered.jsonl).

Usage (venv with llama-cpp-python and gguf):
  python scripts/make_control_vector_fixtures.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import argparse
import ctypes
import json
import os
import tarfile
import tempfile

import numpy as np

LAYERS = {3: 20.0, 11: 30.0, 20: 40.0}  # layer → L2 norm of its random direction
STRENGTHS = [1.0, -0.5]
PROMPTS = 4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", default="Tests/Fixtures/control-vectors")
    args = ap.parse_args()
    import gguf
    import llama_cpp

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(7)
    d, n_layer = 576, 30
    directions = {}
    for layer, norm in LAYERS.items():
        v = rng.standard_normal(d).astype(np.float32)
        directions[layer] = (v * (norm / np.linalg.norm(v))).astype(np.float32)
    work = tempfile.mkdtemp()
    path = os.path.join(work, "smollm2.cvec.gguf")
    w = gguf.GGUFWriter(path, "controlvector")
    w.add_string("controlvector.model_hint", "llama")
    w.add_uint32("controlvector.layer_count", len(directions))
    for layer, v in directions.items():
        w.add_tensor(f"direction.{layer}", v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    llm = llama_cpp.Llama(args.model, n_ctx=512, n_threads=2, verbose=False)
    assert llm.n_embd() == d
    with open(os.path.join(os.path.dirname(__file__), "..", "Tests/Fixtures/smollm2-135m-instruct-q4_1/logits.jsonl")) as f:
        prompts = [json.loads(line)["ids"] for line in f][:PROMPTS]
    rows = []
    for strength in STRENGTHS:
        # common_control_vector_load: layer 1 at [0], so direction.N lands at (N-1)·d.
        data = np.zeros(d * max(directions), dtype=np.float32)
        for layer, v in directions.items():
            data[(layer - 1) * d : layer * d] += v * strength
        buf = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert llama_cpp.llama_set_adapter_cvec(llm.ctx, buf, data.size, d, 1, n_layer) == 0
        for ids in prompts:
            llm.reset()
            llm.eval(ids)
            ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)
            top = np.argsort(-logits)[:20]
            rows.append({"ids": ids, "strength": strength, "top": [[int(i), float(logits[i])] for i in top]})
    with open(os.path.join(args.out, "steered.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    # The repository keeps .gguf names out of git: the vector travels packed.
    with tarfile.open(os.path.join(args.out, "smollm2.cvec.tar.gz"), "w:gz") as t:
        t.add(path, arcname="smollm2.cvec.gguf")
    print(f"wrote smollm2.cvec.tar.gz and steered.jsonl ({len(rows)} rows)")


if __name__ == "__main__":
    main()
