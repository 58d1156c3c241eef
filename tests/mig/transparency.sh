#!/usr/bin/env bash
# Migration transparency, the master test (BRIEF §9): a workload migrated at a
# random moment over loopback prints exactly what it prints unmigrated
# (source's stdout + destination's stdout, timing lines filtered out).
#   transparency.sh OPTMIG SAMPLEDIR RELAY memstress|ptrchase|1gib
#   transparency.sh OPTMIG SAMPLEDIR RELAY live STRATEGY TRACKER memstress|ptrchase
# memstress, ptrchase: 3 random moments each with --streams 1 and --streams 4.
# 1gib: one migration of a 1 GiB memstress (--heap 2G), --streams 2.
# live: precopy|postcopy|hybrid with the compiler or kernel tracker, at two
# random moments (--streams 2 and 4) while two writer threads run.
. "$(dirname "$0")/lib.sh"
CASE=${1:?case}

# one_migration TAG STREAMS HEAP IMAGE WAIT_RE MAX_DELAY_MS ARGS...
one_migration() {
  local tag=$1 streams=$2 heap=$3 img=$4 wait_re=$5 max_delay=$6; shift 6
  local d=$T/$tag delay
  mkdir -p "$d"
  start_dest "$d" "$T/home" ""
  start_src "$d" "app-$tag" "$T/home" "" "$heap" "$img" "$@"
  wait_for "$d/src.out" "$wait_re" 120 "$SRC_PID" || fail "$tag: the source never got going"
  delay=$(rand_ms "$max_delay")
  rand_delay "$delay"
  migrate "$d" "app-$tag" "$T/home" "" "127.0.0.1:$DEST_PORT" --streams "$streams" ${LIVE_ARGS[@]+"${LIVE_ARGS[@]}"}
  note "$tag: streams $streams, migrated ${delay} ms after '$wait_re': $(cat "$d/mig.json")"
  [ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] || fail "$tag: migrate exit $MIG_RC, result '$MIG_RESULT': $(cat "$d/mig.err")"
  awk -v x="$MIG_DOWNTIME" 'BEGIN { exit !(x ~ /^[0-9]+(\.[0-9]+)?$/ && x + 0 > 0) }' ||
    fail "$tag: downtime_ms '$MIG_DOWNTIME' is not a number > 0"
  wait_exit "$SRC_PID" 30 || fail "$tag: the source process did not end after migrating"
  [ "$EXIT_STATUS" = 0 ] || fail "$tag: source exit status $EXIT_STATUS"
  grep -q "enclave 'app-$tag' migrated to 127.0.0.1:$DEST_PORT; it no longer runs here" "$d/src.err" ||
    fail "$tag: the source did not say it gave the enclave up"
  wait_exit "$DEST_PID" 300 || fail "$tag: the migrated app did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "$tag: destination (the app) exit status $EXIT_STATUS"
  cat "$d/src.out" "$d/dest.out" | filter >"$d/both.f"
  same "$T/ref/ref.f" "$d/both.f" "$tag: migrated output differs from the unmigrated run"
  [ -s "$d/dest.out" ] || note "$tag: (the app had printed everything before the switchover)"
  note "$tag: ok ($(wc -l <"$d/src.out") lines at the source, $(wc -l <"$d/dest.out") at the destination)"
}

case $CASE in
memstress)
  ARGS=(-s 64M -t 2 -i 60000 -P 5000)
  reference "$T/ref" 1G "$SAMPLES/memstress" "${ARGS[@]}"
  for streams in 1 4; do
    for rep in 1 2 3; do
      one_migration "s$streams-r$rep" "$streams" 1G "$SAMPLES/memstress" '^memstress: iter 5000$' 800 "${ARGS[@]}"
    done
  done
  ;;
ptrchase)
  ARGS=(-t 2 -i 300000 -P 25000)
  reference "$T/ref" 1G "$SAMPLES/ptrchase" "${ARGS[@]}"
  for streams in 1 4; do
    for rep in 1 2 3; do
      one_migration "s$streams-r$rep" "$streams" 1G "$SAMPLES/ptrchase" '^ptrchase: iter 25000$' 800 "${ARGS[@]}"
    done
  done
  ;;
1gib)
  # Long enough that the app still runs when the stop comes: before it, the
  # destination populates 1 GiB (seconds on a loaded VM).
  ARGS=(-s 1G -t 2 -i 120000 -P 5000)
  reference "$T/ref" 2G "$SAMPLES/memstress" "${ARGS[@]}"
  one_migration big 2 2G "$SAMPLES/memstress" '^memstress: iter 5000$' 800 "${ARGS[@]}"
  ;;
live)
  MIG_STRATEGY=${2:?strategy} TRACKER=${3:?tracker} APP=${4:?app}
  LIVE_ARGS=(--tracker "$TRACKER")
  if [ "$APP" = memstress ]; then
    ARGS=(-s 256M -t 2 -i 200000 -P 5000) RE='^memstress: iter 5000$'
  else
    ARGS=(-t 2 -i 600000 -P 25000) RE='^ptrchase: iter 25000$'
  fi
  reference "$T/ref" 1G "$SAMPLES/$APP" "${ARGS[@]}"
  for streams in 2 4; do
    one_migration "$MIG_STRATEGY-$TRACKER-s$streams" "$streams" 1G "$SAMPLES/$APP" "$RE" 1500 "${ARGS[@]}"
    grep -q "\"tracker\":\"$TRACKER\"" "$T/$MIG_STRATEGY-$TRACKER-s$streams/mig.json" ||
      fail "the migration did not use the $TRACKER tracker"
  done
  ;;
nonconverge)
  # Pre-copy against writes it cannot outrun: a 1 ms budget on a link it is
  # told runs at 20 Mbit/s. Rounds stop once they stop shrinking, and the
  # rest is copied while stopped: the output must still be exact.
  MIG_STRATEGY=precopy
  LIVE_ARGS=(--tracker "${2:-kernel}" --max-downtime 1 --bandwidth 20mbit)
  ARGS=(-s 128M -t 2 -i 200000 -P 5000)
  reference "$T/ref" 1G "$SAMPLES/memstress" "${ARGS[@]}"
  one_migration nonconverge 2 1G "$SAMPLES/memstress" '^memstress: iter 5000$' 500 "${ARGS[@]}"
  rounds=$(sed -n 's/.*"rounds":\([0-9]*\).*/\1/p' "$T/nonconverge/mig.json")
  [ -n "$rounds" ] && [ "$rounds" -ge 2 ] && [ "$rounds" -lt 30 ] ||
    fail "pre-copy should give up after a few rounds that do not shrink, not at the cap: rounds '$rounds'"
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: transparency $CASE"
