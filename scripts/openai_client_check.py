#!/usr/bin/env python3
"""psr serve through the official openai client: streaming, stop, n, logprobs, errors, and a steered
request whose answer equals `psr generate --steer` with the same seed.

Usage: python scripts/openai_client_check.py URL MODEL_NAME PSR_EXECUTABLE STEERING_FILE
(scripts/openai-client-check.sh starts the server and calls this).
"""
import json
import subprocess
import sys

import openai

import os

url, name, psr, steering = sys.argv[1:5]
# The server is started with a key (PSR_API_KEY): the client sends it as OpenAI's clients do.
client = openai.OpenAI(base_url=url, api_key=os.environ.get("PSR_API_KEY") or "unused")
question = [{"role": "user", "content": "What should I do this weekend?"}]
checks = 0


def check(condition, what):
    global checks
    if not condition:
        sys.exit(f"openai client check failed: {what}")
    checks += 1


whole = client.chat.completions.create(model=name, messages=question, max_tokens=12, seed=3, temperature=0.8,
                                       extra_body={"steering": []})
check(whole.choices[0].message.role == "assistant" and whole.usage.completion_tokens > 0, "a chat completion")

chunks = list(client.chat.completions.create(model=name, messages=question, max_tokens=12, seed=3, temperature=0.8,
                                             stream=True, stream_options={"include_usage": True}, extra_body={"steering": []}))
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check(text == whole.choices[0].message.content, f"the stream equals the whole answer: {text!r} vs {whole.choices[0].message.content!r}")
check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens, "usage ends the stream")

many = client.chat.completions.create(model=name, messages=question, max_tokens=8, n=3, seed=1)
check([c.index for c in many.choices] == [0, 1, 2], "n choices")

greedy = client.chat.completions.create(model=name, messages=question, max_tokens=16, temperature=0)
words = greedy.choices[0].message.content.split(" ")
stop = words[2]
stopped = client.chat.completions.create(model=name, messages=question, max_tokens=16, temperature=0, stop=[stop])
expected = greedy.choices[0].message.content.split(stop)[0]
check(stopped.choices[0].message.content == expected and stopped.choices[0].finish_reason == "stop", "stop")

scored = client.chat.completions.create(model=name, messages=question, max_tokens=6, temperature=0, logprobs=True, top_logprobs=2)
content = scored.choices[0].logprobs.content
check(len(content) == scored.usage.completion_tokens and all(len(t.top_logprobs) == 2 for t in content), "logprobs")

plain = client.completions.create(model=name, prompt="The capital of France is", max_tokens=4, temperature=0)
check(plain.object == "text_completion" and plain.choices[0].text, "a text completion")
check(client.models.retrieve(name).id == name, "models.retrieve")

try:
    client.chat.completions.create(model=name, messages=question, max_tokens=-5)
    check(False, "max_tokens -5 is refused")
except openai.BadRequestError as e:
    check(e.body.get("param") == "max_tokens", f"the error names max_tokens: {e.body}")

steered = client.chat.completions.create(model=name, messages=question, max_tokens=12, seed=3, temperature=0.8,
                                         extra_body={"steering": [{"name": "rental.prosv", "factor": 2}]})
reference = json.loads(subprocess.run(
    [psr, "generate", "--prompt", question[0]["content"], "--max-tokens", "12", "--seed", "3", "--temperature", "0.8",
     "--steer", steering, "--factor", "2", "--json"], check=True, capture_output=True, text=True).stdout)["text"]
check(steered.choices[0].message.content == reference, f"steered answer equals psr generate: {steered.choices[0].message.content!r} vs {reference!r}")
check(steered.choices[0].message.content != whole.choices[0].message.content, "steering changes the answer")
if os.environ.get("PSR_API_KEY"):
    try:
        openai.OpenAI(base_url=url, api_key="not-the-key").models.list()
        check(False, "a wrong key is refused")
    except openai.AuthenticationError as e:
        check(e.status_code == 401 and e.body.get("code") == "invalid_api_key", f"401 invalid_api_key: {e.body}")
print(f"openai {openai.__version__}: {checks} checks passed")
