#!/usr/bin/env python3
"""lm-eval's GSM8K answer extraction and exact match, as the project's reference.

Writes Tests/Fixtures/gsm8k/extraction.jsonl: one line per case with `response`, `target` (the whole worked
answer, as lm-eval's doc_to_target gives it), `extracted` (the flexible-extract filter's output, "[invalid]"
where nothing matches) and `correct` (exact_match with gsm8k.yaml's settings). The responses are the edge
cases the issue names and seeded random texts built from number-like pieces, words, signs and separators.

Usage (in a venv with lm-eval 0.4):
  python scripts/gsm8k_reference.py
"""
import json
import os
import random

from lm_eval.api.metrics import exact_match_hf_evaluate
from lm_eval.filters.extraction import RegexFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLEXIBLE = RegexFilter(regex_pattern=r"(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select=-1)
IGNORE = [",", "\\$", "(?s).*#### ", "\\.$"]

EDGE = [
    ("The answer is 1,000.", "Work.\n#### 1000"),
    ("She pays $1,000.50 in total.", "x\n#### 1000.50"),
    ("The temperature drops to -5 degrees", "#### -5"),
    ("So the result is 42.", "#### 42"),
    ("I cannot tell.", "#### 7"),
    ("", "#### 0"),
    ("#### 42", "#### 42"),
    ("The total is 18 dollars.\n#### 18", "Janet sells 16 - 3 - 4 = 9 eggs.\n#### 18"),
    ("3 apples and 4 pears make 7", "#### 7"),
    ("It costs $5", "#### 5"),
    ("It costs $5.", "#### 5"),
    ("Answer: 12,345,678", "#### 12345678"),
    ("The answer is -0.5", "#### -.5"),
    ("Wait... the answer is 8...", "#### 8"),
    ("٣ and ٤", "#### 7"),
    ("1.5 times 2 equals 3.0", "#### 3"),
    ("The value is 10.\n", "#### 10"),
    ("Costs: $ 20", "#### 20"),
    ("x = 5-3 = 2", "#### 2"),
    ("--7", "#### -7"),
    ("The number is 1e3", "#### 1000"),
    ("42\n\nQuestion: what is 6*7?", "#### 42"),
]

PIECES = ["the", "answer", "is", "=", "so", "$", ".", ",", "-", "####", "\n", " ", "Question:", "total", "x", "٣",
          "½", "1", "12", "1,000", "3.5", "-4", "$7", "0.25", "100.", "2,5", "...", "$-3", "1.2.3"]


def random_case(rng):
    text = "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(0, 14)))
    target = rng.choice(["12", "1000", "-4", "7", "3.5", "0.25", "100", "25"])
    return text, "Steps.\n#### " + target


def main():
    rng = random.Random(0)
    cases = EDGE + [random_case(rng) for _ in range(600)]
    out = os.path.join(ROOT, "Tests/Fixtures/gsm8k/extraction.jsonl")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        for response, target in cases:
            extracted = list(FLEXIBLE.apply([[response]], [None]))[0][0]
            correct = exact_match_hf_evaluate([extracted], [target], regexes_to_ignore=IGNORE, ignore_case=True)["exact_match"]
            f.write(json.dumps(dict(response=response, target=target, extracted=extracted, correct=bool(correct)),
                               ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {sum(1 for _ in open(out))} lines")


if __name__ == "__main__":
    main()
