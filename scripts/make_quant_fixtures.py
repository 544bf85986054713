#!/usr/bin/env python3
"""GGUF files quantized by llama.cpp's own quantizer, with gguf-py's dequantization of every tensor.

Makes a one-layer llama checkpoint (make_family_fixtures.py, hidden 256 so that K-quant blocks of 256
fit; the feed-forward width of 384 does not, so llama.cpp picks its fallback types there), converts it
to an f32 GGUF with convert_hf_to_gguf.py, quantizes that with llama-cpp-python's
llama_model_quantize to Q4_K_M, Q5_K_M, Q6_K, Q5_0, Q5_1, Q4_0, Q4_1, Q8_0, F16 and BF16, and records for every tensor of every file
its type and the SHA-256 of gguf.quants.dequantize's float32 bytes (plus its first values). Output:
Tests/Fixtures/quants.tar.gz (the llama file of each quantized ftype and quants/reference.json, which covers every
file) and Tests/Fixtures/quants-more.tar.gz (F16, BF16, and <family>-Q4_K_M.gguf for qwen2, qwen3 and gemma2 at the
same width); two archives so that each stays under 5 MB, unpacked into one quants/ directory.

Usage (venv with torch, transformers, llama-cpp-python built from source, gguf):
  python scripts/make_quant_fixtures.py --llama-cpp PATH/llama.cpp --out Tests/Fixtures
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import make_family_fixtures as fam  # noqa: E402

FTYPES = {"Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "Q5_0": 8, "Q5_1": 9, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "F16": 1, "BF16": 32}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--out", default="Tests/Fixtures")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.llama_cpp, "gguf-py"))
    import gguf
    import llama_cpp
    import torch
    from transformers import AutoModelForCausalLM

    work = tempfile.mkdtemp()
    root = os.path.join(work, "quants")
    os.makedirs(root)

    def f32_gguf(family):
        """A one-layer checkpoint of `family` at width 256, converted to an f32 GGUF by llama.cpp."""
        hf = os.path.join(work, family + "-hf")
        os.makedirs(hf)
        fam.make_tokenizer(hf)
        model = AutoModelForCausalLM.from_config(fam.make_config(family, 256, 1)).float()
        fam.randomize(model, 7)
        model.save_pretrained(hf, safe_serialization=True)
        path = os.path.join(work, family + "-f32.gguf")
        fam.convert(args.llama_cpp, hf, path, "f32")
        return path

    def quantize(source, name, ftype):
        out = os.path.join(root, name + ".gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = 2
        assert llama_cpp.llama_model_quantize(source.encode(), out.encode(), params) == 0, name
        tensors = {}
        for t in gguf.GGUFReader(out).tensors:
            values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
            tensors[t.name] = dict(
                type=t.tensor_type.name, sha256=hashlib.sha256(values.tobytes()).hexdigest(), first=values[:8].tolist())
        reference[name] = tensors

    reference = {}
    llama = f32_gguf("llama")
    for name, ftype in FTYPES.items():
        quantize(llama, name, ftype)
    # One Q4_K_M file for each other family, same width: the per-family K-quant check.
    for family in ["qwen2", "qwen3", "gemma2"]:
        quantize(f32_gguf(family), family + "-Q4_K_M", FTYPES["Q4_K_M"])
    with open(os.path.join(root, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    # Two archives, each under 5 MB, that unpack into the same quants/ directory.
    second = {"F16", "BF16", "qwen2-Q4_K_M", "qwen3-Q4_K_M", "gemma2-Q4_K_M"}
    for archive, names in [("quants.tar.gz", [n for n in reference if n not in second] + ["reference"]),
                           ("quants-more.tar.gz", sorted(second))]:
        with tarfile.open(os.path.join(args.out, archive), "w:gz") as tar:
            tar.add(root, arcname="quants", recursive=False)
            for n in names:
                file = n + (".json" if n == "reference" else ".gguf")
                tar.add(os.path.join(root, file), arcname="quants/" + file)
    types = sorted({t["type"] for r in reference.values() for t in r.values()})
    print("types:", types)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
