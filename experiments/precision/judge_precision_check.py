"""Does the embedded judge move with --compute? Its fluency score reads the language model's likelihoods, and
compare runs the judge on the same model, so a run at int8 also judges at int8. This rescores a run's
generations.jsonl with `compare judge` at fp32 and at int8 and counts the scores that differ: between the two
judges, and between each and the run's own scores (the judge at the run's precision must reproduce them).
    python3 experiments/precision/judge_precision_check.py [--compare BIN] RUN_DIR [RUN_DIR ...] > lines.jsonl
Prints one JSON line per run directory.
"""
import argparse
import collections
import json
import subprocess
import tempfile
from pathlib import Path

FIELDS = ("concept_score", "instruct_score", "fluency_score")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--compare", default=".build/release/compare")
parser.add_argument("runs", nargs="+", type=Path)
args = parser.parse_args()


def read(path):
    # Lines end at "\n" only: str.splitlines would also split at U+2028 or U+0085, which JSON leaves unescaped
    # inside a generated response.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


for run in args.runs:
    original = read(run / "generations.jsonl")
    judged = {}
    with tempfile.TemporaryDirectory() as tmp:
        for compute in ("fp32", "int8"):
            out = Path(tmp) / f"{compute}.jsonl"
            subprocess.run([args.compare, "judge", "--input", str(run / "generations.jsonl"), "--output", str(out),
                            "--compute", compute], check=True, capture_output=True)
            judged[compute] = read(out)
            if len(judged[compute]) != len(original):
                raise SystemExit(f"{run}: compare judge wrote {len(judged[compute])} lines for {len(original)} generations")
    line = {"run": str(run), "responses": len(original)}
    for compute, rows in judged.items():
        line[f"{compute}_judge_fields_differing_from_run"] = sum(o[k] != r[k] for o, r in zip(original, rows) for k in FIELDS)
    a, b = judged["fp32"], judged["int8"]
    line["fluency_differing_between_judges"] = sum(x["fluency_score"] != y["fluency_score"] for x, y in zip(a, b))
    test = collections.defaultdict(list)
    for x, y in zip(a, b):
        if x["split"] == "test":
            test[x["method"]].append(y["harmonic"] - x["harmonic"])
    line["test_harmonic_int8_minus_fp32_judge"] = {m: sum(v) / len(v) for m, v in sorted(test.items())}
    print(json.dumps(line, sort_keys=True), flush=True)
