#!/usr/bin/env bash
# The comparison at the paper budget (AxBench protocol) on the first 10 concepts and all 5 traits,
# with A-PSR. Resumable: rerun to continue after an interruption (finished units are kept).
# Writes into experiments/compare/paper-10c-5t/.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .build/release/compare --bench axbench,persona --budget paper --concepts 10 \
  --traits apathetic,evil,humorous,impolite,optimistic --methods prompt,psr,apsr,prosv,fssv,diffmean,none \
  --out experiments/compare/paper-10c-5t --resume "$@"
