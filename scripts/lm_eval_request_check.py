#!/usr/bin/env python3
"""The request shapes lm-eval's `local-completions` model sends, against a running `psr serve`,
with the standard library only (CI runs it from scripts/openai-client-check.sh):

- GET /tokenizer_info and POST /tokenize, which lm-eval probes to tokenize with the server's own
  tokenizer;
- a log-likelihood request: a list of token-id lists, echo, logprobs 1, max_tokens 1, temperature 0;
- the legacy logprobs shape (tokens, token_logprobs with null first, top_logprobs, text_offset);
- max_tokens 0, a list of strings, and the same request steered.

    python3 scripts/lm_eval_request_check.py URL STEERING_NAME   (URL ends in /v1; key in PSR_API_KEY)
"""
import json
import math
import os
import sys
import urllib.error
import urllib.request

base, steering = sys.argv[1].rstrip("/"), sys.argv[2]
root = base[: -len("/v1")] if base.endswith("/v1") else base
headers = {"Content-Type": "application/json"}
if os.environ.get("PSR_API_KEY"):
    headers["Authorization"] = "Bearer " + os.environ["PSR_API_KEY"]
failures = 0


def call(url, body=None):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


status, info = call(root + "/tokenizer_info")
check(status == 200 and isinstance(info.get("eos_token"), str), "lm-eval: /tokenizer_info names the end-of-sequence token")
status, tokenized = call(root + "/tokenize", {"prompt": "The capital of France is", "add_special_tokens": False})
context = tokenized.get("tokens", [])
status, continuation = call(root + "/tokenize", {"prompt": " Paris", "add_special_tokens": False})
continuation = continuation.get("tokens", [])
check(status == 200 and context and continuation and all(isinstance(t, int) for t in context), "lm-eval: /tokenize gives token ids")

request = {"model": "psr", "prompt": [context + continuation], "temperature": 0, "max_tokens": 1, "logprobs": 1, "seed": 1234, "echo": True}
status, answer = call(base + "/completions", request)
choice = answer.get("choices", [{}])[0]
logprobs = choice.get("logprobs") or {}
scores = logprobs.get("token_logprobs", [])
top = logprobs.get("top_logprobs", [])
n = len(context) + len(continuation)
check(status == 200 and len(scores) == n + 1 and len(top) == n + 1, f"lm-eval: echo returns the {n} prompt tokens and the new one")
check(scores[:1] == [None] and top[:1] == [None], "lm-eval: the first token is unscored (null)")
check(len(logprobs.get("tokens", [])) == n + 1 and len(logprobs.get("text_offset", [])) == n + 1, "lm-eval: tokens and text_offset per token")
# lm-eval's own reading (parse_logprobs): the continuation's tokens, [ctxlen:-1].
ctxlen = len(context)
continuation_scores = scores[ctxlen:-1]
greedy = all(s == max(t.values()) for s, t in zip(continuation_scores, top[ctxlen:-1]))
check(all(isinstance(s, float) and s <= 0 and math.isfinite(s) for s in continuation_scores), "lm-eval: finite log-probabilities")
print(f"     log p(' Paris' | 'The capital of France is') = {sum(continuation_scores):.4f}, greedy {greedy}")

status, zero = call(base + "/completions", dict(request, max_tokens=0))
zero_scores = (zero.get("choices", [{}])[0].get("logprobs") or {}).get("token_logprobs", [])
check(status == 200 and zero_scores == scores[:-1], "max_tokens 0: the same prompt scores, no new token")
status, texts = call(base + "/completions", {"prompt": ["One, two,", "Red, green,"], "max_tokens": 2, "temperature": 0})
check(status == 200 and [c["index"] for c in texts.get("choices", [])] == [0, 1], "a list of string prompts: a choice each")
status, steered = call(base + "/completions", dict(request, steering=[{"name": steering, "factor": 4}]))
steered_scores = (steered.get("choices", [{}])[0].get("logprobs") or {}).get("token_logprobs", [])
check(status == 200 and len(steered_scores) == len(scores) and steered_scores[1:-1] != scores[1:-1], "steered: the prompt's scores change")
status, refused = call(base + "/completions", dict(request, logprobs=6))
check(status == 400 and refused.get("error", {}).get("param") == "logprobs", "logprobs 6 is refused, naming logprobs")
sys.exit(1 if failures else 0)
