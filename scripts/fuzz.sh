#!/usr/bin/env bash
# Coverage-guided fuzzing of one of the project's readers with libFuzzer.
#
#   scripts/fuzz.sh TARGET SECONDS [JOBS]
#
# TARGET is a harness in fuzz/harnesses: gguf, safetensors, tokenizer-json, http, steering, hdf5.
# The library targets are built instrumented (-sanitize=fuzzer,address) into .build/fuzz, the
# harness is linked against them, and libFuzzer runs for SECONDS starting from the committed seeds
# in fuzz/corpus/TARGET (the corpus it grows stays in .build/fuzz). A crash is written to
# fuzz/crashes/TARGET/; keep it there: Tests/LMTests/FuzzRegressionTests replays every file.
# The last lines printed are libFuzzer's final statistics (executions, corpus size).
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [JOBS]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [JOBS]}
jobs=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f "fuzz/harnesses/$target.swift" ] || { echo "fuzz.sh: no harness fuzz/harnesses/$target.swift" >&2; exit 2; }
build=$root/.build/fuzz
# The libraries get libFuzzer's coverage instrumentation (what -sanitize=fuzzer adds) without libFuzzer
# itself: the build's own executables (the FamilyList plugin's generator) must link and run, and
# libFuzzer's main, linked into them, would call a fuzz target they lack. The harness links libFuzzer below.
flags=(-c release --build-path "$build" -Xswiftc -sanitize=address
  -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table
  -Xcc -fsanitize=fuzzer-no-link,address)
# The generator runs under ASan during the build; Foundation's own leaks must not fail it.
for t in Steering CLICommon Store; do ASAN_OPTIONS=detect_leaks=0 swift build "${flags[@]}" --target "$t" >&2; done
out=$build/release
objects=()
for m in LM Tensor ModelFiles Tokenizers Steering CLICommon Store ArgumentParser ArgumentParserToolInfo CKernels; do
  objects+=("$out/$m.build/"*.o)
done
swiftc -sanitize=fuzzer,address -parse-as-library -O -I "$out/Modules" -I Sources/CBLAS -I Sources/CHDF5 \
  $(pkg-config --cflags hdf5 | sed 's/-I/-Xcc -I/g') $(pkg-config --libs hdf5) \
  -Xcc -fmodule-map-file="$out/CKernels.build/module.modulemap" -Xcc -I -Xcc Sources/CKernels/include \
  $(pkg-config --cflags openblas | sed 's/-I/-Xcc -I/g') \
  "fuzz/harnesses/$target.swift" "${objects[@]}" -lopenblas -o "$build/fuzz-$target" 2> >(grep -v "Cannot export local symbol" >&2)
