#!/usr/bin/env bash
# The KV server enclave under client load across a live migration (issue 6, item 3).
#
# usage: kv_migrate.sh OPTMIG WORKLOADDIR RELAY STRATEGY [TRACKER]
#
# kvserver runs as an enclave (optmig run --name) on 127.0.0.1:APORT; kvload
# (WORKLOADDIR/kvload, a host program) sends PUT/GET/DEL on 4 connections for
# KV_SECS (default 8) seconds. Once kvload's 4 connections are up, 1 s plus a
# random delay later, the enclave is migrated with --strategy STRATEGY to
# `optmig listen --once` on 127.0.0.1. Both ends share the host, so the
# destination re-binds the app's listening socket at the same 127.0.0.1:APORT once
# the source process has ended and released it (as tests/migblock does); the
# client reconnects to that address (kvload -a; a migration to another host would
# list the destination next). Checks: migrate ok, the source ends with status 0,
# the app still runs at the destination, kvload reconnected and PASSes: every GET
# matched, and its final DUMP (from the destination) holds every acknowledged
# write: lost 0 wrong 0 resurrected 0. Prints the migration figures, the longest
# client stall and a throughput timeline (requests per 250 ms) from kvload's CSV.
# Uses tests/mig/lib.sh: own temp dir and platform key, processes killed by PID
# on exit, bounded waits, logs on failure.
set -u
[ $# -ge 4 ] || { sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2; }
KV_OPTMIG=$1 KV_DIR=$2 KV_RELAY=$3 STRATEGY=$4 TRACKER=${5:-auto}
. "$(dirname "$0")/../mig/lib.sh" "$KV_OPTMIG" "$KV_DIR" "$KV_RELAY"
# At the destination, the kvserver enclave's host process can outlive its main
# thread: /proc/PID/stat then says Z while the app serves on. So is it running
# when any of its threads is not a zombie; and it is killed (by PID, it never
# ends by itself) before lib.sh's cleanup, whose alive() would take it for gone.
running() {
  local t
  for t in /proc/"$1"/task/*/stat; do
    [ "$(sed 's/.*) //' "$t" 2>/dev/null | cut -c1)" = Z ] || [ ! -e "$t" ] || return 0
  done
  return 1
}
DEST_PID=
kv_cleanup() {
  local rc=$? p
  for p in "${PIDS[@]}"; do
    [ "$p" = "$DEST_PID" ] && kill -KILL "$p" 2>/dev/null && { wait "$p"; forget "$p"; } 2>/dev/null
  done
  (exit "$rc")
  cleanup
}
trap kv_cleanup EXIT
case $STRATEGY in stop-and-copy | precopy | postcopy | hybrid) ;; *) fail "unknown strategy '$STRATEGY'" ;; esac
SECS=${KV_SECS:-8}
KVLOAD=$KV_DIR/kvload
[ -x "$KV_DIR/kvserver" ] && [ -x "$KVLOAD" ] || fail "no kvserver/kvload in $KV_DIR"

d=$T/kv
mkdir -p "$d"
APORT=$("$RELAY" --free-port --bind 127.0.0.1) || fail "no free port"
start_dest "$d" "$T/home" ""
start_src "$d" kv "$T/home" "" 1G "$KV_DIR/kvserver" -a 127.0.0.1 -p "$APORT" -m 16M
wait_for "$d/src.out" "^kvserver: listening on 127.0.0.1:$APORT " 60 "$SRC_PID" || fail "kvserver did not listen"

# -R 60: reconnecting may take the whole switchover; -W 60: a reply held up by
# a stopped enclave is not a dropped connection.
"$KVLOAD" -a "127.0.0.1:$APORT" -d "$SECS" -c 4 -k 20000 -v 100 -w 50 -x 10 -R 60 -W 60 \
  -o "$d/lat.csv" >"$d/kvload.log" 2>"$d/kvload.err" </dev/null &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
# Load is flowing once kvload's 4 connections are established (ss; no
# connection of our own), then 1 s more plus a random delay.
conns() { ss -Htn state established "( sport = :$APORT )" 2>/dev/null | grep -c .; }
end=$((SECONDS + 60))
until [ "$(conns)" -ge 4 ]; do
  alive "$LOAD_PID" || fail "kvload ended before it connected"
  [ "$SECONDS" -lt "$end" ] || fail "kvload never had its 4 connections"
  sleep 0.02
done
# KV_CLOSED_CONN=1: once the load runs, one extra client connection is opened,
# used (STATS) and closed: its server thread ends, and no thread starts after it,
# before the migration.
if [ -n "${KV_CLOSED_CONN:-}" ]; then
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$APORT"'; printf "STATS\nQUIT\n" >&3; cat <&3' >"$d/probe.log" 2>&1 ||
    fail "the STATS probe failed"
  grep -q '^BYE' "$d/probe.log" || fail "the STATS probe got no BYE"
fi
sleep 1
alive "$LOAD_PID" || fail "kvload ended before the migration"
delay=$(rand_ms 1000)
rand_delay "$delay"
MIG_STRATEGY=$STRATEGY migrate "$d" kv "$T/home" "" "127.0.0.1:$DEST_PORT" --tracker "$TRACKER" --streams 2
note "kv $STRATEGY: $(cat "$d/mig.json")"
[ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] ||
  fail "migrate exit $MIG_RC, result '$MIG_RESULT', error '$MIG_ERROR': $(cat "$d/mig.err")"
wait_exit "$SRC_PID" 60 || fail "the source process did not end after migrating"
[ "$EXIT_STATUS" = 0 ] || fail "source exit status $EXIT_STATUS"
alive "$LOAD_PID" || note "(kvload had already finished when the migration returned)"
wait_exit "$LOAD_PID" $((SECS + 150)) || fail "kvload did not finish"
LOAD_RC=$EXIT_STATUS
running "$DEST_PID" || fail "the kvserver enclave is not running at the destination"
grep -q 'could not re-bind' "$d/dest.err" && fail "the destination could not re-bind the listening socket"
# Every thread must have been resumed: a destination that failed half-way
# still serves from the threads it did start.
grep -q 'did not complete' "$d/dest.err" && fail "destination: $(grep 'did not complete' "$d/dest.err")"
awk -v t="$MIG_DOWNTIME" 'BEGIN { exit !(t > 0) }' || fail "no downtime figure ($MIG_DOWNTIME): the destination never confirmed its resume"
[ "$LOAD_RC" = 0 ] || fail "kvload exit status $LOAD_RC"
grep -q '^kvload: PASS$' "$d/kvload.log" || fail "kvload did not PASS"
grep -Eq '^kvload: verify keys [1-9][0-9]* lost 0 wrong 0 resurrected 0$' "$d/kvload.log" || fail "no clean verify line"
grep -q '^kvload: get_mismatches 0$' "$d/kvload.log" || fail "bad reads"
grep -Eq '^kvload: requests .* reconnects [1-9]' "$d/kvload.log" ||
  fail "kvload never reconnected: it did not run through the migration"

sed 's/^/  /' "$d/kvload.log"
# Throughput timeline: requests started per 250 ms bin (CSV: thread,start_ns,latency_ns,op,attempts).
awk -F, 'NR > 1 && $2 ~ /^[0-9]+$/ { b = int($2 / 250000000); n[b]++; if (b > m) m = b }
  END { printf "  req/250ms:"; for (i = 0; i <= m; i++) printf " %d", n[i]; printf "\n" }' "$d/lat.csv"
stall=$(sed -n 's/^kvload: longest_stall_ms \([0-9.]*\).*/\1/p' "$d/kvload.log")
echo "PASS: workload.kv.migrate $STRATEGY ($TRACKER): migrated 1 s + ${delay} ms into the load;" \
  "downtime_ms $MIG_DOWNTIME total_ms $(sed -n 's/.*"total_ms":\([^,}]*\).*/\1/p' "$d/mig.json");" \
  "longest client stall ${stall} ms; no acknowledged write lost"
