#!/usr/bin/env python3
"""Renders conversations with the real chat templates of each family through transformers.

The templates are the public Jinja texts that llama.cpp keeps under models/templates (from the
models' tokenizer_config.json files); they are copied to Tests/Fixtures/templates/<name>.jinja,
and transformers' render_jinja_template (what apply_chat_template runs) renders each conversation
into Tests/Fixtures/templates/renders.jsonl: {"template", "bos", "eos", "messages",
"add_generation_prompt", "kwargs", "text"}. A template that refuses a conversation (Gemma's has
no system role) records "error" instead of "text".

Usage: python scripts/make_template_fixtures.py --llama-cpp PATH/llama.cpp --out Tests/Fixtures/templates
"""
import argparse
import json
import os
import shutil

from transformers.utils.chat_template_utils import render_jinja_template

TEMPLATES = {
    # name: (llama.cpp file, bos, eos, extra kwargs)
    "llama-3.1": ("meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", {}),
    "llama-3.2": ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", {"date_string": "26 Jul 2024"}),
    "qwen2.5": ("Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>", {}),
    # Thinking off, this project's default for Qwen3; the thinking-on renders follow.
    "qwen3": ("Qwen-Qwen3-0.6B.jinja", "", "<|im_end|>", {"enable_thinking": False}),
    "qwen3-thinking": ("Qwen-Qwen3-0.6B.jinja", "", "<|im_end|>", {"enable_thinking": True}),
    "gemma-2": ("google-gemma-2-2b-it.jinja", "<bos>", "<eos>", {}),
    "mistral-nemo": ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>", {}),
    "phi-3.5": ("microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>", {}),
}

SYSTEM = {"role": "system", "content": "You are a pirate. Talk like one."}
CONVERSATIONS = [
    [{"role": "user", "content": "How do I boil an egg?"}],
    [SYSTEM, {"role": "user", "content": "How do I boil an egg?"}],
    [{"role": "user", "content": "  Hi!\n"}, {"role": "assistant", "content": "Hello. How can I help?"},
     {"role": "user", "content": "Tell me a joke about cats."}],
    [SYSTEM, {"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "An apple."},
     {"role": "user", "content": "Another one, in French.\n\nPlease."}],
    [{"role": "user", "content": "Think first."},
     {"role": "assistant", "content": "<think>\nLet me see.\n</think>\n\nThe answer is 4."},
     {"role": "user", "content": "And 3 + 3?"}],
    [{"role": "user", "content": "Finish this."}, {"role": "assistant", "content": "Sure: the end."}],
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--out", default="Tests/Fixtures/templates")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lines = []
    for name, (file, bos, eos, kwargs) in TEMPLATES.items():
        source = os.path.join(args.llama_cpp, "models", "templates", file)
        if not name.endswith("-thinking"):
            shutil.copy(source, os.path.join(args.out, name + ".jinja"))
        template = open(source).read()
        for messages in CONVERSATIONS:
            for gen in (True, False):
                if messages[-1]["role"] == "assistant" and gen:
                    continue
                line = dict(template=name.removesuffix("-thinking"), bos=bos, eos=eos, messages=messages, add_generation_prompt=gen, kwargs=kwargs)
                try:
                    rendered, _ = render_jinja_template(
                        conversations=[messages], chat_template=template, add_generation_prompt=gen,
                        bos_token=bos, eos_token=eos, **kwargs)
                    line["text"] = rendered[0]
                except Exception as e:  # the template refuses the conversation
                    line["error"] = str(e)
                lines.append(line)
    with open(os.path.join(args.out, "renders.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} renders, {sum('error' in l for l in lines)} refused")


if __name__ == "__main__":
    main()
