#!/usr/bin/env python3
"""Tokenizer throughput: `psr tokenize --no-bos TEXT` on the default model (byte-level BPE) and Gemma 3 270M
(SentencePiece with 6,414 special and user-defined pieces), for one or more `psr` binaries in the same run.

Texts, each cut to 120,000 bytes (under Linux's 128 KiB limit on one argument):
  alpaca   AlpacaEval's GPT-4 answers (experiments/data/alpaca_eval) joined by blank lines;
  words    random 3-12-letter words (seed 0), so that the BPE word cache rarely hits;
  markup   the answers wrapped in HTML tags and Gemma 3 chat turns, so that '<' is frequent;
  x40k     40,000 x's, one pre-tokenized word (the quadratic merge case).
Wall seconds include loading the model; the best of --repeats runs is printed, with a one-letter run
(the load alone) beside it. One JSON line per (binary, model, text).

Usage: python3 experiments/bench/tokenizer_throughput.py [--psr LABEL=PATH ...] [--repeats 3]
"""
import argparse
import json
import os
import random
import subprocess
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODELS = {"smollm2": "models/SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3-270m": "models/gemma-3-270m-q4_k_m.gguf"}
LIMIT = 120_000


def cut(text):
    data = text.encode()[:LIMIT]
    return data.decode(errors="ignore")


def texts():
    answers = []
    with open(os.path.join(ROOT, "experiments/data/alpaca_eval/gpt4_outputs.jsonl")) as f:
        for line in f:
            answers.append(json.loads(line)["output"])
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(20_000))
    markup = "".join(f"<start_of_turn>user\n<div><p>{a[:300]}</p><br/><table><tr><td>{i}</td></tr></table></div>"
                     f"<end_of_turn>\n" for i, a in enumerate(answers))
    return {"alpaca": cut("\n\n".join(answers)), "words": cut(words), "markup": cut(markup), "x40k": "x" * 40_000}


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def best(argv, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--psr", action="append", default=[], help="LABEL=PATH of a psr binary (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    binaries = [p.split("=", 1) for p in args.psr] or [["head", ".build/release/psr"]]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    cpu = cpu_model()
    corpus = texts()
    for model, path in MODELS.items():
        for label, binary in binaries:
            load = best([binary, "tokenize", "--model", path, "--no-bos", "a"], args.repeats)
            for name, text in corpus.items():
                seconds = best([binary, "tokenize", "--model", path, "--no-bos", "--", text], args.repeats)
                print(json.dumps({"date": time.strftime("%Y-%m-%d"), "commit": commit, "cpu": cpu, "binary": label,
                                  "model": model, "text": name, "bytes": len(text.encode()), "seconds": round(seconds, 3),
                                  "load_seconds": round(load, 3)}), flush=True)


if __name__ == "__main__":
    main()
