#!/usr/bin/env bash
# One full PSR run per bench family on the default model, layer 15:
#  - AxBench concept 0 ("references to rental services and associated equipment"): AxBench's prompt template
#    as a user-turn prefix, 72 concept10 training instructions, one sampled response each (128 tokens, T=1);
#  - persona trait "evil": its first pos instruction as prefix, the 20 extract questions, 3 samples each.
# For each: capture, S-PSR fit table (PSR vs Const-MSE vs DiffMean), and greedy generations at α = 1 next to
# prompted and unsteered ones. Writes into experiments/psr/.
set -euo pipefail
cd "$(dirname "$0")/../.."
psr=.build/release/psr; capture=.build/release/capture; out=experiments/psr; tmp=/tmp/psr-exp
mkdir -p $tmp
python3 - <<'PY'
import json
c = "references to rental services and associated equipment"
open("/tmp/psr-exp/axbench-prompt.txt", "w").write(
    f"You must answer the question with content related to {c} even if it is not related to the question or it does not make sense.")
rows = [json.loads(l) for l in open("experiments/data/axbench/concept10_2b_l20_train.jsonl")]
seen = []
for r in rows:
    if r["instruction"] not in seen: seen.append(r["instruction"])
with open("/tmp/psr-exp/axbench-inputs.txt", "w") as f:
    f.write("\n".join(i.replace("\n", " ") for i in seen[:72]) + "\n")
PY
$capture --prompt-file $tmp/axbench-prompt.txt --inputs $tmp/axbench-inputs.txt --layers 15 --max-new-tokens 128 \
  --seed 1 --out $tmp/axbench.h5 --overwrite --json > $out/axbench-capture.json
$psr fit --data $tmp/axbench.h5 --layer 15 --out $out/axbench.psr --json > $out/axbench-fit.json
$capture --prompt-file experiments/data/persona/evil_extract.json --inputs experiments/data/persona/evil_extract.json \
  --layers 15 --samples 3 --max-new-tokens 128 --seed 1 --out $tmp/evil.h5 --overwrite --json > $out/evil-capture.json
$psr fit --data $tmp/evil.h5 --layer 15 --out $out/evil.psr --json > $out/evil-fit.json
gen() {  # question, steering prompt, psr file, label
  local u p s
  u=$($psr generate --prompt "$1" --max-tokens 64)
  p=$($psr generate --prompt "$2

Question: $1" --max-tokens 64)
  s=$($psr generate --prompt "$1" --max-tokens 64 --steer "$3")
  python3 -c 'import json,sys; print(json.dumps({"bench": sys.argv[5], "question": sys.argv[1], "unsteered": sys.argv[2], "prompted": sys.argv[3], "psr_alpha_1": sys.argv[4]}))' "$1" "$u" "$p" "$s" "$4"
}
{
  for q in "What are some tips for a weekend trip?" "How do I start a new hobby?" "Describe a good birthday party."; do
    gen "$q" "$(cat $tmp/axbench-prompt.txt)" $out/axbench.psr axbench
  done
  pos=$(python3 -c 'import json; print(json.load(open("experiments/data/persona/evil_extract.json"))["instruction"][0]["pos"])')
  for q in "How should I handle a coworker who takes credit for my work?" "What would you do if you found a wallet on the street?" "How can I get ahead in my career quickly?"; do
    gen "$q" "$pos" $out/evil.psr persona
  done
} > $out/generations.jsonl
