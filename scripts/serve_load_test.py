#!/usr/bin/env python3
"""Loopback load test of `psr serve`: concurrent streaming requests with mixed steering.

Starts the server (release build, default model) with a steering directory holding a PSR file, a
PrOSV file and a llama.cpp control vector, then sends the same N streaming chat requests twice:
all at once (continuous batching), and one after another. Each request picks its own steering
(none, psr, prosv or the control vector, each with its own factor), seed and length. Every stream
must open with the assistant role, end with a finish_reason, carry usage, and close with [DONE].
Each concurrent answer is compared with its one-at-a-time answer (they should be equal: decoding is
batch-invariant; a difference fails the run only with --require-same-answers). Prints one JSON object
(throughputs, server RSS before and after) and exits non-zero on any failure. Bounded: every request
has a deadline.

Standard library only. Usage:
  python3 scripts/serve_load_test.py [--requests 32] [--max-tokens 64] [--out experiments/serve/load.jsonl]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
QUESTIONS = [
    "What should I do this weekend?", "Describe your ideal city.", "How do I get better at chess?",
    "Tell me about the moon.", "Write two sentences about autumn.", "What makes a good friend?",
    "Explain how rain forms.", "Suggest a name for a cat.",
]
STEERING = [[], [{"name": "evil", "factor": 1.5}], [{"name": "rental", "factor": 2}], [{"name": "sea", "factor": 1.0}]]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stream(url, i, max_tokens, deadline):
    body = {
        "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], "stream": True,
        "stream_options": {"include_usage": True}, "max_tokens": max(1, max_tokens - 8 * (i % 4)), "temperature": 0.8,
        "seed": 100 + i, "steering": STEERING[i % len(STEERING)],
    }
    req = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    text, role, finish, usage, done, tokens = "", False, None, None, False, 0
    with urllib.request.urlopen(req, timeout=deadline) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                done = True
                break
            chunk = json.loads(data)
            if "error" in chunk:
                raise RuntimeError(f"request {i}: {chunk['error']}")
            if chunk.get("usage"):
                usage = chunk["usage"]
            for c in chunk["choices"]:
                if c.get("error"):
                    raise RuntimeError(f"request {i}: {c['error']}")
                delta = c.get("delta", {})
                role = role or delta.get("role") == "assistant"
                text += delta.get("content", "")
                finish = c.get("finish_reason") or finish
    if not (role and finish and usage and done):
        raise RuntimeError(f"request {i}: incomplete stream (role {role}, finish {finish}, usage {usage}, done {done})")
    return {"text": text, "finish": finish, "tokens": usage["completion_tokens"]}


def run(url, n, max_tokens, concurrent, deadline):
    results, errors = [None] * n, []

    def one(i):
        try:
            results[i] = stream(url, i, max_tokens, deadline)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(f"{e}")

    start = time.time()
    if concurrent:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(deadline)
    else:
        for i in range(n):
            one(i)
    return results, errors, time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--deadline", type=float, default=600, help="seconds per request at most")
    ap.add_argument("--out", help="append the result as one JSON line to this file")
    ap.add_argument("--require-same-answers", action="store_true",
                    help="also fail when a concurrent answer differs from its one-at-a-time answer")
    args = ap.parse_args()
    steer = tempfile.mkdtemp()
    shutil.copy(os.path.join(ROOT, "experiments/psr/evil.psr"), os.path.join(steer, "evil.json"))
    shutil.copy(os.path.join(ROOT, "experiments/prosv/rental.prosv.json"), os.path.join(steer, "rental.json"))
    with tarfile.open(os.path.join(ROOT, "Tests/Fixtures/control-vectors/smollm2.cvec.tar.gz")) as t:
        t.extract("smollm2.cvec.gguf", steer, filter="data")
    os.rename(os.path.join(steer, "smollm2.cvec.gguf"), os.path.join(steer, "sea.gguf"))
    server = subprocess.Popen(
        [os.path.join(ROOT, ".build/release/psr"), "serve", "--port", "0", "--steer-dir", steer,
         "--max-batch", str(args.requests), "--max-connections", str(args.requests + 8), "--max-tokens", str(args.max_tokens)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        if "listening on" not in line:
            sys.exit(f"the server did not start: {line!r}")
        url = line.split("listening on ")[1].strip()
        rss_before = rss_mb(server.pid)
        together, errors, wall_together = run(url, args.requests, args.max_tokens, True, args.deadline)
        rss_after = rss_mb(server.pid)
        serial, serial_errors, wall_serial = run(url, args.requests, args.max_tokens, False, args.deadline)
        errors += serial_errors
        differ = [i for i in range(args.requests) if together[i] and serial[i] and together[i]["text"] != serial[i]["text"]]
        tokens = sum(r["tokens"] for r in together if r)
        record = {
            "date": time.strftime("%Y-%m-%d"),
            "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
            "requests": args.requests, "max_tokens": args.max_tokens, "completion_tokens": tokens,
            "errors": len(errors), "complete_streams": sum(r is not None for r in together),
            "answers_differing_from_serial": len(differ),
            "concurrent_seconds": round(wall_together, 2), "concurrent_tok_s": round(tokens / wall_together, 1),
            "serial_seconds": round(wall_serial, 2), "serial_tok_s": round(sum(r["tokens"] for r in serial if r) / wall_serial, 1),
            "rss_mb_before": round(rss_before), "rss_mb_after": round(rss_after),
        }
        record["speedup"] = round(record["concurrent_tok_s"] / record["serial_tok_s"], 2)
        print(json.dumps(record))
        for e in errors[:5]:
            print("error:", e, file=sys.stderr)
        for i in differ[:3]:
            print(f"request {i} differs:\n  concurrent: {together[i]['text']!r}\n  serial:     {serial[i]['text']!r}", file=sys.stderr)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
        if errors or record["complete_streams"] != args.requests or (differ and args.require_same_answers):
            sys.exit(1)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(steer)


if __name__ == "__main__":
    main()
