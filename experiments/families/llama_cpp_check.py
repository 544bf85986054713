#!/usr/bin/env python3
"""llama.cpp on the tiny family fixtures' GGUF files, against transformers' reference logits.

The project's own tests check its engine against transformers (FamilyReferenceTests); this checks that
llama.cpp reads the same files the same way, so that the engine, transformers and llama.cpp agree. For
each fixture it evaluates reference.json's 20 ids with llama-cpp-python (logits of every position) and
reports top-1 agreement with transformers and the worst error of the top-10 logit gaps.

Usage (a venv with llama-cpp-python and numpy): python experiments/families/llama_cpp_check.py WORKDIR
"""
import json, os, sys, tarfile, numpy as np
import llama_cpp
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests/Fixtures/families")
work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/llama-cpp-check"
for fam in ["gemma3", "phi3", "qwen3moe", "mixtral", "gemma2", "qwen3"]:
    d = os.path.join(work, fam)
    if not os.path.exists(d):
        with tarfile.open(f"{root}/{fam}.tar.gz") as t: t.extractall(work, filter="data")
    ref = json.load(open(f"{d}/reference.json"))
    ids = ref["ids"]
    for name in ["model.gguf"] + (["model-q8_0.gguf"] if os.path.exists(f"{d}/model-q8_0.gguf") else []):
        llm = llama_cpp.Llama(model_path=f"{d}/{name}", n_ctx=64, logits_all=True, verbose=False, n_threads=2)
        llm.eval(ids)
        logits = np.array(llm.scores[: len(ids)])
        worst = 0.0; agree = 0
        for p in range(len(ids)):
            top = ref["top_ids"][p]; vals = ref["top_logits"][p]
            row = logits[p]
            agree += int(np.argmax(row) == top[0])
            for t, v in zip(top, vals):
                worst = max(worst, abs((row[t] - row[top[0]]) - (v - vals[0])))
        print(f"{fam} {name}: top-1 agreement {agree}/{len(ids)}, worst top-10 gap error {worst:.4f}")
