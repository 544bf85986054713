#!/usr/bin/env python3
"""Benchmarks on the real shapes of the papers' models, beside llama.cpp on the same files.

Builds a random-weight checkpoint with exactly the shapes of Qwen2.5-1.5B-Instruct, Llama-3.1-8B-Instruct,
Gemma-3-4B-it (its text model, 262,144-token vocabulary) or Qwen3-30B-A3B with 4 of its 48 layers (--shape;
bf16 safetensors written tensor by tensor; every layer of Qwen3-30B-A3B does the same work, so per-token
times scale by 12 to the whole model's),
converts it with llama.cpp's convert_hf_to_gguf.py (f16) and quantizes that to Q4_K_M (or --quant) with
llama-cpp-python's llama_model_quantize, then measures on each file, one after the other:
  llama.cpp (llama-cpp-python, 2 threads): prefill of 512 tokens, decode of 32 tokens, peak RSS;
  this project (`psr bench --weights native --compute C --only prefill,decode,batch16,train,capture`) for each
  C of --compute (fp32, int8; bf16 on request), peak RSS.
Prints one JSON line per measurement; experiments/bench/README.md records them.

Usage: python experiments/bench/real_shapes.py --llama-cpp PATH/llama.cpp --work DIR [--psr .build/release/psr]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import make_family_fixtures as fam  # noqa: E402

SHAPES = {
    "qwen2.5-1.5b": dict(family="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True,
                         rope_theta=1000000.0, max_position_embeddings=32768, rms_norm_eps=1e-6),
    "llama3.1-8b": dict(family="llama", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False,
                        rope_theta=500000.0, max_position_embeddings=131072, rms_norm_eps=1e-5,
                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                          original_max_position_embeddings=8192)),
    "gemma3-4b": dict(family="gemma3", hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                      num_attention_heads=8, num_key_value_heads=4, head_dim=256, vocab_size=262144,
                      tie_word_embeddings=True, query_pre_attn_scalar=256, sliding_window=1024,
                      max_position_embeddings=131072, rms_norm_eps=1e-6,
                      rope_parameters=dict(full_attention=dict(rope_type="linear", factor=8.0, rope_theta=1000000.0),
                                           sliding_attention=dict(rope_type="default", rope_theta=10000.0))),
    "qwen3-30b-a3b-4l": dict(family="qwen3moe", hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                             num_hidden_layers=4, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                             num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, vocab_size=151936,
                             tie_word_embeddings=False, rope_theta=1000000.0, max_position_embeddings=40960,
                             rms_norm_eps=1e-6),
}


def large_vocabulary(hf, size):
    """Pads the tiny tokenizer's vocabulary to `size` tokens (unused entries without merges), so that
    the converter keeps every embedding row (Gemma 3's cuts the embedding to the tokenizer's size)."""
    path = os.path.join(hf, "tokenizer.json")
    with open(path) as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    have = len(vocab) + sum(1 for t in tok["added_tokens"] if t["content"] not in vocab)
    for i in range(size - have):
        vocab[f"<unused{i}>"] = len(vocab) + sum(1 for t in tok["added_tokens"] if t["content"] not in vocab)
    with open(path, "w") as f:
        json.dump(tok, f)


QUANTS = {"Q4_K_M": 15, "Q5_K_M": 17}


def write_checkpoint(config, hf, shard_bytes=2 << 30):
    """Random bf16 weights (N(0, 0.02), norms 1) for `config`, written tensor by tensor into
    safetensors shards with an index, so that an 8B checkpoint never sits whole in memory."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
        shapes = {name: p.shape for name, p in model.state_dict().items()}
    config.architectures = [type(model).__name__]
    config.torch_dtype = torch.bfloat16
    config.save_pretrained(hf)
    g = torch.Generator().manual_seed(0)
    shard, size, index, files = {}, 0, {}, []

    def flush():
        nonlocal shard, size
        name = f"model-{len(files) + 1:05d}.safetensors"
        save_file(shard, os.path.join(hf, name), metadata={"format": "pt"})
        files.append(name)
        index.update({key: name for key in shard})
        shard, size = {}, 0

    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            t = torch.ones(shape, dtype=torch.bfloat16)
        else:
            t = (torch.randn(shape, generator=g) * 0.02).to(torch.bfloat16)
        shard[name] = t
        size += t.numel() * 2
        if size >= shard_bytes:
            flush()
    if shard:
        flush()
    total = sum(shapes[n].numel() * 2 for n in shapes)
    with open(os.path.join(hf, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": index}, f, indent=1)


def build(shape, work, llama_cpp, quant="Q4_K_M"):
    from transformers import Gemma3TextConfig, LlamaConfig, Qwen2Config, Qwen3MoeConfig

    spec = dict(SHAPES[shape])
    family = spec.pop("family")
    hf = os.path.join(work, shape + "-hf")
    q4 = os.path.join(work, f"{shape}-{quant}.gguf")
    if os.path.exists(q4):  # the intermediates (16 GB each for 8B) may be gone
        return hf, None, q4
    if not os.path.exists(os.path.join(hf, "config.json")):
        os.makedirs(hf, exist_ok=True)
        fam.make_tokenizer(hf)
        configs = {"llama": LlamaConfig, "qwen2": Qwen2Config, "gemma3": Gemma3TextConfig, "qwen3moe": Qwen3MoeConfig}
        if family == "gemma3":
            large_vocabulary(hf, spec["vocab_size"])
        write_checkpoint(configs[family](**spec), hf)
    f16 = os.path.join(work, shape + "-f16.gguf")
    if not os.path.exists(f16):
        fam.convert(llama_cpp, hf, f16, "f16")
    if not os.path.exists(q4):
        import llama_cpp
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = QUANTS[quant]
        params.nthread = 2
        assert llama_cpp.llama_model_quantize(f16.encode(), q4.encode(), params) == 0
    return hf, f16, q4


LLAMA_BENCH = r"""
import json, resource, sys, time
import llama_cpp
path = sys.argv[1]
llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_threads=2, n_batch=512, verbose=False)
tokens = [(i * 7919) % 300 + 3 for i in range(512)]
t = time.time(); llm.eval(tokens); prefill = 512 / (time.time() - t)
llm.reset(); llm.eval(tokens[:16])
t = time.time()
for i in range(32): llm.eval([(i * 31) % 300 + 3])
decode = 32 / (time.time() - t)
print(json.dumps({"engine": "llama.cpp", "file": path, "prefill_tok_s": round(prefill, 1), "decode_tok_s": round(decode, 2),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shape", default="qwen2.5-1.5b", choices=sorted(SHAPES))
    ap.add_argument("--psr", default=".build/release/psr")
    ap.add_argument("--quant", default="Q4_K_M", choices=sorted(QUANTS), help="llama.cpp quantization of the GGUF file")
    ap.add_argument("--gguf-only", action="store_true", help="skip the bf16 safetensors measurement")
    ap.add_argument("--figures", default="prefill,decode,batch16,train,capture",
                    help="psr bench --only: train is a steering-vector step on 4 x 128 tokens (FSSV and PrOSV), "
                         "capture 8 responses of 128 tokens (both passes)")
    ap.add_argument("--compute", default="fp32,int8",
                    help="psr bench --compute values to measure, each a row (int8: 8-bit activations for K-quants; bf16: bf16 products)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    hf, f16, q4 = build(args.shape, args.work, args.llama_cpp, args.quant)
    for path in [q4] if args.gguf_only else [q4, hf]:
        if path != hf:
            subprocess.run([sys.executable, "-c", LLAMA_BENCH, path], check=True)
        for compute in args.compute.split(","):
            out = subprocess.run(
                [args.psr, "bench", "--model", path, "--weights", "native", "--compute", compute, "--only", args.figures,
                 "--json", "--runs", "1", "--decode-tokens", "16"], check=True, capture_output=True, text=True).stdout
            print(json.dumps({"engine": "psr", "compute": compute, "file": path, **json.loads(out)}), flush=True)


if __name__ == "__main__":
    main()
