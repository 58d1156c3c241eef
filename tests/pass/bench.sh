#!/usr/bin/env bash
# Overhead of OptMigPass instrumentation (a benchmark, not a test).
#   tests/pass/bench.sh [BUILD_DIR] [ROUNDS]
# Builds bench_kernels.c seven times (plain clang-14 -O2; with the plugin:
# polls only, dirty+access, dirty, access, dirty+access without plain copies,
# dirty+access without any cost control)
# into one program, bench_pass, which runs them side by side and prints a
# markdown table of run-time ratios against the plain build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
rounds=${2:-7}
plugin=$build/lib/optmig/OptMigPass.so
out=$build/pass-bench
[ -f "$plugin" ] || { echo "no $plugin: build first" >&2; exit 1; }
mkdir -p "$out"

cc=(clang-14 -O2 -Wall -Wextra)
load=(-fpass-plugin="$plugin" -Xclang -load -Xclang "$plugin")
kernels() { # variant, extra flags...
    local v=$1; shift
    "${cc[@]}" "$@" -DVARIANT="${v}_" -c "$here/bench_kernels.c" -o "$out/kernels_$v.o"
}
kernels plain
kernels polls "${load[@]}" -mllvm -optmig-track=none
kernels full "${load[@]}" -mllvm -optmig-track=dirty+access
kernels dirty "${load[@]}" -mllvm -optmig-track=dirty
kernels access "${load[@]}" -mllvm -optmig-track=access
kernels nover "${load[@]}" -mllvm -optmig-track=dirty+access -mllvm -optmig-version=false
kernels noopt "${load[@]}" -mllvm -optmig-track=dirty+access -mllvm -optmig-opt=false -mllvm -optmig-version=false
"${cc[@]}" -c "$here/rt_native.c" -o "$out/rt_native.o"
"${cc[@]}" "$here/bench_pass.c" "$out"/kernels_*.o "$out/rt_native.o" -o "$out/bench_pass" -lpthread -lm
echo "command: tests/pass/bench.sh $* ; date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(uname -srm); $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/bench_pass" "$rounds"
