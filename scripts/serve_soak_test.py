#!/usr/bin/env python3
"""Soak test of `psr serve`: mixed requests for a fixed time, then a verdict on errors and memory.

Starts the server (release build, default model) on 127.0.0.1 with a steering directory (a PSR file, a
PrOSV file and a llama.cpp control vector) and keeps `--clients` threads sending requests until
`--minutes` have passed or `--max-requests` were sent, whichever comes first. Each request is one of:
  - a chat completion, streamed or not, steered (one of the three files, or the server default) or not;
  - a legacy completion (`/v1/completions`);
  - a stream that the client abandons after its first chunk (a disconnect mid-stream);
  - a malformed body: invalid JSON, a wrong type, an unknown field, a bad steering name, a huge
    max_tokens, an empty message list. These must get a 4xx answer in OpenAI's error shape.
Everything is loopback only; every request has a deadline; the loop stops by itself.

The server's RSS is read from /proc at the start (after a warm-up of `--warmup` requests) and every
`--sample-seconds`; the run fails when any valid request fails, a malformed one gets anything but 4xx,
the server dies, or the final RSS exceeds the warm-up RSS by more than `--rss-growth` (default 5%).
Prints one JSON object (requests served, errors by kind, p50/p99 latency, RSS at start and end) and
appends it to `--out` when given.

Standard library only. Usage:
  python3 scripts/serve_soak_test.py --minutes 30 --out experiments/serve/soak.jsonl
  python3 scripts/serve_soak_test.py --minutes 2          # the CI version
"""
import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
QUESTIONS = [
    "What should I do this weekend?", "Describe your ideal city.", "How do I get better at chess?",
    "Tell me about the moon.", "Write two sentences about autumn.", "What makes a good friend?",
]
STEERING = [None, [], [{"name": "evil", "factor": 1.5}], [{"name": "rental", "factor": 2}], [{"name": "sea", "factor": 1.0}]]
# Each malformed body, with what it tests. All must be answered 4xx.
MALFORMED = [
    (b"{not json", "invalid JSON"),
    (b'{"messages": "hello"}', "messages of the wrong type"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "frobnicate": 1}', "an unknown field"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "steering": [{"name": "no-such-file"}]}', "an unknown steering name"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000000}', "max_tokens past the limit"),
    (b'{"messages": []}', "no message"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": -3}', "a negative temperature"),
    (b"\xff\xfe\x00", "bytes that are not UTF-8"),
]


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


