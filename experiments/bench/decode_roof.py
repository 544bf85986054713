#!/usr/bin/env python3
"""Single-stream decode beside the memory roof: how much of the machine's read bandwidth each engine's decode uses.

Decoding one stream reads every weight once a token, so tok/s × file bytes is the engine's read rate. In each round
(engines alternated, nothing else running), on one core and on two:
  roof       experiments/bench/read_bandwidth.c over a 1 GB buffer (best of 5 passes), GB/s;
  psr        `psr bench --weights native --compute int8 --only decode --decode-tokens 32 --runs 3` (median);
  llama.cpp  llama-cpp-python, 16 prompt tokens then 32 decoded one by one (best of 3).
One core is `taskset -c 0` for psr (its pool then has one core) and n_threads=1 for llama.cpp. One JSON line per
measurement, with the CPU model.

    python experiments/bench/decode_roof.py MODEL.gguf [--psr .build/release/psr] [--rounds 3]

Needs llama-cpp-python (a venv outside the repo) and a C compiler.
"""
import argparse, json, os, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--psr", default=".build/release/psr")
ap.add_argument("--rounds", type=int, default=3)
args = ap.parse_args()

LLAMA = r"""
import sys, time, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=int(sys.argv[2]), n_batch=64, verbose=False)
best = 0
for r in range(3):
    llm.reset(); llm.eval([(i * 7919) % 300 + 3 for i in range(16)])
    t = time.time()
    for i in range(32): llm.eval([(i * 31) % 300 + 3])
    best = max(best, 32 / (time.time() - t))
print(best)
"""


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


roof = os.path.join(tempfile.mkdtemp(), "read_bandwidth")
subprocess.run(["cc", "-O2", "-march=native", "-pthread", os.path.join(here, "read_bandwidth.c"), "-o", roof], check=True)
gb = os.path.getsize(args.model) / 1e9
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here).stdout.strip()
base = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "cpu": cpu_model(), "file": os.path.basename(args.model),
        "file_gb": round(gb, 3)}
for round_ in range(args.rounds):
    for cores in (1, 2):
        line = dict(base, round=round_, cores=cores)
        line["roof_gb_s"] = json.loads(subprocess.run([roof, "1024", str(cores), "5"], check=True, capture_output=True,
                                                      text=True).stdout)["read_gb_s"]
        pin = ["taskset", "-c", "0"] if cores == 1 else []
        bench = json.loads(subprocess.run(pin + [args.psr, "bench", "--model", args.model, "--weights", "native", "--compute",
                                                 "int8", "--only", "decode", "--decode-tokens", "32", "--runs", "3", "--json"],
                                          check=True, capture_output=True, text=True).stdout)
        line["psr_tok_s"] = bench["decode_tok_s"]
        line["llama_cpp_tok_s"] = round(float(subprocess.run([sys.executable, "-c", LLAMA, args.model, str(cores)], check=True,
                                                             capture_output=True, text=True).stdout), 2)
        for engine in ("psr", "llama_cpp"):
            rate = line[f"{engine}_tok_s"] * gb
            line[f"{engine}_gb_s"] = round(rate, 1)
            line[f"{engine}_of_roof"] = round(rate / line["roof_gb_s"], 3)
        line["ratio"] = round(line["psr_tok_s"] / line["llama_cpp_tok_s"], 3)
        print(json.dumps(line), flush=True)
