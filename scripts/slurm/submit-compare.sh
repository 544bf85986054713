#!/usr/bin/env bash
# Submits a compare run to Slurm as an array of shards and a merge that waits for them:
#
#   scripts/slurm/submit-compare.sh OUT SHARDS [SBATCH_OPTION…] -- COMPARE_ARGUMENT…
#
# e.g. scripts/slurm/submit-compare.sh out/c500 50 --partition=cpu --time=08:00:00 -- \
#        --bench axbench --budget paper --concepts 500
#
# Shard i runs `compare … --shard i/SHARDS --out OUT/shard-i --resume` (compare-shard.sbatch) and
# logs to OUT/shard-i/slurm-JOB_i.log; the merge (compare-merge.sbatch, --dependency=afterok) writes
# OUT/merged and logs to OUT/merge-JOB.log. A task that fails or is preempted loses only its unit in
# progress: Slurm requeues a preempted task (--requeue), and running this script again with the same
# arguments resubmits every shard, each skipping the units it finished (--resume) and refusing a
# directory started with other settings. COMPARE_BIN (default .build/release/compare, made absolute)
# names the binary the jobs run; the jobs run in this repository's root.
set -euo pipefail
usage() { echo "usage: $0 OUT SHARDS [SBATCH_OPTION…] -- COMPARE_ARGUMENT…" >&2; exit 2; }
[ $# -ge 3 ] || usage
out=$1 shards=$2
shift 2
[[ "$shards" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "submit-compare: SHARDS must be a number from 1 to 9999, not '$shards'" >&2; exit 2; }
sbatch_options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sbatch_options+=("$1"); shift; done
[ $# -gt 0 ] || usage
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
compare=$(realpath "${COMPARE_BIN:-.build/release/compare}")
[ -x "$compare" ] || { echo "submit-compare: no compare binary at $compare (build first: swift build -c release)" >&2; exit 2; }
mkdir -p "$out"
out=$(realpath "$out")
for ((i = 0; i < shards; i++)); do mkdir -p "$out/shard-$i"; done
array=$(sbatch --parsable --array=0-$((shards - 1)) --chdir="$root" --output="$out/shard-%a/slurm-%A_%a.log" \
  "${sbatch_options[@]}" "$here/compare-shard.sbatch" "$compare" "$out" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --chdir="$root" \
  --output="$out/merge-%j.log" "${sbatch_options[@]}" "$here/compare-merge.sbatch" "$compare" "$out" "$shards")
merge=${merge%%;*}
echo "submitted: shards as array job $array, merge as job $merge (after all shards succeed) into $out/merged"
