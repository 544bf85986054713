#!/usr/bin/env python3
"""Black-box mutation of the files the commands read, run through the real executables.

    python scripts/mutate_inputs.py gguf COUNT SEED [FILE.gguf ...]
    python scripts/mutate_inputs.py hf   COUNT SEED [MODEL_DIR ...]
    python scripts/mutate_inputs.py h5   COUNT SEED CAPTURE.h5 LAYER

Each run copies one input, alters it the way a damaged or hostile file would be altered, and runs
`psr generate` (models) or `psr fit` (activation files) on it:
- gguf: a metadata number or string byte, a tensor's dimension, type or offset, or random bytes
  (edited in place through gguf-py's reader);
- hf: a config.json or tokenizer_config.json value, a safetensors header entry (shape, dtype,
  offsets, name, removal), or random bytes;
- h5: a dataset value (NaN, inf, huge ids), a root attribute, a shortened or removed dataset, or
  random bytes (through h5py).

A result is BAD when the command crashes (a signal), hangs past 60 s, or fails without a one-line
"Error:" message; each BAD input is kept beside the script's work directory for a regression test.
Runs that succeed are listed as "ok0" for a reader to judge: some alterations leave a valid file
(the same value, a type of the same size). Needs the developer venv (gguf, h5py, numpy) and a
release build; the models default to the test fixtures, unpacked into the work directory.
"""
import json, os, random, shutil, struct, subprocess, sys, tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PSR = os.path.join(ROOT, ".build/release/psr")
WORK = "/tmp/psr-mutate"


def fixtures():
    """The family fixtures and the llama.cpp-quantized files, unpacked once."""
    os.makedirs(WORK, exist_ok=True)
    archives = [os.path.join(ROOT, "Tests/Fixtures/quants.tar.gz")]
    archives += [os.path.join(ROOT, f"Tests/Fixtures/families/{f}.tar.gz") for f in ["llama", "qwen2", "qwen3", "gemma2"]]
    for a in archives:
        with tarfile.open(a) as t:
            t.extractall(WORK, filter="data")
    ggufs, dirs = [], []
    for base, names, files in os.walk(WORK):
        ggufs += [os.path.join(base, f) for f in files if f.endswith(".gguf") and "/m-" not in base]
        if "config.json" in files and "/m-" not in base:
            dirs.append(base)
    return sorted(ggufs), sorted(dirs)


