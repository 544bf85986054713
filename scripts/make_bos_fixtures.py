#!/usr/bin/env python3
"""Where a document's BOS token comes from in a tokenizer.json directory, with transformers' own ids.

From the small Llama-3-style tokenizer.json of make_tokenizer_fixtures.py (Tests/Fixtures/tokenizers/
llama3-small), writes Tests/Fixtures/tokenizers/bos/:
  template/      a TemplateProcessing post-processor (inside a Sequence with ByteLevel, as Llama 3's
                 file has it) that puts <|endoftext|> first; tokenizer_config.json names it bos_token
  config-off/    the same, with tokenizer_config.json's add_bos_token false (transformers 5 ignores it)
  config-on/     no post-processor, tokenizer_config.json's add_bos_token true (ignored too)
  none/          no post-processor and no add_bos_token (Qwen's and SmolLM's case)
  normalized/    an NFC normalizer and two added tokens spelt in decomposed form: "ke\u0301y"
                 (normalized: true, matched after NFC, so "kéy" matches too) and "<e\u0301>" (normalized: false, matched
                 in the raw text only)
  reference.jsonl  {"dir", "text", "ids"}: AutoTokenizer.from_pretrained(dir)(text)["input_ids"]
                 (add_special_tokens on) for every directory and text

Usage: python scripts/make_bos_fixtures.py [--out Tests/Fixtures/tokenizers/bos]
"""
import argparse
import copy
import json
import os
import unicodedata

TEXTS = ["Hello world", "", " leading space", "<|im_start|>user\nHi<|im_end|>", "<|endoftext|>twice",
         "café ke\u0301y and kéy, <e\u0301> and <é> 12345", "trailing\n\n", "ke\u0301ykéy", "数字 123 emoji 🚀"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="Tests/Fixtures/tokenizers/llama3-small/tokenizer.json")
    ap.add_argument("--out", default="Tests/Fixtures/tokenizers/bos")
    args = ap.parse_args()
    from transformers import AutoTokenizer

    base = json.load(open(args.source))
    template = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [1200], "tokens": ["<|endoftext|>"]}}}]}
    variants = {
        "template": (template, {}),
        "config-off": (template, {"add_bos_token": False}),
        "config-on": (None, {"add_bos_token": True}),
        "none": (None, {}),
        "normalized": (None, {}),
    }
    rows = []
    for name, (processor, extra) in variants.items():
        tj = copy.deepcopy(base)
        tj["post_processor"] = processor
        if name == "normalized":
            tj["normalizer"] = {"type": "NFC"}
            n = len(tj["model"]["vocab"]) + len(tj["added_tokens"])
            for i, (content, normalized) in enumerate([("ke\u0301y", True), ("<e\u0301>", False)]):
                tj["added_tokens"].append({"id": n + i, "content": content, "single_word": False, "lstrip": False,
                                           "rstrip": False, "normalized": normalized, "special": False})
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        json.dump(tj, open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False, indent=1)
        config = {"eos_token": "<|im_end|>", "bos_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast"}
        config.update(extra)
        json.dump(config, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
        tok = AutoTokenizer.from_pretrained(d)
        for t in TEXTS:
            rows.append({"dir": name, "text": t, "ids": tok(t)["input_ids"]})
    with open(os.path.join(args.out, "reference.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    for name in variants:
        print(name, [r["ids"][:1] for r in rows if r["dir"] == name][:3])


if __name__ == "__main__":
    main()
