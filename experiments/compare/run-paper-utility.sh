#!/usr/bin/env bash
# AxBench at the paper budget on the first 10 concepts with the utility and robustness stage (on by
# default: operating points, suppressed prompts, GSM8K, reference NLL), and the SimPO-trained vectors
# beside the LM-trained ones, for issue 29's reading and for choosing compare's default objective.
# Resumable: rerun to continue (finished units are kept). Writes into experiments/compare/paper-utility/.
# COMPARE_BIN overrides the binary (a copy, so that rebuilding the tree during a long run cannot touch it).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${COMPARE_BIN:-.build/release/compare}" --bench axbench --budget paper --concepts 10 \
  --methods prompt,psr,prosv,prosv-simpo,fssv,fssv-simpo,diffmean,none \
  --out experiments/compare/paper-utility --resume "$@"