def run(arguments):
    """(status, last stderr line) of the command, status "TIMEOUT" past 60 s."""
    try:
        p = subprocess.run([PSR] + arguments, capture_output=True, text=True, timeout=60, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "TIMEOUT", ""
    return p.returncode, (p.stderr.strip().splitlines() or [""])[-1][:200]


def mutate_gguf(rng, src, dst):
    import numpy as np
    from gguf import GGUFReader
    shutil.copy(src, dst)
    r = GGUFReader(dst, "r+")
    what = rng.choice(["meta", "meta", "dim", "type", "offset", "bytes"])
    if what == "meta":
        fields = [f for f in r.fields.values() if f.data and not f.name.startswith("GGUF.")]
        f = rng.choice(fields)
        part = f.parts[rng.choice(f.data)]
        values = [0, 1, 2, 7, 255, 65535, 2**31 - 1, -1] if part.dtype.kind in "iu" else [0.0, -1.0, float("nan"), float("inf"), 1e30]
        part[0] = np.array(rng.choice(values)).astype(part.dtype)
        return f"meta {f.name}[0]={part[0]}"
    if what == "bytes":
        del r
        data = np.memmap(dst, mode="r+")
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data.flush()
        return "bytes"
    t = rng.choice(r.tensors)
    parts = t.field.parts  # name length, name, rank, dimensions, type, offset
    if what == "dim":
        k = rng.randrange(len(parts[3]))
        parts[3][k] = rng.choice([0, 1, 31, 33, 255, 256, 257, 2**31, 2**40, 2**64 - 1])
        return f"dim{k}={parts[3][k]} {t.name}"
    if what == "type":
        parts[4][0] = rng.choice([0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 20, 30, 39, 99, 2**31])
        return f"type={parts[4][0]} {t.name}"
    parts[5][0] = rng.choice([0, 1, 31, 32, 2**20, 2**40, 2**64 - 32])
    return f"offset={parts[5][0]} {t.name}"


def mutate_hf(rng, src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    values = [0, 1, 2, -1, 1 << 31, 1 << 40, 10**30, 0.5, float("nan"), None, "x", [], {}, True]
    what = rng.choice(["config", "config", "tokenizer_config", "header", "header", "bytes"])
    if what in ("config", "tokenizer_config"):
        path = f"{dst}/{what}.json"
        c = json.load(open(path))
        key = rng.choice(list(c) or ["x"])
        c[key] = rng.choice(values)
        open(path, "w").write(json.dumps(c))
        return f"{what} {key}={c[key]!r}"
    if what == "header":
        path = f"{dst}/model.safetensors"
        b = open(path, "rb").read()
        n = struct.unpack("<Q", b[:8])[0]
        h = json.loads(b[8:8 + n])
        name = rng.choice([k for k in h if k != "__metadata__"])
        field = rng.choice(["shape", "dtype", "offsets", "drop", "rename"])
        if field == "shape":
            h[name]["shape"] = rng.choice([[1], [0], list(reversed(h[name]["shape"])), [2**31, 2**31]])
        elif field == "dtype":
            h[name]["dtype"] = rng.choice(["F16", "BF16", "F32", "I8", "F64", "Q4", "U8"])
        elif field == "offsets":
            d = rng.choice([-4, 4, 2, 1 << 20])
            h[name]["data_offsets"] = [o + d for o in h[name]["data_offsets"]]
        elif field == "drop":
            del h[name]
        else:
            h[name + ".x"] = h.pop(name)
        header = json.dumps(h).encode()
        header += b" " * (-len(header) % 8)
        open(path, "wb").write(struct.pack("<Q", len(header)) + header + b[8 + n:])
        return f"header {field} {name}"
    path = rng.choice([f"{dst}/model.safetensors", f"{dst}/tokenizer.json", f"{dst}/config.json"])
    b = bytearray(open(path, "rb").read())
    for _ in range(rng.randrange(1, 10)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    open(path, "wb").write(b)
    return f"bytes {os.path.basename(path)}"


def mutate_h5(rng, src, dst):
    import h5py
    import numpy as np
    shutil.copy(src, dst)
    what = rng.choice(["bytes", "value", "value", "attribute", "shorten", "delete"])
    if what == "bytes":
        b = bytearray(open(dst, "rb").read())
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        open(dst, "wb").write(b)
        return "bytes"
    with h5py.File(dst, "r+") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        if what == "attribute":
            key = rng.choice(list(f.attrs))
            f.attrs[key] = rng.choice([-1, 0, "x", 1e30, np.nan])
            return f"attribute {key}={f.attrs[key]}"
        name = rng.choice(names)
        d = f[name]
        if what == "value" and d.dtype.kind in "iuf" and d.size:
            flat = d[...].reshape(-1).copy()
            k = rng.randrange(flat.size)
            flat[k] = rng.choice([np.nan, np.inf, -1, 1e6]) if d.dtype.kind == "f" else rng.choice([-1, 0, 10**6, 2**31 - 1])
            d[...] = flat.reshape(d.shape)
            return f"value {name}[{k}]={flat[k]}"
        data = d[...]
        del f[name]
        if what == "shorten" and data.ndim:
            f.create_dataset(name, data=data[: max(0, data.shape[0] - rng.choice([1, 2, data.shape[0]]))])
            return f"shorten {name}"
        return f"delete {name}"


def main():
    kind, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    os.makedirs(WORK, exist_ok=True)
    if kind in ("gguf", "hf"):
        ggufs, dirs = fixtures()
        sources = sys.argv[4:] or (ggufs if kind == "gguf" else dirs)
    else:
        sources, layer = [sys.argv[4]], sys.argv[5]
    bad = 0
    for i in range(count):
        src = rng.choice(sources)
        dst = os.path.join(WORK, f"m-{seed}" + {"gguf": ".gguf", "hf": "", "h5": ".h5"}[kind])
        try:
            what = {"gguf": mutate_gguf, "hf": mutate_hf, "h5": mutate_h5}[kind](rng, src, dst)
        except Exception as e:  # an alteration the file's layout does not allow: run it anyway
            what = f"(alteration failed: {e})"
        if kind == "h5":
            status, error = run(["fit", "--data", dst, "--layer", layer, "--out", os.path.join(WORK, "o.psr")])
        else:
            status, error = run(["generate", "--model", dst, "--prompt", "hi", "--max-tokens", "3"])
        if status == "TIMEOUT" or status < 0 or status >= 128 or (status != 0 and not error.startswith("Error:")):
            bad += 1
            keep = os.path.join(WORK, f"bad-{kind}-{seed}-{i}")
            (shutil.copytree if os.path.isdir(dst) else shutil.copy)(dst, keep)
            print(f"BAD {src} {what}: status {status} {error} -> {keep}", flush=True)
        elif status == 0:
            print(f"ok0 {os.path.relpath(src, WORK) if src.startswith(WORK) else src} {what}", flush=True)
    print(f"{count} inputs, {bad} bad")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