mkdir -p "$build/corpus-$target" "$root/fuzz/crashes/$target" "$root/fuzz/corpus/$target" "$build/logs-$target"
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
# With several jobs libFuzzer writes fuzz-N.log per job into the working directory.
cd "$build/logs-$target" && rm -f fuzz-*.log
# A huge allocation fails as malloc does outside the sanitizer (HDF5 then reports an error);
# libhdf5 leaks on its own error paths, which are not ours to fix.
export ASAN_OPTIONS=allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
# HDF5: the reader's probe contains libhdf5's crashes and loops in a child process (HDF5Probe). Under
# ASan a child's memory error must end in a signal, as a segfault does outside the sanitizer, for the
# probe to see it (abort_on_error); the probe's deadline drops to 1 s so that a loop costs little.
# PSR_FUZZ_INPROCESS=1 scripts/fuzz.sh hdf5 SECONDS JOBS: the reader without its probe, every input
# read in the fuzzer's own process (about ten times the executions of a fork per input). libhdf5's
# own crashes, loops and huge allocations then stop a job; libFuzzer's fork mode records each and goes
# on. Each kept input is triaged by its stack: a first frame outside libhdf5 is ours and goes to
# fuzz/crashes/hdf5 (replayed by the tests); libhdf5's must be contained by the probe, which is
# checked by replaying the input through the probed reader.
# PSR_FUZZ_TRIAGE_ONLY=1 triages the inputs an earlier run kept, without fuzzing again. The triage
# runs JOBS inputs at a time; each takes a few seconds (a loop is cut at 1 s).
# The first frame of a sanitizer report (or of its part on stdin) outside the runtimes.
frame() { grep -E '^ +#[0-9]+ 0x' | grep -vE 'llvm-project|libc\.so|sysdeps|libpthread|libFuzzer|fuzzer::' | head -n 1 || true; }
# One kept input's line: OURS, libhdf5 (contained by the probe), UNCONTAINED or "not reproduced".
triage_one() {
  local f=$1 report first owner
  report=$(PSR_HDF5_PROBE_SECONDS=0 timeout 30 "$build/fuzz-hdf5" -timeout=1 -rss_limit_mb=4096 -malloc_limit_mb=8192 "$f" 2>&1 || true)
  first=$(frame <<<"$report")
  # An overflow of a buffer is the buffer owner's bug, whoever wrote past it (H5Aread writing past
  # a buffer of ours was ours).
  owner=$(sed -n '/allocated by thread\|is located in stack of thread/,$p' <<<"$report" | frame)
  if [ -z "$first" ]; then echo "not reproduced $(basename "$f")"; return; fi
  if ! grep -q libhdf5 <<<"$first" || { [ -n "$owner" ] && ! grep -q libhdf5 <<<"$owner"; }; then
    cp "$f" "$root/fuzz/crashes/hdf5/inprocess-$(basename "$f")"
    echo "OURS $(basename "$f"): $first"; return
  fi
  # Contained: the probed reader returns (an error) on it, within its deadline.
  if PSR_HDF5_PROBE_SECONDS=1 ASAN_OPTIONS=$ASAN_OPTIONS:abort_on_error=1 timeout 60 "$build/fuzz-hdf5" -timeout=30 "$f" > /dev/null 2>&1; then
    echo "libhdf5 $(basename "$f"): $first"
  else
    echo "UNCONTAINED $(basename "$f"): $first"
  fi
}
in_process() {
  local art=$build/inprocess-hdf5 triage=$build/inprocess-hdf5/triage.txt log=$build/logs-hdf5/inprocess.log
  export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0:max_allocation_size_mb=4096
  if [ "${PSR_FUZZ_TRIAGE_ONLY:-0}" != 1 ]; then
    rm -rf "$art" && mkdir -p "$art/found" "$build/corpus-hdf5"
    PSR_HDF5_PROBE_SECONDS=0 "$build/fuzz-hdf5" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$seconds" -rss_limit_mb=4096 -malloc_limit_mb=8192 -max_len=65536 -timeout=2 \
      -artifact_prefix="$art/found/" -print_final_stats=1 "$build/corpus-hdf5" "$root/fuzz/corpus/hdf5" > "$log" 2>&1 || true
    cp "$log" "$build/logs-hdf5/inprocess-$(date +%Y%m%d-%H%M%S).log"
  fi
  export -f frame triage_one
  export build root
  find "$art/found" -type f -print0 | xargs -0 -r -P "$jobs" -n 1 bash -c 'triage_one "$1"' _ > "$triage"
  local ours theirs loose flaky executions
  ours=$(grep -c '^OURS' "$triage" || true); theirs=$(grep -c '^libhdf5' "$triage" || true)
  loose=$(grep -c '^UNCONTAINED' "$triage" || true); flaky=$(grep -c '^not reproduced' "$triage" || true)
  grep -E "^#[0-9]+:" "$log" | tail -n 1 || true
  executions=$(grep -E "^#[0-9]+:" "$log" | tail -n 1 | sed -E 's/^#([0-9]+):.*/\1/')
  echo "hdf5 (in process): ${executions:-0} executions in ${seconds} s with $jobs job(s); corpus $(ls "$build/corpus-hdf5" | wc -l) files;" \
    "kept inputs: $ours ours (copied to fuzz/crashes/hdf5), $theirs in libhdf5 and contained by the probe, $loose not contained, $flaky not reproduced; $triage"
  [ "$ours" -eq 0 ] && [ "$loose" -eq 0 ]
}
if [ "$target" = hdf5 ] && [ "${PSR_FUZZ_INPROCESS:-0}" = 1 ]; then
  in_process
  exit
fi
if [ "$target" = hdf5 ]; then
  export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0:abort_on_error=1
  export PSR_HDF5_PROBE_SECONDS=1
fi
"$build/fuzz-$target" -max_total_time="$seconds" "${parallel[@]}" -rss_limit_mb=4096 -max_len=65536 -timeout=10 \
  -artifact_prefix="$root/fuzz/crashes/$target/" -print_final_stats=1 "$build/corpus-$target" "$root/fuzz/corpus/$target" \
  > "$build/logs-$target/main.log" 2>&1 || true
logs=("$build/logs-$target/main.log")
[ "$jobs" -gt 1 ] && logs=("$build/logs-$target"/fuzz-*.log)
cat "${logs[@]}" | grep -E "ERROR|SUMMARY|Test unit written|DONE" | tail -n 20 || true
executions=$(cat "${logs[@]}" | grep "stat::number_of_executed_units" | awk '{s += $2} END {print s + 0}')
echo "$target: $executions executions in ${seconds} s with $jobs job(s); corpus $(ls "$build/corpus-$target" | wc -l) files; crashes kept $(ls "$root/fuzz/crashes/$target" | wc -l)"
