#!/usr/bin/env bash
# The main job on the default model: unsteered vs steered generation of the same prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
psr=.build/release/psr
prompt="Describe a walk in the city."
echo "== unsteered"
$psr generate --prompt "$prompt" --max-tokens 64
echo "== prompted (steering prompt as system message)"
$psr generate --prompt "$prompt" --system "You love the ocean and talk about it all the time." --max-tokens 64
