#!/usr/bin/env python3
"""A small SentencePiece BPE model with byte fallback, and sentencepiece's own ids for varied texts.

Trains a BPE model (vocabulary 800, byte_fallback, character_coverage below 1 so that rare characters
fall back to <0xNN> bytes) with the sentencepiece package on the texts of make_tokenizer_fixtures.py,
then writes to Tests/Fixtures/tokenizers/sentencepiece/:
  tokenizer.model           the SentencePiece model
  vocab.gguf                its vocabulary as llama.cpp writes a `llama` tokenizer (tokens, scores,
                            types) via gguf-py, no tensors (named .gguf.bin: weights stay out of git)
  reference.jsonl           {"text", "ids"}: sentencepiece's encode_as_ids of each text

Usage: python scripts/make_sentencepiece_fixtures.py --llama-cpp PATH/llama.cpp [--out DIR]
"""
import argparse
import json
import os
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(__file__))
from make_tokenizer_fixtures import texts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--out", default="Tests/Fixtures/tokenizers/sentencepiece")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.llama_cpp, "gguf-py"))
    import gguf

    os.makedirs(args.out, exist_ok=True)
    specials = ["<start_of_turn>", "<end_of_turn>"]
    sample = texts(specials, 320, seed=1)
    training = texts(specials, 2000, seed=2)
    prefix = os.path.join(args.out, "tokenizer")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training), model_prefix=prefix, model_type="bpe", vocab_size=800, byte_fallback=True,
        character_coverage=0.98, user_defined_symbols=specials, split_digits=True, add_dummy_prefix=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
        minloglevel=2,
    )
    os.remove(prefix + ".vocab")
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    with open(os.path.join(args.out, "reference.jsonl"), "w") as f:
        for t in sample:
            f.write(json.dumps({"text": t, "ids": sp.encode_as_ids(t)}, ensure_ascii=False) + "\n")

    w = gguf.GGUFWriter(os.path.join(args.out, "vocab.gguf.bin"), "llama")
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode())
        scores.append(sp.get_score(i))
        kind = gguf.TokenType.NORMAL
        if sp.is_unknown(i):
            kind = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            kind = gguf.TokenType.CONTROL
        elif sp.is_unused(i):
            kind = gguf.TokenType.UNUSED
        elif sp.is_byte(i):
            kind = gguf.TokenType.BYTE
        elif sp.id_to_piece(i) in specials:
            kind = gguf.TokenType.USER_DEFINED
        types.append(kind)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{len(sample)} texts, vocabulary {sp.get_piece_size()}, "
          f"{sum(any(sp.is_byte(i) for i in sp.encode_as_ids(t)) for t in sample)} texts use byte fallback")


if __name__ == "__main__":
    main()
