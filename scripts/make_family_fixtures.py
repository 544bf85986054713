#!/usr/bin/env python3
"""Makes the tiny random-weight checkpoints of each decoder family and their PyTorch references.

For each family (llama, qwen2, qwen3, gemma2, gemma3, phi3) it writes, under OUT/<family>/:
  hf/        config.json, model.safetensors (bf16, f16 or f32), generation_config.json,
             tokenizer.json, tokenizer_config.json: a Hugging Face model directory
  model.gguf the same weights through llama.cpp's own convert_hf_to_gguf.py
  reference.json  transformers' fp32 outputs: hidden states, top-10 logits, a greedy
             continuation, and an additive vector's loss and gradient from autograd

Then it packs each family into OUT/<family>.tar.gz, which is what the tests read (the checker
that keeps weights out of git flags .gguf and .safetensors names).

Usage (in a venv with torch, transformers, tokenizers, safetensors, and llama.cpp's source):
  python scripts/make_family_fixtures.py --llama-cpp PATH/TO/llama.cpp --out Tests/Fixtures/families \
      [--seed 0] [--hidden 64] [--layers 3]
Held-out checkpoints come from other --seed/--hidden/--layers values.

The features of each family are switched on: grouped-query attention everywhere, Q/K/V biases
(qwen2), per-head q/k norms and an explicit head_dim (qwen3), llama3 RoPE scaling and an untied
head (llama), soft-capping, a sliding window shorter than the test sequence, query_pre_attn_scalar
and (1 + w) norms (gemma2); five sliding layers to a global one with a window shorter than the
test sequence, a local RoPE base and linear scaling on the global layers, q/k norms (gemma3);
fused QKV and gate-up tensors, LongRoPE with distinct short and long factors, and a sliding
window on every layer (phi3). Gemma 3's and Phi-3's config.json are rewritten as the hub writes
them for transformers 4.5x (`sliding_window_pattern`, `rope_local_base_freq`, `rope_scaling`),
which transformers 5 also reads. The tokenizer is a byte-level BPE trained on a few sentences with
SmolLM's pre-tokenizer (Digits + ByteLevel); llama.cpp's converter does not know its hash, so
the converter is told that it is 'smollm', and Gemma-2's converter, which expects a
SentencePiece file, is given the same GPT-2-style vocabulary.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile

import torch

VOCAB = 320
TEXT = [
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "Steering vectors change what a language model says without changing its weights.",
    "def add(a, b):\n    return a + b\n",
    "Il était une fois un petit renard qui aimait les nombres 42 et 1337.",
] * 20


def make_tokenizer(directory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB - 8,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TEXT, trainer)
    chatml = (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|im_start|>")
    fast.chat_template = chatml
    fast.save_pretrained(directory)
    return fast


FAMILIES = {
    "llama": dict(dtype=torch.bfloat16, gguf_type="bf16"),
    "qwen2": dict(dtype=torch.float16, gguf_type="f16"),
    "qwen3": dict(dtype=torch.float32, gguf_type="f32"),
    "gemma2": dict(dtype=torch.bfloat16, gguf_type="f16"),
    # Seeds picked so that every greedy step has a margin above 0.1.
    "gemma3": dict(dtype=torch.bfloat16, gguf_type="bf16", layers=7, seed=3),
    "phi3": dict(dtype=torch.float32, gguf_type="f32", seed=3),
    # Mixtures of experts: four experts, two per token; a second GGUF with Q8_0 experts (llama.cpp's
    # converter quantizes the stacked expert tensors itself).
    "qwen3moe": dict(dtype=torch.float32, gguf_type="f32", quantized="q8_0", seed=2),
    "mixtral": dict(dtype=torch.bfloat16, gguf_type="bf16", quantized="q8_0", seed=3),
}


def make_config(family, hidden, layers):
    from transformers import (Gemma2Config, Gemma3TextConfig, LlamaConfig, MixtralConfig, Phi3Config, Qwen2Config,
                              Qwen3Config, Qwen3MoeConfig)

    common = dict(
        hidden_size=hidden, intermediate_size=hidden * 3 // 2, num_hidden_layers=layers, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=128, rms_norm_eps=1e-6,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    if family == "llama":
        return LlamaConfig(
            **common, head_dim=hidden // 4, tie_word_embeddings=False, rope_theta=10000.0,
            rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                              original_max_position_embeddings=32),
        )
    if family == "qwen2":
        return Qwen2Config(**common, tie_word_embeddings=False, rope_theta=1000000.0)
    if family == "qwen3":
        return Qwen3Config(**common, head_dim=hidden // 4 + 8, tie_word_embeddings=True, rope_theta=1000000.0)
    if family == "gemma2":
        head_dim = hidden // 4 + 8
        return Gemma2Config(
            **common, head_dim=head_dim, query_pre_attn_scalar=head_dim, attn_logit_softcapping=3.0,
            final_logit_softcapping=4.0, sliding_window=6, hidden_activation="gelu_pytorch_tanh",
            tie_word_embeddings=True, rope_theta=10000.0,
        )
    if family == "gemma3":
        head_dim = hidden // 4 + 8
        return Gemma3TextConfig(
            **common, head_dim=head_dim, query_pre_attn_scalar=head_dim, sliding_window=5, sliding_window_pattern=6,
            hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            rope_parameters=dict(
                full_attention=dict(rope_type="linear", factor=4.0, rope_theta=1000000.0),
                sliding_attention=dict(rope_type="default", rope_theta=10000.0),
            ),
        )
    if family == "phi3":
        half = hidden // 4 // 2
        return Phi3Config(
            **common, tie_word_embeddings=False, sliding_window=7, original_max_position_embeddings=16,
            rope_parameters=dict(
                rope_type="longrope", rope_theta=10000.0,
                short_factor=[1.0 + 0.25 * i for i in range(half)], long_factor=[2.0 + 0.5 * i for i in range(half)],
            ),
        )
    if family == "qwen3moe":
        return Qwen3MoeConfig(
            **dict(common, intermediate_size=hidden * 2), head_dim=hidden // 4 + 8, moe_intermediate_size=hidden,
            num_experts=4, num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
            tie_word_embeddings=False, rope_theta=1000000.0,
        )
    if family == "mixtral":
        return MixtralConfig(
            **dict(common, intermediate_size=hidden), num_local_experts=4, num_experts_per_tok=2, tie_word_embeddings=False,
            rope_theta=1000000.0,
        )
    raise ValueError(family)


def hub_config(family, hf):
    """Rewrites config.json with transformers 4.5x keys, as hub checkpoints carry them."""
    path = os.path.join(hf, "config.json")
    with open(path) as f:
        config = json.load(f)
    rope = config.pop("rope_parameters", None) or {}
    if family == "gemma3":
        full, local = rope["full_attention"], rope["sliding_attention"]
        config.pop("layer_types", None)
        config.update(
            sliding_window_pattern=6, rope_theta=full["rope_theta"], rope_local_base_freq=local["rope_theta"],
            rope_scaling=dict(rope_type="linear", factor=full["factor"]),
        )
    elif family == "qwen3moe":
        config.update(num_experts=config.pop("num_local_experts"), rope_theta=rope["rope_theta"])
    elif family == "phi3":
        # Before the plain rope_theta case: transformers 5.x keeps rope_theta inside rope_parameters
        # beside the factors, and taking only the base there dropped LongRoPE from the checkpoint.
        config.update(
            rope_theta=rope["rope_theta"],
            rope_scaling=dict(type="longrope", short_factor=rope["short_factor"], long_factor=rope["long_factor"]),
        )
    elif "rope_theta" in rope:
        config["rope_theta"] = rope["rope_theta"]
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def multimodal_variant(family_root, hf):
    """Gemma 3's text model as a Gemma3ForConditionalGeneration checkpoint stores it: config.json's
    text fields under text_config, tensors under model.language_model., and a vision tensor the
    decoder must leave unread."""
    from safetensors.torch import load_file, save_file

    out = os.path.join(family_root, "hf-multimodal")
    os.makedirs(out)
    tensors = {"model.language_model." + k[len("model."):]: v for k, v in load_file(os.path.join(hf, "model.safetensors")).items()}
    tensors["model.vision_tower.vision_model.embeddings.patch_embedding.weight"] = torch.zeros(4, 3, 2, 2, dtype=torch.bfloat16)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(hf, "config.json")) as f:
        text = json.load(f)
    text.pop("architectures", None)
    text["model_type"] = "gemma3_text"
    config = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3", "text_config": text,
              "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 4}, "eos_token_id": 2}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in os.listdir(hf):
        if name.startswith("tokenizer") or name == "generation_config.json":
            shutil.copy(os.path.join(hf, name), out)


def randomize(model, seed):
    """Weights large enough that attention is peaked, soft-caps bite, and greedy choices have margins."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + (0.0 if "gemma" in type(model).__name__.lower() else 0.75))
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in**0.5))


