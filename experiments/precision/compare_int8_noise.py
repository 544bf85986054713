"""Summarise compare_int8_noise.sh: int8's distance from fp32 beside fp32's own seed-to-seed spread.

Per method, unit by unit (the same concept in every run):
- the judged harmonic score (concept, instruction, fluency) on the test instructions;
- where the run measured utility, the teacher-forced reference NLL of the method's operating point minus that of
  `none` (the NLL increase the PrOSV paper reads as lost utility).
For each, the mean over units of fp32 seed 0 − fp32 seed 1 (what sampling and training seeds alone move) and of
int8 − fp32 at the same seed (both seeds pooled), with a 95% interval (t) over the paired units. int8 is within
noise of fp32 where its interval holds 0 and its mean |difference| is no larger than fp32's own.
Prints a Markdown table and writes OUT/summary.jsonl (one line per method and measure; OUT the first folder given),
or the file --summary names (for a pooled summary that belongs to no one concept's folder).
    python3 experiments/precision/compare_int8_noise.py [--summary FILE] OUT [MORE ...]
"""
import json
import math
import sys
from pathlib import Path

# One or more sets of the four runs (different concepts each); their units are pooled, the summary written to the
# first set's folder unless --summary names a file.
args = sys.argv[1:]
summary_path = None
if args[:1] == ["--summary"]:
    if len(args) < 2:
        sys.exit("--summary needs a file")
    summary_path, args = Path(args[1]), args[2:]
outs = [Path(a) for a in args] or [Path("/tmp/int8-noise")]
summary_path = summary_path or outs[0] / "summary.jsonl"
runs = {}
for compute in ("fp32", "int8"):
    for seed in (0, 1):
        for directory in outs:
            # A run's folder, or its results.json kept alone (compare-int8-noise-2026-12-07/).
            for path in (directory / f"{compute}-seed{seed}" / "results.json", directory / f"{compute}-seed{seed}.results.json"):
                if path.exists():
                    run = json.loads(path.read_text())
                    runs.setdefault((compute, seed), {"units": []})["units"].extend(run["units"])
                    break
needed = [("fp32", 0), ("fp32", 1), ("int8", 0), ("int8", 1)]
if not all(k in runs for k in needed):
    sys.exit(f"missing runs: {[k for k in needed if k not in runs]}")


def point_label(p):
    fraction = p.get("trained_alpha_fraction")
    if fraction is None:
        return p["method"]
    return p["method"] + ("@trained" if fraction == 1 else f"@{fraction:g}α")


def per_unit(run):
    """{(unit, method, measure): value}"""
    values = {}
    for unit in run["units"]:
        u = unit["unit_id"]
        # A jointly trained vector has two rows and up to four points (selected factor, trained α, FSSV's 0.8α
        # and 0.5α): each is labelled apart, or the last would overwrite the others.
        for m in unit["methods"]:
            values[(u, m["method"] + ("@trained" if m.get("trained") else ""), "harmonic")] = m["score"]["harmonic"]
        points = {point_label(p): p for p in unit.get("operating_points", []) if "reference_nll" in p}
        if "none" in points:
            for method, p in points.items():
                if method != "none":
                    values[(u, method, "reference_nll_increase")] = p["reference_nll"] - points["none"]["reference_nll"]
    return values


T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 11: 2.20}


def stats(xs):
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return mean, float("nan"), sum(abs(x) for x in xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return mean, T95.get(n - 1, 2.0) * sd / math.sqrt(n), sum(abs(x) for x in xs) / n


v = {k: per_unit(r) for k, r in runs.items()}
keys = sorted(set(v[("fp32", 0)]) & set(v[("fp32", 1)]) & set(v[("int8", 0)]) & set(v[("int8", 1)]))
groups = sorted({(m, measure) for _, m, measure in keys}, key=lambda g: (g[1], g[0]))
print("| measure | method | units | fp32 s0 − s1: mean ± 95% | mean abs | int8 − fp32: mean ± 95% | mean abs | interval holds 0 |")
print("|---|---|---|---|---|---|---|---|")
lines = []
pooled = {}
for method, measure in groups:
    units = [u for u, m, me in keys if m == method and me == measure]
    seed_diff = [v[("fp32", 0)][(u, method, measure)] - v[("fp32", 1)][(u, method, measure)] for u in units]
    int8_diff = [v[("int8", s)][(u, method, measure)] - v[("fp32", s)][(u, method, measure)] for s in (0, 1) for u in units]
    sm, sci, sabs = stats(seed_diff)
    im, ici, iabs = stats(int8_diff)
    within = abs(im) <= ici or ici != ici
    pooled.setdefault(measure, ([], []))
    pooled[measure][0].extend(abs(x) for x in seed_diff)
    pooled[measure][1].extend(abs(x) for x in int8_diff)
    print(f"| {measure} | {method} | {len(units)} | {sm:+.4f} ± {sci:.4f} | {sabs:.4f} | {im:+.4f} ± {ici:.4f} | {iabs:.4f} | "
          f"{'yes' if within else 'no'} |")
    lines.append({"measure": measure, "method": method, "units": len(units), "seed_difference_mean": sm,
                  "seed_difference_ci95": sci, "seed_difference_mean_abs": sabs, "int8_difference_mean": im,
                  "int8_difference_ci95": ici, "int8_difference_mean_abs": iabs, "interval_holds_zero": within})
print()
for measure, (seed_abs, int8_abs) in pooled.items():
    print(f"{measure}, pooled over methods: mean |fp32 seed 0 − seed 1| {sum(seed_abs) / len(seed_abs):.4f} "
          f"({len(seed_abs)} pairs), mean |int8 − fp32| {sum(int8_abs) / len(int8_abs):.4f} ({len(int8_abs)} pairs)")
    lines.append({"measure": measure, "method": "all", "seed_difference_mean_abs": sum(seed_abs) / len(seed_abs),
                  "int8_difference_mean_abs": sum(int8_abs) / len(int8_abs)})
with open(summary_path, "w") as f:
    for line in lines:
        f.write(json.dumps(line, sort_keys=True) + "\n")
