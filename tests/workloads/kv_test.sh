#!/usr/bin/env bash
# KV server under load.
#
# usage: kv_test.sh enclave OPTMIG IMAGE KVLOAD
#          kvserver enclave on a free loopback port, kvload for 2 s: must report
#          PASS with no lost, wrong or resurrected write and no bad read
#        kv_test.sh loss NATIVE_KVSERVER KVLOAD
#          checks the checker: a native kvserver is killed mid-run and restarted
#          empty on the same port; kvload must reconnect and then fail (exit 1)
# The server is killed by PID and temporary files removed, whatever happens.
set -u
usage() { sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
mode=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/om-kvtest.XXXXXX") || exit 2
srv=
load=
cleanup() {
    for p in $load $srv; do
        kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

fail() {
    echo "FAILED: kv test ($mode): $*"
    for f in "$work"/*.out "$work"/*.err; do
        [ -s "$f" ] && { echo "--- ${f##*/} (last 25 lines) ---"; tail -n 25 "$f"; }
    done
    exit 1
}

# start_server TAG CMD...: sets srv (PID) and port, from the "listening on" line
start_server() {
    local tag=$1
    shift
    "$@" >"$work/$tag.out" 2>"$work/$tag.err" </dev/null &
    srv=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^kvserver: listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$work/$tag.out")
        [ -n "$port" ] && return 0
        kill -0 "$srv" 2>/dev/null || fail "$tag exited before listening"
        sleep 0.1
    done
    fail "$tag did not listen within 10 s"
}

stop_server() {
    kill -KILL "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=
}

case $mode in
enclave)
    [ $# -eq 3 ] || usage
    optmig=$1 image=$2 kvload=$3
    start_server server "$optmig" run --heap 1G "$image" -- -a 127.0.0.1 -p 0
    timeout -k 5 30 "$kvload" -a "127.0.0.1:$port" -d 2 -c 4 -k 4000 -x 10 -R 5 -W 5 \
        -o "$work/lat.csv" >"$work/kvload.out" 2>"$work/kvload.err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "kvload exited with status $rc"
    grep -Eq '^kvload: verify keys [1-9][0-9]* lost 0 wrong 0 resurrected 0$' "$work/kvload.out" ||
        fail "no clean verify line"
    grep -q '^kvload: get_mismatches 0$' "$work/kvload.out" || fail "bad reads"
    grep -q '^kvload: PASS$' "$work/kvload.out" || fail "kvload did not PASS"
    n=$(wc -l <"$work/lat.csv")
    [ "$n" -gt 1000 ] || fail "only $n requests in 2 s"
    kill -0 "$srv" 2>/dev/null || fail "kvserver died under load"
    echo "PASS: kv test: $n requests; $(grep -E 'throughput|stall|verify' "$work/kvload.out" | tr '\n' ' ')"
    ;;
loss)
    [ $# -eq 2 ] || usage
    server=$1 kvload=$2
    start_server server1 "$server" -a 127.0.0.1 -p 0
    "$kvload" -a "127.0.0.1:$port" -d 3 -c 2 -k 1000 -R 5 -W 5 >"$work/kvload.out" 2>"$work/kvload.err" &
    load=$!
    sleep 1
    stop_server
    start_server server2 "$server" -a 127.0.0.1 -p "$port"
    wait "$load"
    rc=$?
    load=
    [ "$rc" -eq 1 ] || fail "kvload exited with status $rc, expected 1 (lost writes)"
    grep -Eq '^kvload: requests .* reconnects [1-9]' "$work/kvload.out" || fail "kvload did not reconnect"
    grep -q '^kvload: FAIL$' "$work/kvload.out" || fail "kvload did not report FAIL"
    grep -Eq '^kvload: get_mismatches [1-9]|lost [1-9]' "$work/kvload.out" || fail "no loss reported"
    echo "PASS: kv loss detected: $(grep -E 'stall|mismatches|verify' "$work/kvload.out" | tr '\n' ' ')"
    ;;
*) usage ;;
esac
