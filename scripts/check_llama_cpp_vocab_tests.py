#!/usr/bin/env python3
"""llama.cpp's own tokenizer tests, run against `psr tokenize`.

llama.cpp's source (models/ in llama-cpp-python's sdist, vendor/llama.cpp) carries vocabulary-only
GGUF files (ggml-vocab-<name>.gguf) with test texts (.inp, separated by "\\n__ggml_vocab_test__\\n")
and the ids llama.cpp's test-tokenizer-0 expects (.out, one line of ids per text), tokenized without
BOS and without parsing special tokens. This runs each text through `psr tokenize --no-bos` and
compares the ids exactly. Standard library only; exits 1 on any difference.

  python3 scripts/check_llama_cpp_vocab_tests.py --llama-cpp PATH/llama.cpp [--psr .build/release/psr] [NAME ...]

NAME defaults to the vocabularies whose tokenizers psr reads: llama-spm and phi-3 (SentencePiece),
llama-bpe (Llama 3) and qwen2 (byte-level BPE).
"""
import argparse
import json
import pathlib
import subprocess
import sys

SEPARATOR = b"\n__ggml_vocab_test__\n"


def cases(models: pathlib.Path, name: str):
    texts = (models / f"ggml-vocab-{name}.gguf.inp").read_bytes().split(SEPARATOR)
    # The .inp file ends with the separator's text without its final newline.
    if texts and texts[-1].endswith(SEPARATOR.rstrip(b"\n")):
        texts[-1] = texts[-1][: -len(SEPARATOR.rstrip(b"\n"))]
    outs = (models / f"ggml-vocab-{name}.gguf.out").read_text().split("\n")
    if outs and outs[-1] == "" and len(outs) == len(texts) + 1:
        outs.pop()
    if len(outs) != len(texts):
        sys.exit(f"{name}: {len(texts)} texts but {len(outs)} lines of ids")
    return [(t.decode("utf-8"), [int(x) for x in o.split()]) for t, o in zip(texts, outs)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp", required=True, type=pathlib.Path, help="llama.cpp's source directory")
    ap.add_argument("--psr", default=".build/release/psr", help="the psr binary")
    ap.add_argument("names", nargs="*", default=["llama-spm", "phi-3", "llama-bpe", "qwen2"])
    args = ap.parse_args()
    models = args.llama_cpp / "models"
    failed = 0
    for name in args.names:
        vocab = models / f"ggml-vocab-{name}.gguf"
        passed = 0
        tests = cases(models, name)
        for text, expected in tests:
            run = subprocess.run([args.psr, "tokenize", "--model", str(vocab), "--no-bos", "--", text], capture_output=True)
            got = json.loads(run.stdout) if run.returncode == 0 else run.stderr.decode().strip()
            if got == expected:
                passed += 1
            else:
                failed += 1
                print(f"{name}: {text!r}: expected {expected}, got {got}")
        print(f"{name}: {passed} of {len(tests)} texts give llama.cpp's ids")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
