#!/usr/bin/env bash
# Checks `psr serve` with the official openai Python client (pinned below), installed for this check
# only into .build/openai-client on first use, against the default model. Run after scripts/setup.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
packages=.build/openai-client
if ! PYTHONPATH=$packages python3 -c "import openai" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$packages" "openai==3.57.0" 2>&1 | grep -v "WARNING: Running pip as\|requires\|incompatible\|dependency resolver" || true
fi
log=$(mktemp)
.build/release/psr serve --port 0 --max-tokens 16 --steer-dir experiments/prosv > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 120); do grep -q "listening on" "$log" && break; sleep 0.5; done
url=$(grep -o "http://[^ ]*" "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
PYTHONPATH=$packages python3 scripts/openai_client_check.py "$url" SmolLM2-135M-Instruct.Q4_1 .build/release/psr experiments/prosv/rental.prosv.json
