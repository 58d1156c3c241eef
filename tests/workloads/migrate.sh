#!/usr/bin/env bash
# Transparency of a live migration for the compute workloads (issue 6, item 2).
#
# usage: migrate.sh OPTMIG WORKLOADDIR RELAY WORKLOAD STRATEGY [TRACKER]
#
#   1. optmig run WORKLOAD ARGS (unmigrated): the reference stdout, which must end
#      with the digest line.
#   2. optmig run --name ... WORKLOAD ARGS, and once it printed its first step line,
#      after a random delay (WLMIG_DELAY_MS=N fixes it), optmig migrate --strategy
#      STRATEGY --tracker TRACKER (default auto) to `optmig listen --once` on
#      127.0.0.1. Then: migrate exit 0 and result "ok", the source ends with status
#      0 saying it gave the enclave up, the app ends with status 0 at the
#      destination, and source stdout + destination stdout == the reference,
#      byte for byte (no line is filtered).
#
# WLMIG_EXPECT_MISMATCH=1 checks the check: one hex digit of the reference's
# digest is changed, and the test passes only if everything else passed and the
# comparison caught the difference.
# Uses tests/mig/lib.sh: its own temp dir and platform key, every process it
# starts is killed by PID on exit, all waits are bounded; logs shown on failure
# (MIG_KEEP=1 keeps the temp dir).
set -u
[ $# -ge 5 ] || { sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2; }
WL_OPTMIG=$1 WL_DIR=$2 WL_RELAY=$3 WL=$4 STRATEGY=$5 TRACKER=${6:-auto}
. "$(dirname "$0")/../mig/lib.sh" "$WL_OPTMIG" "$WL_DIR" "$WL_RELAY"

# Per workload: arguments (about 3-6 s of work after the first step line on an
# idle 2-core VM) and the largest random delay after the first step line (ms).
case $WL in
bfs) ARGS=(-s 48M -t 2 -i 16 -P 2) MAXD=1200 ;;
btree) ARGS=(-s 48M -t 2 -i 4 -P 4) MAXD=1200 ;;
hashjoin) ARGS=(-s 48M -t 2 -i 32 -P 8) MAXD=1200 ;;
pagerank) ARGS=(-s 48M -t 2 -i 100 -P 5) MAXD=1200 ;;
xsbench) ARGS=(-s 48M -t 2 -i 3 -P 1) MAXD=1500 ;;
*) fail "unknown workload '$WL'" ;;
esac
case $STRATEGY in stop-and-copy | precopy | postcopy | hybrid) ;; *) fail "unknown strategy '$STRATEGY'" ;; esac
IMG=$WL_DIR/$WL
HEAP=1G
[ -x "$IMG" ] || fail "no enclave image $IMG"

# The unmigrated run.
mkdir -p "$T/ref"
timeout -k 5 120 env OPTMIG_HOME="$T/home" "$OPTMIG" run --heap "$HEAP" "$IMG" -- "${ARGS[@]}" \
  </dev/null >"$T/ref/ref.out" 2>"$T/ref/ref.err" || fail "the unmigrated run failed (status $?)"
grep -Eq "^$WL: digest [0-9a-f]{16}\$" "$T/ref/ref.out" || fail "the unmigrated run printed no digest"
STEP_RE="^$WL: step [0-9]+\$"
grep -Eq "$STEP_RE" "$T/ref/ref.out" || fail "the unmigrated run printed no step line"
note "reference: $(wc -l <"$T/ref/ref.out") lines, $(grep ': digest ' "$T/ref/ref.out")"
if [ -n "${WLMIG_EXPECT_MISMATCH:-}" ]; then
  sed -i -E "s/^($WL: digest [0-9a-f]{15})(.)\$/echo '\1'\$(printf %x \$(((0x\2 + 1) % 16)))/e" "$T/ref/ref.out"
  note "reference digest altered on purpose: $(grep ': digest ' "$T/ref/ref.out")"
fi

# The migrated run.
d=$T/mig
mkdir -p "$d"
start_dest "$d" "$T/home" ""
start_src "$d" "wl-$WL" "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
wait_for "$d/src.out" "$STEP_RE" 120 "$SRC_PID" || fail "the source never printed a step line"
delay=${WLMIG_DELAY_MS:-$(rand_ms "$MAXD")}
rand_delay "$delay"
alive "$SRC_PID" || fail "the app ended ${delay} ms after its first step line, before the migration began"
MIG_STRATEGY=$STRATEGY migrate "$d" "wl-$WL" "$T/home" "" "127.0.0.1:$DEST_PORT" --tracker "$TRACKER" --streams 2
note "$WL $STRATEGY: migrated ${delay} ms after the first step line: $(cat "$d/mig.json")"
[ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] ||
  fail "migrate exit $MIG_RC, result '$MIG_RESULT', error '$MIG_ERROR': $(cat "$d/mig.err")"
wait_exit "$SRC_PID" 60 || fail "the source process did not end after migrating"
[ "$EXIT_STATUS" = 0 ] || fail "source exit status $EXIT_STATUS"
grep -q "enclave 'wl-$WL' migrated to 127.0.0.1:$DEST_PORT; it no longer runs here" "$d/src.err" ||
  fail "the source did not say it gave the enclave up"
wait_exit "$DEST_PID" 180 || fail "the migrated app did not finish at the destination"
[ "$EXIT_STATUS" = 0 ] || fail "the app's exit status at the destination is $EXIT_STATUS"
cat "$d/src.out" "$d/dest.out" >"$d/both.out"
if [ -n "${WLMIG_EXPECT_MISMATCH:-}" ]; then
  cmp -s "$T/ref/ref.out" "$d/both.out" && fail "the altered reference was not told apart from the migrated output"
  diff "$T/ref/ref.out" "$d/both.out" | grep -q ': digest ' ||
    fail "the migrated output differs from the reference in more than the altered digest"
  echo "PASS: workload.migrate $WL $STRATEGY: the altered digest was caught"
  exit 0
fi
same "$T/ref/ref.out" "$d/both.out" "$WL $STRATEGY: source + destination stdout differs from the unmigrated run"
[ -s "$d/dest.out" ] || fail "the destination printed nothing: the app had finished its output before the switchover"
echo "PASS: workload.migrate $WL $STRATEGY ($TRACKER): $(grep -c . "$d/src.out") lines at the source," \
  "$(grep -c . "$d/dest.out") at the destination; downtime_ms $MIG_DOWNTIME; $(grep ': digest ' "$d/dest.out")"
