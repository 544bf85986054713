#!/usr/bin/env bash
# The C kernels on aarch64: Tests/KernelCheck/kernel_check.c runs every CKernels entry point here
# (x86-64, the AVX2/AVX-512 kernels, each also checked against the exact sum and against the portable
# kernels) and writes the outputs; the same driver, cross-compiled with Debian's gcc-aarch64-linux-gnu,
# runs under qemu-aarch64-static and checks its outputs against the exact sums and against this
# machine's, within the tolerances the Swift tests use (the driver's header states them).
# Installs the cross compiler and qemu when missing (Debian's packages).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "check-kernels-aarch64: installing ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get install -y -q "${need[@]}" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sources=(Tests/KernelCheck/kernel_check.c Sources/CKernels/*.c)
includes=(-I Sources/CKernels/include -I Sources/CKernels)
# -O2, as SwiftPM compiles the kernels in release.
clang -O2 -Wall -Werror "${includes[@]}" "${sources[@]}" -o "$work/kernel_check-x86_64" -lpthread -lm
"$work/kernel_check-x86_64" --write "$work/x86_64.txt"
aarch64-linux-gnu-gcc -O2 -static -Wall -Werror "${includes[@]}" "${sources[@]}" -o "$work/kernel_check-aarch64" -lpthread -lm
qemu-aarch64-static "$work/kernel_check-aarch64" --compare "$work/x86_64.txt"
echo "check-kernels-aarch64: passed"
