#!/usr/bin/env bash
# IFEval at the paper budget on the default model: every instruction id of the format subset, every
# prompt of each id, AxBench's factor grid, 72 training prompts of 128 tokens, with the paper's rows
# (none, Stolfo et al.'s diffmean-last, S-PSR with the log-likelihood objective, prompting, and each
# steered method with the prompt). Resumable: rerun to continue (finished units are kept).
# Writes into experiments/compare/ifeval-paper/. COMPARE_BIN overrides the binary (a copy, so that
# rebuilding the tree during a long run cannot touch it).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${COMPARE_BIN:-.build/release/compare}" --bench ifeval --budget paper --methods prompt,psr,diffmean-last,none \
  --out experiments/compare/ifeval-paper --resume "$@"
