#!/bin/bash
mkdir -p out/objectives
for obj in ll mse mse-through; do
  start=$(date +%s)
  .build/release/compare --bench ifeval --methods prompt,psr,none \
    --instructions punctuation:no_comma,change_case:english_lowercase,startend:quotation,detectable_format:title \
    --ifeval-prompts 8 --train-samples 24 --ifeval-psr-objective $obj --out out/objectives/$obj > out/objectives/$obj.log 2>&1
  echo "$obj rc=$? $(( $(date +%s) - start )) s" >> out/objectives/done.txt
done
