#!/usr/bin/env python3
"""Reference outputs of transformers (fp32) for the real Gemma 3 270M that scripts/setup.sh fetches.

For each prompt of experiments/families/real_model_prompts.json (raw text), and two long ones (505 and 700 tokens, so that
the 512-token sliding window is crossed while decoding and exceeded by the prompt), transformers' own GGUF loader reads
models/gemma-3-270m-q4_k_m.gguf (every tensor dequantized to fp32) and its tokenizer; written per line to
Tests/Fixtures/gemma3-270m/transformers.jsonl: `prompt`, `prompt_ids` (transformers' tokenizer, BOS first),
`top` (the 20 highest [id, logit] after the prompt) and `greedy` (24 greedy ids).

    python scripts/make_gemma3_270m_reference.py    # torch, transformers, accelerate, gguf, sentencepiece
"""
import json, os
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
prompts = json.load(open(os.path.join(root, "experiments/families/real_model_prompts.json")))
models, name = os.path.join(root, "models"), "gemma-3-270m-q4_k_m.gguf"
tokenizer = AutoTokenizer.from_pretrained(models, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(models, gguf_file=name, dtype=torch.float32).eval()
# Two long prompts, so that the 512-token sliding window matters: one whose greedy tokens cross it (505 prompt
# tokens), one longer than it (700). Cut from AlpacaEval's GPT-4 answers, at the first whitespace where the
# prompt reaches its length.
answers = "\n\n".join(json.loads(line)["output"]
                       for line in open(os.path.join(root, "experiments/data/alpaca_eval/gpt4_outputs.jsonl")))
long_prompts = []
for length in (505, 700):
    cut = 0
    while len(tokenizer(answers[:cut], add_special_tokens=True)["input_ids"]) < length:
        cut = answers.index(" ", cut + 1)
    long_prompts.append(answers[:cut])
out = os.path.join(root, "Tests/Fixtures/gemma3-270m/transformers.jsonl")
with open(out, "w") as f:
    for prompt in prompts + long_prompts:
        ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x).logits[0, -1]
            greedy = model.generate(x, max_new_tokens=24, do_sample=False)[0, len(ids):].tolist()
        top = torch.topk(logits, 20)
        f.write(json.dumps({"prompt": prompt, "prompt_ids": ids, "greedy": greedy,
                            "top": [[int(i), round(float(v), 5)] for v, i in zip(top.values, top.indices)]},
                           ensure_ascii=False) + "\n")
print("wrote", out)
