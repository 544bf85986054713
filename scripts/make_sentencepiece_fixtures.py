#!/usr/bin/env python3
"""A small SentencePiece BPE model with byte fallback, in every form a user brings it, and reference ids.

Trains a BPE model (vocabulary 800, byte_fallback, character_coverage below 1 so that rare characters
fall back to <0xNN> bytes, two user-defined symbols) with the sentencepiece package on the texts of
make_tokenizer_fixtures.py, then writes to Tests/Fixtures/tokenizers/sentencepiece/:
  tokenizer.model       the SentencePiece model
  reference.jsonl       {"text", "ids", "ids_no_prefix", "ids_hf_bos", "ids_llama_bos"} per text:
                          ids            sentencepiece's encode_as_ids
                          ids_no_prefix  the same with the model's add_dummy_prefix off (Gemma's setting)
                          ids_hf_bos     transformers' AutoTokenizer on llama2-hf/ (BOS added by its rules)
                          ids_llama_bos  llama.cpp (llama-cpp-python, vocab only) on llama2.gguf,
                                         add_bos and parse_special on
  checkpoints.tar.gz    llama2-hf/   a tiny random Llama checkpoint with the tokenizer as Llama 2 ships
                                     it: tokenizer.model, tokenizer.json (transformers' SentencePiece
                                     extractor: vocab, merges by piece score, byte_fallback; normalizer
                                     Prepend("▁") + Replace(" ", "▁")), tokenizer_config.json
                        gemma-hf/    the same vocabulary as Gemma's tokenizer.json has it (Replace only,
                                     no prepended ▁), with tokenizer.model carrying add_dummy_prefix off
                        metaspace-hf/ transformers 5's form (no normalizer, Metaspace pre-tokenizer)
                        llama2.gguf  llama2-hf/ converted by llama.cpp's own convert_hf_to_gguf.py

Usage: python scripts/make_sentencepiece_fixtures.py --llama-cpp PATH/llama.cpp [--out DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(__file__))
from make_tokenizer_fixtures import texts  # noqa: E402

SPECIALS = ["<start_of_turn>", "<end_of_turn>"]


def train(prefix, sample_seed=2):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts(SPECIALS, 2000, seed=sample_seed)), model_prefix=prefix, model_type="bpe",
        vocab_size=800, byte_fallback=True, character_coverage=0.98, user_defined_symbols=SPECIALS,
        split_digits=True, add_dummy_prefix=True, remove_extra_whitespaces=False, normalization_rule_name="identity",
        bos_id=1, eos_id=2, unk_id=0, pad_id=-1, minloglevel=2,
    )
    os.remove(prefix + ".vocab")


def without_dummy_prefix(model_path, out_path):
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.ParseFromString(open(model_path, "rb").read())
    m.normalizer_spec.add_dummy_prefix = False
    open(out_path, "wb").write(m.SerializeToString())


def tokenizer_json(model_path, sp, form):
    """The tokenizer.json of one of the three forms, through transformers' own SentencePiece extractor."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    kw = SentencePieceExtractor(model_path).extract(models.BPE)
    tok = Tokenizer(models.BPE(vocab=kw["vocab"], merges=kw["merges"], unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    if form == "llama2":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    elif form == "gemma":
        tok.normalizer = normalizers.Replace(" ", "▁")
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    tok.decoder = decoders.Sequence(steps + ([decoders.Strip(" ", 1, 0)] if form != "gemma" else []))
    tok.add_special_tokens([AddedToken(sp.id_to_piece(i), normalized=False, special=True) for i in range(3)])
    tok.add_tokens([t for t in kw["additional_special_tokens"] if not t.special])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    return tok


def checkpoint(directory, model_path, sp, form, torch_seed=0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    os.makedirs(directory)
    torch.manual_seed(torch_seed)
    config = LlamaConfig(vocab_size=800, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, max_position_embeddings=128, bos_token_id=1, eos_token_id=2,
                         tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(directory)
    shutil.copy(model_path, os.path.join(directory, "tokenizer.model"))
    tokenizer_json(model_path, sp, form).save(os.path.join(directory, "tokenizer.json"))
    decoder = {str(i): {"content": sp.id_to_piece(i), "special": True, "normalized": False, "lstrip": False,
                        "rstrip": False, "single_word": False} for i in range(3)}
    for s in SPECIALS:
        decoder[str(sp.piece_to_id(s))] = {"content": s, "special": False, "normalized": False, "lstrip": False,
                                           "rstrip": False, "single_word": False}
    json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
               "add_eos_token": False, "legacy": form == "llama2",
               "tokenizer_class": "GemmaTokenizer" if form == "gemma" else "LlamaTokenizer",
               "added_tokens_decoder": decoder}, open(os.path.join(directory, "tokenizer_config.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--out", default="Tests/Fixtures/tokenizers/sentencepiece")
    args = ap.parse_args()
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, "tokenizer")
    train(prefix)
    model_path = prefix + ".model"
    sp = spm.SentencePieceProcessor(model_file=model_path)

    with tempfile.TemporaryDirectory() as work:
        no_prefix_path = os.path.join(work, "no-prefix.model")
        without_dummy_prefix(model_path, no_prefix_path)
        sp_no_prefix = spm.SentencePieceProcessor(model_file=no_prefix_path)
        checkpoint(os.path.join(work, "llama2-hf"), model_path, sp, "llama2")
        checkpoint(os.path.join(work, "gemma-hf"), no_prefix_path, sp, "gemma")
        checkpoint(os.path.join(work, "metaspace-hf"), model_path, sp, "metaspace")
        gguf_path = os.path.join(work, "llama2.gguf")
        subprocess.run([sys.executable, os.path.join(args.llama_cpp, "convert_hf_to_gguf.py"), "--outtype", "f32",
                        "--outfile", gguf_path, os.path.join(work, "llama2-hf")], check=True, capture_output=True)
        hf = AutoTokenizer.from_pretrained(os.path.join(work, "llama2-hf"))
        llama = Llama(model_path=gguf_path, vocab_only=True, verbose=False)

        disagree = {"hf": 0, "gemma": 0, "metaspace": 0}
        # The tokenizers library as the files say (AutoTokenizer may rebuild the normalizer).
        from tokenizers import Tokenizer
        gemma_hf = Tokenizer.from_file(os.path.join(work, "gemma-hf", "tokenizer.json"))
        metaspace_hf = Tokenizer.from_file(os.path.join(work, "metaspace-hf", "tokenizer.json"))
        with open(os.path.join(args.out, "reference.jsonl"), "w") as f:
            for t in texts(SPECIALS, 320, seed=1):
                ids = sp.encode_as_ids(t)
                row = {"text": t, "ids": ids, "ids_no_prefix": sp_no_prefix.encode_as_ids(t),
                       "ids_hf_bos": hf(t)["input_ids"],
                       "ids_llama_bos": llama.tokenize(t.encode(), add_bos=True, special=True)}
                disagree["hf"] += row["ids_hf_bos"] != [1] + ids
                disagree["gemma"] += gemma_hf.encode(t, add_special_tokens=False).ids != row["ids_no_prefix"]
                disagree["metaspace"] += metaspace_hf.encode(t, add_special_tokens=False).ids != ids
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        with tarfile.open(os.path.join(args.out, "checkpoints.tar.gz"), "w:gz") as tar:
            for name in ["llama2-hf", "gemma-hf", "metaspace-hf", "llama2.gguf"]:
                tar.add(os.path.join(work, name), arcname=name)
    print(f"vocabulary {sp.get_piece_size()}; Hugging Face tokenizers disagree with sentencepiece on "
          f"{disagree} of 320 texts (around user-defined symbols; the reference is sentencepiece)")


if __name__ == "__main__":
    main()