def convert(llama_cpp, hf_dir, out_path, outtype):
    """llama.cpp's converter, told the tiny tokenizer's pre-tokenizer name (its hash is unknown)."""
    wrapper = f"""
import sys
sys.path.insert(0, {os.path.join(llama_cpp, 'gguf-py')!r})
sys.path.insert(0, {llama_cpp!r})
sys.argv = ['convert_hf_to_gguf.py', {hf_dir!r}, '--outfile', {out_path!r}, '--outtype', {outtype!r}]
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: 'smollm'
import conversion.gemma as gemma
gemma.Gemma2Model.set_vocab = lambda self: self._set_vocab_gpt2()
import conversion.phi as phi
phi.Phi3MiniModel.set_vocab = lambda self: self._set_vocab_gpt2()
import runpy
runpy.run_path({os.path.join(llama_cpp, 'convert_hf_to_gguf.py')!r}, run_name='__main__')
"""
    subprocess.run([sys.executable, "-c", wrapper], check=True, stdout=subprocess.DEVNULL)


def references(model, seed, length=20, full=True):
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(3, model.config.vocab_size, (1, length), generator=g)
    out = model(ids, output_hidden_states=True)
    hidden = {str(l): out.hidden_states[l + 1][0].tolist() for l in range(model.config.num_hidden_layers)}
    logits = out.logits[0]
    top = torch.topk(logits, 10, dim=-1)
    if not full:
        return dict(ids=ids[0].tolist(), hidden=hidden, top_ids=top.indices.tolist(), top_logits=top.values.tolist())
    prompt = ids[:, :8]
    generated = model.generate(prompt, max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)
    # Margins of the greedy choices, so that a test can tell a real mismatch from a near tie.
    scores = model(generated).logits[0, 7:-1]
    top2 = torch.topk(scores, 2, dim=-1).values
    grad = gradient_case(model, ids[0].tolist(), seed)
    return dict(
        ids=ids[0].tolist(), hidden=hidden, top_ids=top.indices.tolist(), top_logits=top.values.tolist(),
        greedy_prompt=prompt[0].tolist(), greedy=generated[0, 8:].tolist(),
        greedy_margin=float((top2[:, 0] - top2[:, 1]).min()), gradient=grad,
    )


