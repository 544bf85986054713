#!/usr/bin/env python3
"""Reads a psr-activations HDF5 file with h5py: python3 scripts/read_activations.py run.h5

Prints the provenance attributes, the examples, and per layer the shape and mean norm of base and delta.
Needs h5py and numpy (pip install h5py).
"""
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    sys.exit(f"read_activations.py needs h5py and numpy ({e.name} is missing): python3 -m pip install h5py numpy")

with h5py.File(sys.argv[1], "r") as f:
    print({k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()})
    n = int(f.attrs["n_examples"])
    offsets = f["examples/token_offset"][: n + 1]
    for e in range(min(n, 3)):
        print(e, f["examples/instruction"][e].decode()[:60], "→", f["examples/response"][e].decode()[:60],
              offsets[e + 1] - offsets[e], "tokens")
    for layer in f["layers"]:
        base, delta = f[f"layers/{layer}/base"], f[f"layers/{layer}/delta"]
        t = offsets[-1]
        print(f"layer {layer}: base {base.shape} {base.dtype}, mean |delta| {np.linalg.norm(delta[:t], axis=1).mean():.3f}")