class Soak:
    def __init__(self, host, port, max_tokens, deadline):
        self.host, self.port, self.max_tokens, self.deadline = host, port, max_tokens, deadline
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []
        self.latencies = []

    def note(self, kind, seconds=None, error=None):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if seconds is not None:
                self.latencies.append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")

    def post(self, path, body):
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.deadline)
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        return c, c.getresponse()

    def chat_body(self, rng, stream):
        body = {"messages": [{"role": "user", "content": rng.choice(QUESTIONS)}], "stream": stream,
                "max_tokens": rng.randint(1, self.max_tokens), "temperature": rng.choice([0, 0.7, 1.0]),
                "seed": rng.randrange(2**31)}
        steering = rng.choice(STEERING)
        if steering is not None:
            body["steering"] = steering
        return body

    def one(self, rng):
        kind = rng.choices(["chat", "stream", "completion", "disconnect", "malformed"], [4, 4, 1, 1, 2])[0]
        start = time.time()
        try:
            if kind == "malformed":
                body, what = rng.choice(MALFORMED)
                c, r = self.post("/v1/chat/completions", body)
                data = r.read()
                c.close()
                if not 400 <= r.status < 500:
                    return self.note(kind, error=f"{what}: HTTP {r.status}, expected 4xx")
                if "error" not in json.loads(data):
                    return self.note(kind, error=f"{what}: the answer has no error object")
                return self.note(kind)
            if kind == "completion":
                body = {"prompt": rng.choice(QUESTIONS), "max_tokens": rng.randint(1, self.max_tokens), "seed": rng.randrange(1000)}
                c, r = self.post("/v1/completions", json.dumps(body).encode())
                data = json.loads(r.read())
                c.close()
                if r.status != 200 or "choices" not in data:
                    return self.note(kind, error=f"HTTP {r.status}: {str(data)[:200]}")
                return self.note(kind, time.time() - start)
            stream = kind in ("stream", "disconnect")
            c, r = self.post("/v1/chat/completions", json.dumps(self.chat_body(rng, stream)).encode())
            if r.status != 200:
                data = r.read()
                c.close()
                return self.note(kind, error=f"HTTP {r.status}: {data[:200]!r}")
            if kind == "disconnect":
                r.readline()  # the first event, then hang up without reading the rest
                # http.client hands a Connection: close socket to the response (c.sock is then None):
                # closing the response closes the socket, which the server sees mid-stream.
                r.close()
                c.close()
                return self.note(kind)
            if not stream:
                data = json.loads(r.read())
                c.close()
                if not data.get("choices"):
                    return self.note(kind, error=f"no choices: {str(data)[:200]}")
                return self.note(kind, time.time() - start)
            done, finish = False, None
            for raw in r:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                if line[6:] == "[DONE]":
                    done = True
                    break
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    raise RuntimeError(chunk["error"])
                for choice in chunk["choices"]:
                    finish = choice.get("finish_reason") or finish
            c.close()
            if not (done and finish):
                return self.note(kind, error=f"incomplete stream (finish {finish}, done {done})")
            return self.note(kind, time.time() - start)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            return self.note(kind, error=f"{type(e).__name__}: {e}")


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30, help="how long to send requests (default 30)")
    ap.add_argument("--max-requests", type=int, default=100000, help="stop after this many requests at most")
    ap.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    ap.add_argument("--max-tokens", type=int, default=24, help="largest max_tokens a request asks for")
    ap.add_argument("--warmup", type=int, default=40, help="requests before the starting RSS is read")
    ap.add_argument("--rss-growth", type=float, default=0.05, help="largest allowed RSS growth after warm-up (0.05 = 5%%)")
    ap.add_argument("--sample-seconds", type=float, default=30, help="RSS sampling interval")
    ap.add_argument("--deadline", type=float, default=120, help="seconds per request at most")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="append the result as one JSON line to this file")
    args = ap.parse_args()
    if not (0 < args.minutes <= 24 * 60 and 1 <= args.clients <= 64 and args.max_requests >= 1):
        sys.exit("--minutes must be in (0, 1440], --clients in 1...64, --max-requests at least 1")

    steer = tempfile.mkdtemp()
    shutil.copy(os.path.join(ROOT, "experiments/psr/evil.psr"), os.path.join(steer, "evil.json"))
    shutil.copy(os.path.join(ROOT, "experiments/prosv/rental.prosv.json"), os.path.join(steer, "rental.json"))
    with tarfile.open(os.path.join(ROOT, "Tests/Fixtures/control-vectors/smollm2.cvec.tar.gz")) as t:
        t.extract("smollm2.cvec.gguf", steer, filter="data")
    os.rename(os.path.join(steer, "smollm2.cvec.gguf"), os.path.join(steer, "sea.gguf"))
    server = subprocess.Popen(
        [os.path.join(ROOT, ".build/release/psr"), "serve", "--port", "0", "--steer-dir", steer, "--max-batch", "16",
         "--max-connections", str(args.clients + 8), "--max-tokens", str(args.max_tokens)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    failures = []
    try:
        line = server.stdout.readline()
        if "listening on" not in line:
            sys.exit(f"the server did not start: {line!r}")
        url = line.split("listening on ")[1].strip()  # http://127.0.0.1:PORT/v1
        host, port = url.split("//")[1].split("/")[0].split(":")
        if host not in ("127.0.0.1", "localhost"):
            sys.exit(f"refusing to soak a server that is not on loopback: {host}")
        soak = Soak(host, int(port), args.max_tokens, args.deadline)

        def clients(stop_at, limit, seed_offset):
            """Runs --clients threads until stop_at or `limit` requests; returns the threads."""
            sent = [0]
            sent_lock = threading.Lock()

            def client(k):
                rng = random.Random(args.seed * 1000 + seed_offset + k + 1)
                while time.time() < stop_at and server.poll() is None:
                    with sent_lock:
                        if sent[0] >= limit:
                            return
                        sent[0] += 1
                    soak.one(rng)

            threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(args.clients)]
            for t in threads:
                t.start()
            return threads

        # Warm-up at the soak's own concurrency, so that the baseline RSS already holds the batch
        # buffers and caches that concurrent requests need.
        for t in clients(time.time() + args.deadline * 4, args.warmup, 10_000):
            t.join()
        time.sleep(1)
        rss_start = rss_mb(server.pid)
        samples = [(0.0, round(rss_start, 1))]
        warm = {"requests": sum(soak.counts.values()), "errors": list(soak.errors)}
        soak.counts, soak.errors, soak.latencies = {}, [], []

        stop_at = time.time() + args.minutes * 60
        started = time.time()
        threads = clients(stop_at, args.max_requests, 0)
        next_sample = started + args.sample_seconds
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if time.time() >= next_sample:
                samples.append((round(time.time() - started), round(rss_mb(server.pid), 1)))
                next_sample += args.sample_seconds
            if time.time() > stop_at + args.deadline + 30:
                failures.append("client threads did not finish within the deadline after the soak ended")
                break
        wall = time.time() - started
        time.sleep(1)  # let the server finish answering abandoned streams
        rss_end = rss_mb(server.pid)
        samples.append((round(wall), round(rss_end, 1)))
        alive = server.poll() is None
        growth = (rss_end - rss_start) / rss_start
        record = {
            "date": time.strftime("%Y-%m-%d"),
            "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
            "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown"),
            "minutes": round(wall / 60, 2), "clients": args.clients, "max_tokens": args.max_tokens,
            "warmup_requests": warm["requests"], "warmup_errors": len(warm["errors"]),
            "requests": sum(soak.counts.values()), "by_kind": soak.counts, "errors": len(soak.errors),
            "p50_s": round(percentile(soak.latencies, 0.5) or 0, 3), "p99_s": round(percentile(soak.latencies, 0.99) or 0, 3),
            "rss_mb_after_warmup": round(rss_start, 1), "rss_mb_end": round(rss_end, 1), "rss_growth": round(growth, 4),
            "rss_samples": samples, "server_alive": alive,
        }
        print(json.dumps(record))
        for e in soak.errors[:10]:
            print("error:", e, file=sys.stderr)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
        if soak.errors or warm["errors"]:
            failures.append(f"{len(soak.errors) + len(warm['errors'])} requests failed")
            for e in warm["errors"][:5]:
                print("error (warm-up):", e, file=sys.stderr)
        if not alive:
            failures.append("the server died")
        if growth > args.rss_growth:
            failures.append(f"RSS grew {growth:.1%} after warm-up, more than {args.rss_growth:.0%}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(steer)
    if failures:
        sys.exit("soak: " + "; ".join(failures))
    print("soak: passed", file=sys.stderr)


if __name__ == "__main__":
    main()