def gradient_case(model, ids, seed):
    """Mean NLL of the response tokens with alpha·v added to every position after block `layer`."""
    layer = 1
    g = torch.Generator().manual_seed(seed + 2)
    v = torch.randn(model.config.hidden_size, generator=g)
    v = (v / v.norm()).requires_grad_(True)
    alpha = torch.tensor(2.0, requires_grad=True)
    prompt, response = ids[:12], ids[12:]
    handle = model.model.layers[layer].register_forward_hook(
        lambda module, inputs, output: (output[0] + alpha * v,) + tuple(output[1:])
        if isinstance(output, tuple) else output + alpha * v
    )
    logits = model(torch.tensor([prompt + response])).logits[0]
    handle.remove()
    targets = torch.tensor(response)
    loss = torch.nn.functional.cross_entropy(logits[len(prompt) - 1:-1], targets)
    loss.backward()
    return dict(
        prompt_ids=prompt, response_ids=response, layer=layer, alpha=2.0, v=v.detach().tolist(), loss=loss.item(),
        grad_v=v.grad.tolist(), grad_alpha=alpha.grad.item(),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source directory (convert_hf_to_gguf.py, gguf-py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=None, help="blocks (default 3; gemma3 7, so that a global layer follows five sliding ones)")
    ap.add_argument("--families", default=",".join(FAMILIES))
    args = ap.parse_args()
    from transformers import AutoModelForCausalLM, GenerationConfig

    torch.manual_seed(args.seed)
    for family in args.families.split(","):
        spec = FAMILIES[family]
        root = os.path.join(args.out, family)
        shutil.rmtree(root, ignore_errors=True)
        hf = os.path.join(root, "hf")
        os.makedirs(hf)
        tokenizer = make_tokenizer(hf)
        config = make_config(family, args.hidden, args.layers or spec.get("layers", 3))
        if family == "gemma3":
            # Gemma 3's converter cuts the embedding to the tokenizer's size (the real model's
            # 262,208 rows hold 262,144 tokens), and its GPT-2 vocabulary would be padded to
            # vocab_size: equal sizes keep both files the same model.
            config.vocab_size = len(tokenizer)
        config._attn_implementation = "eager"
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").float()
        seed = args.seed + spec.get("seed", 0)
        randomize(model, seed)
        # The stored precision is what both formats hold; references use exactly those values.
        model = model.to(spec["dtype"])
        model.generation_config = GenerationConfig(eos_token_id=2, bos_token_id=1, pad_token_id=0)
        model.save_pretrained(hf, safe_serialization=True)
        if family == "gemma3":
            # transformers 5's own form of the same configuration (rope_parameters per layer type,
            # layer_types), which the reader must take as well as the hub's.
            shutil.copy(os.path.join(hf, "config.json"), os.path.join(root, "config.transformers5.json"))
        hub_config(family, hf)
        if family == "gemma3":
            multimodal_variant(root, hf)
        # Reloaded in fp32 as a user would load it: casting the model back would also leave the
        # RoPE frequency buffer rounded to the stored precision.
        model = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager").eval()
        convert(args.llama_cpp, hf, os.path.join(root, "model.gguf"), spec["gguf_type"])
        if "quantized" in spec:
            convert(args.llama_cpp, hf, os.path.join(root, f"model-{spec['quantized']}.gguf"), spec["quantized"])
        # Phi-3's 20 tokens pass its original context of 16, so the long factors are what run.
        ref = references(model, seed)
        if family == "phi3":
            ref["short"] = references(model, seed + 10, length=12, full=False)
        ref["family"] = family
        with open(os.path.join(root, "reference.json"), "w") as f:
            json.dump(ref, f)
        with tarfile.open(os.path.join(args.out, family + ".tar.gz"), "w:gz") as tar:
            tar.add(root, arcname=family)
        shutil.rmtree(root)
        print(f"{family}: greedy margin {ref['greedy_margin']:.3f}, loss {ref['gradient']['loss']:.4f}")


if __name__ == "__main__":
    main()
