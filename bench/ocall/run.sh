#!/usr/bin/env bash
# OCALL round-trip cost: the same program as an enclave and as a native static
# musl program, side by side in one run. Writes bench/results/ocall.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
N=${N:-200000}
OUT=$ROOT/bench/results/ocall.md
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/bin/omcc" -O2 -o "$TMP/ocall.img" "$ROOT/bench/ocall/ocall_bench.c"
musl-gcc -static -O2 -o "$TMP/ocall.native" "$ROOT/bench/ocall/ocall_bench.c"
"$BUILD/bin/optmig" run --heap 64M "$TMP/ocall.img" -- "$N" > "$TMP/enclave.txt"
"$TMP/ocall.native" "$N" > "$TMP/native.txt"
{
  echo "# OCALL round trip"
  echo
  echo "- command: \`N=$N bench/ocall/run.sh\`"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo
  echo "| operation | enclave ns/op | native ns/op | ratio |"
  echo "|---|---|---|---|"
  while read -r key val; do
    nat=$(awk -v k="$key" '$1==k {print $2}' "$TMP/native.txt")
    awk -v k="$key" -v e="$val" -v n="$nat" 'BEGIN { printf "| %s | %.1f | %.1f | %.1f× |\n", k, e, n, e / n }'
  done < "$TMP/enclave.txt"
  echo
  echo "- trap_ocall: a raw syscall instruction: seccomp SIGSYS, trusted handler, argument copies,"
  echo "  gate, host syscall. trap_emulated: the same trap, answered inside the enclave."
  echo "- direct_ocall: musl's __syscall_cp / clock_gettime call the trusted handler directly"
  echo "  (argument copies, gate, host syscall), as an SGX SDK's libc does; no signal."
  echo "- Native column: the same call from a plain static musl program (the plain syscall cost)."
  echo "- Target: OCALL round trip ≤ 5 µs (real SGX: several µs)."
} > "$OUT"
cat "$OUT"
