#!/usr/bin/env bash
# Issue 31's "a compare unit's scores within noise of fp32's": the same compare run at fp32 and at
# int8, each under two seeds, so that int8's distance from fp32 (same seed) can be read beside fp32's
# own distance from itself (other seed). The summary is compare_int8_noise.py's.
#   experiments/precision/compare_int8_noise.sh [OUT]     (default /tmp/int8-noise)
# COMPARE_BIN picks the binary (default .build/release/compare), CONCEPTS the AxBench concepts (6), or
# CONCEPT_IDS a list of them; BUDGET the budget (small); further arguments after OUT go to every run, e.g.
#   BUDGET=paper CONCEPT_IDS=0 experiments/precision/compare_int8_noise.sh /tmp/int8-paper/c0 --gsm8k-problems 4
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${COMPARE_BIN:-.build/release/compare}
out=${1:-/tmp/int8-noise}
shift || true
if [ -n "${CONCEPT_IDS:-}" ]; then concepts=(--concept-ids "$CONCEPT_IDS"); else concepts=(--concepts "${CONCEPTS:-6}"); fi
for seed in 0 1; do
  for compute in fp32 int8; do
    dir="$out/$compute-seed$seed"
    [ -f "$dir/results.json" ] && continue
    "$bin" run --bench axbench --budget "${BUDGET:-small}" "${concepts[@]}" --methods prompt,psr,prosv,fssv,diffmean,none \
      --compute "$compute" --seed "$seed" --out "$dir" --force "$@"
  done
done
python3 experiments/precision/compare_int8_noise.py "$out"
