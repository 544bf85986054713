#!/usr/bin/env python3
"""Seed corpora for scripts/fuzz.sh from the project's real fixtures, each under 64 KiB.

  gguf/          the four family fixtures and the quantized fixtures, with their metadata (vocabulary,
                 chat template, hyperparameters) and only their tensors of under 4 KiB, one of each type
  safetensors/   the family checkpoints' headers with only their small tensors
  tokenizer-json/ the small tokenizer.json fixtures (byte-level, SentencePiece, added-token flags)
  http/          requests as clients send them
  steering/      small steering files of each kind
  hdf5/          activation files in the project's schema, from a real capture (h5py, 4-row chunks)

Usage: python fuzz/make_seeds.py --families DIR --quants DIR --sentencepiece DIR (unpacked fixtures)
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def gguf_seed(gguf, src, dst):
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, field.contents(), vtype, sub_type=sub)
    seen = set()
    for t in sorted(r.tensors, key=lambda t: t.n_bytes):
        if t.n_bytes > 4096 or t.tensor_type in seen:
            continue
        seen.add(t.tensor_type)
        w.add_tensor(t.name, np.array(t.data), raw_shape=list(reversed(t.shape.tolist())) if t.tensor_type not in (0, 1) else None,
                     raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def safetensors_seed(src, dst):
    raw = open(src, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out, blob = {}, b""
    for name, e in header.items():
        if name == "__metadata__":
            out[name] = e
            continue
        b, end = e["data_offsets"]
        if end - b > 2048:
            continue
        out[name] = dict(e, data_offsets=[len(blob), len(blob) + end - b])
        blob += data[b:end]
    h = json.dumps(out).encode()
    open(dst, "wb").write(struct.pack("<Q", len(h)) + h + blob)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", required=True)
    ap.add_argument("--quants", required=True)
    ap.add_argument("--sentencepiece", required=True)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--capture", help="a capture of the default model (capture … --layers 3,12), for hdf5/")
    ap.add_argument("--out", default="fuzz/corpus")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.llama_cpp, "gguf-py"))
    import gguf

    for d in ["gguf", "safetensors", "tokenizer-json", "http", "steering", "hdf5"]:
        os.makedirs(os.path.join(args.out, d), exist_ok=True)
    for fam in sorted(os.listdir(args.families)):
        gguf_seed(gguf, os.path.join(args.families, fam, "model.gguf"), os.path.join(args.out, "gguf", fam + ".gguf.bin"))
        safetensors_seed(os.path.join(args.families, fam, "hf", "model.safetensors"),
                         os.path.join(args.out, "safetensors", fam + ".st.bin"))
    for q in sorted(os.listdir(args.quants)):
        if q.endswith(".gguf"):
            gguf_seed(gguf, os.path.join(args.quants, q), os.path.join(args.out, "gguf", q + ".bin"))
    gguf_seed(gguf, os.path.join(args.sentencepiece, "llama2.gguf"), os.path.join(args.out, "gguf", "sentencepiece.gguf.bin"))
    fixtures = "Tests/Fixtures/tokenizers"
    for name, path in [("qwen2-small", f"{fixtures}/qwen2-small/tokenizer.json"), ("bos-normalized", f"{fixtures}/bos/normalized/tokenizer.json"),
                       ("llama2-spm", os.path.join(args.sentencepiece, "llama2-hf", "tokenizer.json")),
                       ("gemma-spm", os.path.join(args.sentencepiece, "gemma-hf", "tokenizer.json")),
                       ("family", os.path.join(args.families, "llama", "hf", "tokenizer.json"))]:
        data = json.load(open(path))
        open(os.path.join(args.out, "tokenizer-json", name + ".json"), "w").write(json.dumps(data, ensure_ascii=False))
    body = json.dumps({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                       "max_tokens": 8, "temperature": 0.5, "seed": 1})
    for i, req in enumerate([f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n{body}",
                             "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", body]):
        open(os.path.join(args.out, "http", f"request-{i}.txt"), "w").write(req)
    fp = {"name": "m", "sha256": "ab", "layerCount": 4, "modelDimension": 4}
    common = {"format": "psr-steering", "format_version": 1, "model": fp, "tokenizer": "t", "chat_template": "chatml",
              "created": "2026-11-28T00:00:00Z", "alpha": 1, "training": {"seed": 3}}
    files = {
        "fssv": dict(common, kind="fssv", gates=[], vectors=[{"layer": 2, "positions": "all", "alpha": 1.5, "vector": [0.1, -0.2, 0.3, 0.4]}]),
        "prosv": dict(common, kind="prosv", gates=[], vectors=[{"layer": 1, "positions": "p2+s2", "alpha": 2, "vector": [1, 0, 0, 0]}]),
        "psr": dict(common, kind="psr", vectors=[], gates=[{"layer": 3, "weight": [0.5, 0, 0, 1], "bias": 0.1, "direction": [0, 1, 0, 0]}]),
    }
    for name, f in files.items():
        open(os.path.join(args.out, "steering", name + ".json"), "w").write(json.dumps(f))
    if args.capture:
        hdf5_seeds(args.capture, os.path.join(args.out, "hdf5"))


def hdf5_seeds(source, out):
    """Small activation files in the project's schema, copied from a real capture's first examples
    (HDF5 format versions that libhdf5 1.10 reads; 4-row chunks so that each file stays small)."""
    import h5py

    with h5py.File(source, "r") as src:
        n = min(2, int(src.attrs["n_examples"]))
        offsets = src["examples/token_offset"][: n + 1]
        rows = int(offsets[-1])
        for name, dims, f16, gzip in [("two-examples", 8, False, None), ("float16-gzip", 8, True, 4)]:
            with h5py.File(os.path.join(out, name + ".h5"), "w", libver=("earliest", "v110")) as dst:
                for k, v in src.attrs.items():
                    dst.attrs[k] = v
                dst.attrs["d_model"] = dims
                dst.attrs["n_examples"] = n
                strings = h5py.string_dtype("utf-8")
                for k in ["instruction", "response"]:
                    dst.create_dataset(f"examples/{k}", data=[s.decode() if isinstance(s, bytes) else s for s in src[f"examples/{k}"][:n]],
                                       dtype=strings, maxshape=(None,), chunks=(4,))
                dst.create_dataset("examples/token_offset", data=offsets, maxshape=(None,), chunks=(4,))
                dst.create_dataset("tokens/id", data=src["tokens/id"][:rows], maxshape=(None,), chunks=(4,), compression=gzip)
                for layer in src.attrs["layers"]:
                    for kind in ["base", "delta"]:
                        values = src[f"layers/{layer}/{kind}"][:rows, :dims]
                        dst.create_dataset(f"layers/{layer}/{kind}", data=values.astype("float16" if f16 else "float32"),
                                           maxshape=(None, dims), chunks=(4, dims), compression=gzip)


if __name__ == "__main__":
    main()
