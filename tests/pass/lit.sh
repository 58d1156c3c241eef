#!/usr/bin/env bash
# Runs the RUN: lines of one FileCheck test, lit-style (lit is not needed).
#   tests/pass/lit.sh TEST PLUGIN
# Substitutions: %s the test file, %opt opt-14 with the plugin (-S output),
# %clang clang-14 with the plugin loaded for passes and options, %plugin the
# plugin's path, FileCheck llvm-14's FileCheck.
set -euo pipefail
test=$1 plugin=$2
opt=${OPT:-opt-14}
clang=${CLANG:-clang-14}
filecheck=${FILECHECK:-/usr/lib/llvm-14/bin/FileCheck}
n=0
while IFS= read -r line; do
    cmd=${line#*RUN:}
    cmd=${cmd//'%s'/$test}
    cmd=${cmd//'%opt'/$opt -load-pass-plugin=$plugin -S}
    cmd=${cmd//'%clang'/$clang -fpass-plugin=$plugin -Xclang -load -Xclang $plugin}
    cmd=${cmd//'%plugin'/$plugin}
    cmd=${cmd//FileCheck/$filecheck}
    if ! bash -o pipefail -c "$cmd"; then
        echo "FAILED: $cmd" >&2
        exit 1
    fi
    n=$((n + 1))
done < <(grep -E '^[[:space:]]*(;|//) RUN:' "$test")
[ "$n" -gt 0 ] || { echo "no RUN: lines in $test" >&2; exit 1; }
echo "$(basename "$test"): $n RUN lines passed"
