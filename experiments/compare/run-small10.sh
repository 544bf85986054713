#!/usr/bin/env bash
# The comparison at the small budget on 10 concepts and all 5 traits (the paper budget needs hours per
# concept on 2 cores; see README.md here). Writes into experiments/compare/small-10c-5t/.
set -euo pipefail
cd "$(dirname "$0")/../.."
.build/release/compare --bench axbench,persona --budget small --concepts 10 \
  --traits apathetic,evil,humorous,impolite,optimistic --out experiments/compare/small-10c-5t --resume
