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
flags=(-c release --build-path "$build" -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
for t in Steering CLICommon Store; do swift build "${flags[@]}" --target "$t" >&2; done
out=$build/release
objects=()
for m in LM Tensor Steering CLICommon Store ArgumentParser ArgumentParserToolInfo CKernels; do
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
