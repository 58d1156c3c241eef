#!/usr/bin/env bash
# The project's enclave code, compiled as omcc compiles it (plugin, dirty+access,
# polls, plain copies; the allocator without polls) in each tracking mode, must
# give IR that passes the verifier. clang without assertions does not verify, so
# broken IR would otherwise reach codegen (the plain-copies bug of docs/PASS.md).
#   tests/pass/verify_tree.sh SOURCE_DIR PLUGIN
set -euo pipefail
root=$1 plugin=$2
clang=${CLANG:-clang-14} opt=${OPT:-opt-14}
res=$("$clang" -print-resource-dir)
tmp=$(mktemp -d /tmp/optmig-verify.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
flags=(-O2 -nostdinc -isystem /usr/include/x86_64-linux-musl -isystem "$res/include"
       -I"$root/include" -I"$root/src/trt" -I"$root/workloads" -D_GNU_SOURCE -DOM_ENCLAVE -fPIE
       -fpass-plugin="$plugin" -Xclang -load -Xclang "$plugin" -mllvm -optmig-version=true)
n=0 bad=0
one() { # source, extra flags...
    local src=$1; shift
    n=$((n + 1))
    if ! "$clang" "${flags[@]}" "$@" -S -emit-llvm -o "$tmp/x.ll" "$src" 2> "$tmp/err" ||
       ! "$opt" -verify -disable-output "$tmp/x.ll" 2>> "$tmp/err"; then
        echo "FAILED: $src $*" >&2; head -5 "$tmp/err" >&2; bad=$((bad + 1))
    fi
}
for m in dirty access dirty+access; do
    for src in "$root"/workloads/*.c "$root"/samples/*.c; do
        one "$src" -mllvm -optmig-track=$m
    done
    one "$root/src/trt/heap.c" -mllvm -optmig-track=$m -mllvm -optmig-polls=false
done
for src in "$root"/tests/cctrack/*.c "$root"/tests/enclave/*.c "$root"/tests/migblock/*.c; do
    one "$src" -mllvm -optmig-track=dirty+access
done
echo "$n compiles, $bad with IR the verifier rejects"
[ "$bad" = 0 ] && [ "$n" -gt 10 ]
