#!/usr/bin/env bash
# PrOSV on one full AxBench concept (concept 0 of concept10_2b_l20, "references to rental services and
# associated equipment"): 64 positives train, 8 held out; PrOSV defaults (p2+s2, layer 10, 12 epochs).
# Reports held-out NLL before/after and steered vs unsteered generations. Writes into experiments/prosv/.
set -euo pipefail
cd "$(dirname "$0")/../.."
psr=.build/release/psr
data=experiments/data/axbench/concept10_2b_l20_train.jsonl
out=experiments/prosv
python3 - "$data" <<'PY' > /tmp/prosv_split.txt
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["concept_id"] == 0]
with open("/tmp/prosv_train.jsonl", "w") as f:
    for r in rows[:64]: f.write(json.dumps({"instruction": r["instruction"], "output": r["output"]}) + "\n")
with open("/tmp/prosv_heldout.jsonl", "w") as f:
    for r in rows[64:]: f.write(json.dumps({"instruction": r["instruction"], "output": r["output"]}) + "\n")
print(len(rows))
PY
$psr sv train --kind prosv --layer 10 --data /tmp/prosv_train.jsonl --out $out/rental.prosv.json 2> $out/train.log
$psr sv eval --steer $out/rental.prosv.json --data /tmp/prosv_heldout.jsonl --json > $out/heldout.json
for seed in 1 2 3; do
  for q in "What are some tips for a weekend trip?" "How do I start a new hobby?" "Describe a good birthday party."; do
    u=$($psr generate --prompt "$q" --max-tokens 64 --temperature 1 --seed $seed)
    s=$($psr generate --prompt "$q" --max-tokens 64 --temperature 1 --seed $seed --steer $out/rental.prosv.json)
    python3 -c 'import json,sys; print(json.dumps({"question": sys.argv[1], "seed": int(sys.argv[2]), "unsteered": sys.argv[3], "prosv": sys.argv[4]}))' "$q" "$seed" "$u" "$s"
  done
done > $out/generations.jsonl
