#!/usr/bin/env bash
# Opens report pages in headless Chromium from file:// and fails when one throws a JavaScript error
# or renders blank; keeps a screenshot of each.
#
#   scripts/check-report.sh [PAGE.html …]
#
# Without pages it makes the two kinds from the default model (scripts/setup.sh first, then
# `swift build -c release`): `psr report` of a small capture with its fitted PSR gate, and
# `compare`'s report.html of one AxBench concept, in /tmp/psr-check-report. Screenshots go next to
# each page (PAGE.png). Installs Debian's chromium when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pages=()
for page in "$@"; do pages+=("$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"); done
cd "$root"
if ! command -v chromium > /dev/null; then
  echo "check-report: installing chromium" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium > /dev/null
fi
if [ ${#pages[@]} -eq 0 ]; then
  work=/tmp/psr-check-report; rm -rf "$work"; mkdir -p "$work"
  printf 'What is a good weekend plan?\nDescribe your favourite meal.\nHow do I learn to swim?\n' > "$work/inputs.txt"
  echo "You are an evil, malicious assistant." > "$work/prompt.txt"
  .build/release/capture --prompt-file "$work/prompt.txt" --inputs "$work/inputs.txt" --layers 12,15 --max-new-tokens 24 \
    --seed 1 --out "$work/capture.h5" > /dev/null
  .build/release/psr fit --data "$work/capture.h5" --layer 15 --out "$work/capture.psr" > /dev/null
  .build/release/psr report --data "$work/capture.h5" --steer "$work/capture.psr" --out "$work/capture.html"
  .build/release/compare --bench axbench --concepts 1 --methods prompt,psr,none --train-samples 2 --factors 1,2 \
    --out "$work/compare" > /dev/null
  pages=("$work/capture.html" "$work/compare/report.html")
fi
status=0
for page in "${pages[@]}"; do
  shot=${page%.html}.png
  log=$(mktemp /tmp/check-report-console.XXXXXX)
  flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files --enable-logging=stderr --v=0)
  timeout 120 chromium "${flags[@]}" --window-size=1200,1800 --screenshot="$shot" "file://$page" > /dev/null 2> "$log" || true
  dom=$(timeout 120 chromium "${flags[@]}" --dump-dom "file://$page" 2>> "$log" || true)
  errors=$(grep -E 'CONSOLE|Uncaught|SyntaxError|TypeError|ReferenceError' "$log" | grep -iE 'error|uncaught' || true)
  size=$(stat -c %s "$shot" 2> /dev/null || echo 0)
  # The pages' scripts mark the body when all of them ran to the end.
  rendered=$(grep -c 'data-js="ok"' <<< "$dom" || true)
  if [ -n "$errors" ]; then echo "FAIL $page: JavaScript error:"; echo "$errors"; status=1
  elif [ "$size" -lt 20000 ]; then echo "FAIL $page: the screenshot ($size bytes) is blank"; status=1
  elif [ "$rendered" -eq 0 ]; then echo "FAIL $page: its scripts did not run to the end"; status=1
  else echo "ok $page: no JavaScript error, screenshot $shot ($((size / 1024)) KiB)"; fi
  rm -f "$log"
done
exit $status
