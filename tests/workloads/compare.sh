#!/usr/bin/env bash
# Runs a workload natively and as an enclave and checks that they agree.
#
# usage: compare.sh OPTMIG IMAGE NATIVE HEAP [ARGS...]
#
#   1. NATIVE ARGS            the reference stdout (must end with a digest line)
#   2. optmig run IMAGE ARGS -G   stdout must equal the reference exactly, and
#                             stderr must report max_gap_ms (the app's pause clock)
#   3. NATIVE ARGS -t 1 -P 0  the digest line must not depend on the thread count
# Exit status: 0 pass, 1 fail, 2 usage error. Temporary files are removed on exit.
set -u
[ $# -ge 4 ] || { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
optmig=$1 image=$2 native=$3 heap=$4
shift 4
name=${image##*/}
work=$(mktemp -d "${TMPDIR:-/tmp}/om-workload.XXXXXX") || exit 2
child=
cleanup() {
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

fail() {
    echo "FAILED: workload $name: $*"
    for f in "$work"/*; do
        [ -s "$f" ] && { echo "--- ${f##*/} (last 20 lines) ---"; tail -n 20 "$f"; }
    done
    exit 1
}

# run TAG CMD...: runs with a 60 s limit, stdout/stderr to $work/TAG.{out,err}
run() {
    local tag=$1
    shift
    timeout -k 5 60 "$@" </dev/null >"$work/$tag.out" 2>"$work/$tag.err" &
    child=$!
    wait "$child"
    local rc=$?
    child=
    [ "$rc" -eq 0 ] || fail "$tag run exited with status $rc: $*"
}

run native "$native" "$@"
grep -Eq "^$name: digest [0-9a-f]{16}$" "$work/native.out" || fail "native run printed no digest"
run enclave "$optmig" run --heap "$heap" "$image" -- "$@" -G
if ! cmp -s "$work/native.out" "$work/enclave.out"; then
    diff -u "$work/native.out" "$work/enclave.out" | head -n 40
    fail "enclave stdout differs from the native build's"
fi
grep -Eq "^$name: max_gap_ms [0-9]+[.][0-9]{3} max_thread_gap_ms " "$work/enclave.err" ||
    fail "-G printed no max_gap_ms line on stderr"
run single "$native" "$@" -t 1 -P 0
[ "$(grep ': digest ' "$work/single.out")" = "$(grep ': digest ' "$work/native.out")" ] ||
    fail "the digest depends on the thread count"
echo "PASS: workload $name: $(grep ': digest ' "$work/native.out"), enclave and native agree;" \
    "$(cat "$work/enclave.err")"
