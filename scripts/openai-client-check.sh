#!/usr/bin/env bash
# Checks `psr serve` with the official openai Python client (pinned below), installed for this check
# only into .build/openai-client on first use, and with curl, against the default model. Run after scripts/setup.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
packages=.build/openai-client
if ! PYTHONPATH=$packages python3 -c "import openai" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$packages" "openai==3.57.0" 2>&1 | grep -v "WARNING: Running pip as\|requires\|incompatible\|dependency resolver" || true
fi
log=$(mktemp)
# With a key, as a shared server runs: the client sends it, curl too, and a wrong one is refused.
export PSR_API_KEY="check-$RANDOM$RANDOM"
.build/release/psr serve --port 0 --max-tokens 16 --steer-dir experiments/prosv > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 120); do grep -q "listening on" "$log" && break; sleep 0.5; done
url=$(grep -o "http://[^ ]*" "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
PYTHONPATH=$packages python3 scripts/openai_client_check.py "$url" SmolLM2-135M-Instruct.Q4_1 .build/release/psr experiments/prosv/rental.prosv.json
# The request shapes lm-eval's local-completions model sends (standard library only).
python3 scripts/lm_eval_request_check.py "$url" rental.prosv

# The same server through curl, as the README shows it: a streamed answer ends with [DONE] and
# carries the text of the whole one; a steered answer equals psr generate --steer.
body='{"messages": [{"role": "user", "content": "What should I do this weekend?"}], "max_tokens": 12, "seed": 3, "temperature": 0.8'
auth="Authorization: Bearer $PSR_API_KEY"
whole=$(curl -sf -H "$auth" "$url/chat/completions" -d "$body, \"steering\": []}")
streamed=$(curl -sfN -H "$auth" "$url/chat/completions" -d "$body, \"steering\": [], \"stream\": true}")
steered=$(curl -sf -H "$auth" "$url/chat/completions" -d "$body, \"steering\": [{\"name\": \"rental.prosv\", \"factor\": 2}]}")
reference=$(.build/release/psr generate --prompt "What should I do this weekend?" --max-tokens 12 --seed 3 --temperature 0.8 \
  --steer experiments/prosv/rental.prosv.json --factor 2 --json)
WHOLE="$whole" STREAMED="$streamed" STEERED="$steered" REFERENCE="$reference" python3 - <<'PY'
import json, os, sys
whole = json.loads(os.environ["WHOLE"])["choices"][0]["message"]["content"]
events = [l[6:] for l in os.environ["STREAMED"].splitlines() if l.startswith("data: ")]
text = "".join(c.get("delta", {}).get("content", "") for e in events[:-1] for c in json.loads(e)["choices"])
steered = json.loads(os.environ["STEERED"])
checks = [
    (events and events[-1] == "[DONE]", "curl: the stream ends with [DONE]"),
    (text == whole, f"curl: the streamed text equals the whole answer ({text!r} vs {whole!r})"),
    (steered["choices"][0]["message"]["content"] == json.loads(os.environ["REFERENCE"])["text"], "curl: steered answer equals psr generate --steer"),
    (steered["steering"] == [{"name": "rental.prosv", "factor": 2.0}], "curl: the answer says which steering it applied"),
]
for ok, what in checks:
    print(("ok   " if ok else "FAIL ") + what)
sys.exit(0 if all(ok for ok, _ in checks) else 1)
PY
