#!/usr/bin/env bash
# Builds Examples/SteerDemo, a package that depends on this one by a tagged git URL (so SwiftPM treats
# it as remote and refuses unsafe flags), and runs it: it imports LM and Steering and must steer a
# generation. The dependency is a clone of this repository's HEAD, tagged in the clone only.
#   scripts/check-dependent-package.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
model=${1:-${PSR_MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}}
[ -f "$model" ] || { echo "check-dependent-package: no model at $model (run scripts/setup.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=0.1.0
git clone -q --no-local "$root" "$work/psr-steering.git"
git -C "$work/psr-steering.git" -c user.name=ci -c user.email=ci@localhost tag -a "$version" -m "dependent-package check"
cp -R Examples/SteerDemo "$work/SteerDemo"
export PSR_STEERING_URL="file://$work/psr-steering.git" PSR_STEERING_VERSION=$version
echo "check-dependent-package: building SteerDemo against $PSR_STEERING_URL @ $version"
swift build -c release --package-path "$work/SteerDemo" 2>&1 | tail -n 3
"$work/SteerDemo/.build/release/SteerDemo" "$model" "$root/examples/evil-direction.json" 15 8
echo "check-dependent-package: passed"
