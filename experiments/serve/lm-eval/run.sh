#!/usr/bin/env bash
# lm-eval's local-completions model against psr serve on the default model, on the local task
# psr_basic_qa (24 four-way questions, log-likelihood), unsteered and steered by the PrOSV rental
# vector at factor 4 (the server's default steering, since lm-eval cannot send the steering field).
# lm-eval finds the server's tokenizer routes and tokenizes with them.
#   LM_EVAL=/path/to/venv/bin/lm_eval experiments/serve/lm-eval/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
lm_eval=${LM_EVAL:-lm_eval}
out=experiments/serve/lm-eval/results
mkdir -p "$out"
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1
for run in unsteered steered; do
  log=$(mktemp)
  extra=()
  [ "$run" = steered ] && extra=(--steer experiments/prosv/rental.prosv.json:4)
  .build/release/psr serve --port 0 --max-tokens 16 "${extra[@]}" > "$log" 2>&1 &
  server=$!
  for _ in $(seq 120); do grep -q "listening on" "$log" && break; sleep 0.5; done
  url=$(grep -o "http://[^ ]*" "$log" | head -1)
  start=$(date +%s)
  "$lm_eval" --model local-completions \
    --model_args "base_url=$url/completions,model=SmolLM2-135M-Instruct.Q4_1,num_concurrent=1,max_retries=1,tokenized_requests=True" \
    --tasks psr_basic_qa --include_path experiments/serve/lm-eval --output_path "$out/$run" --log_samples > "$out/$run.log" 2>&1
  grep -E "tokenizer backend|^\|" "$out/$run.log"
  echo "$run: $(( $(date +%s) - start )) s"
  kill $server; wait $server 2>/dev/null || true
  rm -f "$log"
done
