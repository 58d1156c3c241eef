#!/usr/bin/env bash
# Checks kvload's early stop and realtime stamp and the timeline of bench/kv/plot.sh,
# without migration: a native kvserver is stopped (SIGSTOP) for STOP_MS under load.
#
#   bench/kv/test.sh NATIVE_KVSERVER KVLOAD
#
# kvload runs in the background with -d 600; SIGINT must end it with its report and
# PASS. Its start_realtime_ns must fall between our stamps around its start; its
# longest stall must cover the stop; plot.sh's data must show the stop as a run of
# empty buckets where the marks put it, count every request but the edge buckets',
# and make a PNG. Exit status: 0 pass, 1 fail, 2 usage, 77 no gnuplot (skip).
set -u
[ $# -eq 2 ] || { sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
SERVER=$1 KVLOAD=$2
PLOT=$(cd "$(dirname "$0")" && pwd)/plot.sh
command -v gnuplot >/dev/null || { echo "SKIP: no gnuplot"; exit 77; }
export LC_ALL=C
STOP_MS=600 B=50
work=$(mktemp -d "${TMPDIR:-/tmp}/om-kvplot.XXXXXX") || exit 2
srv="" load=""
cleanup() {
  local p
  for p in $load $srv; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
fail() {
  echo "FAILED: bench/kv/test.sh: $*"
  for f in "$work"/*.out "$work"/*.log "$work"/*.err; do [ -s "$f" ] && { echo "--- ${f##*/}"; tail -n 15 "$f"; }; done
  exit 1
}

"$SERVER" -a 127.0.0.1 -p 0 >"$work/srv.out" 2>"$work/srv.err" </dev/null &
srv=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^kvserver: listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$work/srv.out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || fail "kvserver did not listen"

r=$work/run
before=$EPOCHREALTIME
"$KVLOAD" -a "127.0.0.1:$port" -d 600 -c 4 -k 4000 -R 10 -W 10 -o "$r.csv" >"$r.load.log" 2>"$work/kvload.err" </dev/null &
load=$!
sleep 1
after=$EPOCHREALTIME # kvload has started: it stamps before its threads run
t_stop=$EPOCHREALTIME
kill -STOP "$srv"
sleep "$(awk -v m="$STOP_MS" 'BEGIN { print m / 1000 }')"
kill -CONT "$srv"
t_cont=$EPOCHREALTIME
sleep 1
kill -INT "$load"
for _ in $(seq 100); do kill -0 "$load" 2>/dev/null || break; sleep 0.1; done
kill -0 "$load" 2>/dev/null && fail "kvload did not end within 10 s of SIGINT"
wait "$load"
rc=$?
load=
[ "$rc" = 0 ] || fail "kvload exit status $rc after SIGINT"
grep -q '^kvload: PASS$' "$r.load.log" || fail "kvload did not PASS"
t0=$(sed -n 's/^kvload: start_realtime_ns \([0-9]*\)$/\1/p' "$r.load.log")
awk -v t="$t0" -v a="$before" -v b="$after" 'BEGIN { exit !(t != "" && t / 1e9 >= a && t / 1e9 <= b) }' ||
  fail "start_realtime_ns '$t0' not between $before and $after"
stall=$(sed -n 's/^kvload: longest_stall_ms \([0-9.]*\).*/\1/p' "$r.load.log")
awk -v s="$stall" -v m="$STOP_MS" 'BEGIN { exit !(s >= m * 0.9) }' || fail "longest stall $stall ms, the server was stopped for $STOP_MS ms"

# The stop as a "migration": starts at t_stop, switchover and end at t_cont.
echo '{"strategy":"test","downtime_ms":'"$STOP_MS"',"total_ms":'"$STOP_MS"'}' >"$r.json"
echo "$t_stop $t_cont $t_cont" >"$r.marks"
"$PLOT" "$work/tl" "$B" "$r" >"$work/plot.log" 2>&1 || fail "plot.sh failed"
[ -s "$work/tl.png" ] || fail "no PNG"
n=$(grep -c . "$r.csv")
awk -v b="$B" -v n="$n" -v s="$STOP_MS" '
  /^[-0-9]/ { rows++; sum += $2 * b / 1000; if ($2 == 0) { z++; if (z > zr) { zr = z; zend = $1 } } else z = 0 }
  END {
    if (rows < 2000 / b) { print "only " rows " buckets"; exit 1 }
    if (sum > n || sum < n * 0.5) { print "buckets hold " sum " requests of " n; exit 1 }
    # empty buckets: the whole stop but partial edge buckets, ending at the CONT mark
    if (zr < s / b - 2) { print "longest run of empty buckets: " zr ", the stop spans " s / b; exit 1 }
    if (zend < s / 1000 - 0.2 || zend > s / 1000 + 0.1) { print "the empty run ends at " zend " s, CONT was at " s / 1000 " s"; exit 1 }
    printf "%d buckets, %d of %d requests, %d empty buckets in a row ending at %.3f s\n", rows, sum, n, zr, zend }' \
  "$work/tl.dat" >"$work/check.log" || fail "timeline: $(cat "$work/check.log")"
echo "PASS: bench/kv/test.sh: SIGINT ended kvload with PASS; longest stall $stall ms for a $STOP_MS ms stop; $(cat "$work/check.log")"
