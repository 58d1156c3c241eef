#!/usr/bin/env bash
# Must-reject tests (BRIEF §5, §6, §9): a migration fed bad input fails with a
# clear error on both ends -- migrate --json says "failed" with an error string,
# the destination (listen --once) exits 1 with "incoming migration failed:
# <reason>" and never runs the app -- and the source keeps running: its own
# output alone equals the unmigrated run's (verify ok, same digest).
#   reject.sh OPTMIG SAMPLEDIR RELAY CASE
# CASE: flip replay drop truncate malformed-hello malformed-record measurement
#       platform-key-dest platform-key-src dest-killed cut second-destination
. "$(dirname "$0")/lib.sh"
CASE=${1:?case}
IMG=$SAMPLES/memstress
ARGS=(-s 64M -t 2 -i 60000 -P 5000)
# Pre-copy rounds run while the app runs: it must outlast a failing attempt.
case ${MIG_STRATEGY:-} in precopy | hybrid) ARGS=(-s 64M -t 2 -i 360000 -P 5000) ;; esac
HEAP=1G
PAGES=12000 # fewer page records than a 64 MiB memstress sends (about 16.5k)

# The source survived: it ran to the end by itself, with the unmigrated output.
source_survives() {
  local d=$1
  wait_exit "$SRC_PID" 180 || fail "the source did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "source exit status $EXIT_STATUS: $(cat "$d/src.err")"
  grep -q 'no longer runs here' "$d/src.err" && fail "the source says it gave the enclave up"
  filter "$d/src.out" >"$d/src.f"
  same "$T/ref/ref.f" "$d/src.f" "the source's output differs from the unmigrated run"
}

# migrate reported a clear failure (and, if given, an error matching ERE)
migrate_failed() {
  [ "$MIG_RC" = 1 ] || fail "migrate exit status $MIG_RC (want 1) after ${MIG_SECS}s: $(cat "$1/mig.json" "$1/mig.err")"
  [ "$MIG_RESULT" = failed ] || fail "migrate result '$MIG_RESULT' (want failed)"
  [ -n "$MIG_ERROR" ] || fail "migrate gave no error string"
  [ -z "${2:-}" ] || echo "$MIG_ERROR" | grep -Eq -- "$2" || fail "migrate error '$MIG_ERROR' does not match /$2/"
  grep -q 'the enclave still runs at the source' "$1/mig.err" || fail "migrate did not say the source still runs"
}

# the destination refused with a reason matching ERE, and ran nothing
dest_refused() {
  local d=$1 re=$2
  wait_exit "$DEST_PID" 60 || fail "the destination did not give up"
  [ "$EXIT_STATUS" = 1 ] || fail "destination exit status $EXIT_STATUS (want 1)"
  grep -Eq -- "^optmig listen: incoming migration failed: .*($re)" "$d/dest.err" ||
    fail "destination reason does not match /$re/: $(cat "$d/dest.err")"
  [ ! -s "$d/dest.out" ] || fail "the destination ran the app: $(head -3 "$d/dest.out")"
  note "destination: $(grep 'incoming migration failed' "$d/dest.err")"
}

# fault_case FAULT DEST_REASON_ERE [MIG_ERROR_ERE]: through a relay injecting FAULT
fault_case() {
  local fault=$1 dre=$2 mre=${3:-} d=$T/case
  mkdir -p "$d"
  start_dest "$d" "$T/home" "" --timeout 10
  start_relay "$d" "127.0.0.1:$DEST_PORT" --fault "$fault"
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  rand_delay "$(rand_ms 400)"
  migrate "$d" app "$T/home" "" "127.0.0.1:$RELAY_PORT" --streams 2 --timeout 10
  note "fault $fault: migrate: $(cat "$d/mig.json")"
  grep -Eq "^relay: (${fault%%:*}|malformed)" "$d/relay.log" || fail "the relay never applied $fault"
  grep -E '^relay: (flip|drop|replay|truncate|cut|malformed)' "$d/relay.log" | sed 's/^/   /'
  migrate_failed "$d" "$mre"
  dest_refused "$d" "$dre"
  source_survives "$d"
}

reference "$T/ref" "$HEAP" "$IMG" "${ARGS[@]}"
# RECORD 1 is the source's announcement of its page runs (stream 0, before the
# stop); from 2 on they are page records of any stream.
N=$((2 + RANDOM % PAGES))
case $CASE in
flip) fault_case "flip:$N" 'authentication' ;;
replay) fault_case "replay:$N" 'replayed' ;;
drop) fault_case "drop:$N" 'replayed|reordered|missing' ;;
truncate) fault_case "truncate:$N" 'connection|truncat' ;;
malformed-hello) fault_case malformed 'HELLO' ;;
malformed-record) fault_case "malformed:$N" 'malformed|unexpected' ;;

measurement)
  # The source runs from a copy of memstress; before migrating, that path is
  # replaced (rename, so the running source's file stays intact) by another
  # image: the destination measures a different file at the same path.
  d=$T/case
  mkdir -p "$d" "$T/img"
  cp "$IMG" "$T/img/app"
  start_dest "$d" "$T/home" "" --timeout 10
  start_src "$d" app "$T/home" "" "$HEAP" "$T/img/app" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  cp "$SAMPLES/hello" "$T/img/app.new" && mv -f "$T/img/app.new" "$T/img/app"
  [ "$("$OPTMIG" measure "$T/img/app")" != "$("$OPTMIG" measure "$IMG")" ] || fail "test setup: same measurement"
  migrate "$d" app "$T/home" "" "127.0.0.1:$DEST_PORT" --timeout 10
  note "migrate: $(cat "$d/mig.json")"
  migrate_failed "$d" 'measurement'
  dest_refused "$d" 'measurement'
  source_survives "$d"
  ;;

platform-key-dest | platform-key-src)
  # Two platforms. -dest: the destination's trust store lacks the source's key
  # (it refuses the source's quote). -src: the destination trusts the source,
  # but the source's trust store lacks the destination's key.
  d=$T/case
  mkdir -p "$d"
  new_home "$T/home2"
  if [ "$CASE" = platform-key-src ]; then
    cp "$T/home/trust/self.pub" "$T/home2/trust/source.pub"
    dre='peer|refused|abort|attest|quote' # it cannot know why the source gave up
    mre='not trusted'
  else
    dre='not trusted'
    mre='not trusted'
  fi
  start_dest "$d" "$T/home2" "" --timeout 10
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  rand_delay "$(rand_ms 400)"
  migrate "$d" app "$T/home" "" "127.0.0.1:$DEST_PORT" --timeout 10
  note "migrate: $(cat "$d/mig.json")"
  migrate_failed "$d" "$mre"
  dest_refused "$d" "$dre"
  source_survives "$d"
  ;;

dest-killed)
  # kill -9 of the destination once the relay has passed M page records of a
  # 256 MiB heap (about 65k records), i.e. mid-transfer.
  ARGS=(-s 256M -t 2 -i 100000 -P 5000)
  reference "$T/ref" "$HEAP" "$IMG" "${ARGS[@]}"
  M=$((1000 + RANDOM % 20000))
  d=$T/case
  mkdir -p "$d"
  start_dest "$d" "$T/home" "" --timeout 10
  start_relay "$d" "127.0.0.1:$DEST_PORT" --mark "$M"
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  migrate "$d" app "$T/home" "" "127.0.0.1:$RELAY_PORT" --timeout 10 &
  MIGRATE_PID=$!
  PIDS+=("$MIGRATE_PID")
  wait_for "$d/relay.log" "^relay: mark $M:" 60 "$MIGRATE_PID" || fail "the transfer never reached record $M"
  kill -KILL "$DEST_PID"
  note "destination killed after page record $M"
  wait_exit "$MIGRATE_PID" 60 || fail "migrate did not return after the destination died"
  parse_mig "$d"
  note "migrate: $(cat "$d/mig.json")"
  grep -q 'destination: conn [0-9]*: COMMIT' "$d/relay.log" &&
    fail "test too slow: the destination had committed before it was killed"
  migrate_failed "$d"
  wait_exit "$DEST_PID" 10 || fail "the killed destination is still there"
  [ ! -s "$d/dest.out" ] || fail "the destination ran the app"
  source_survives "$d"
  ;;

cut)
  # The network goes silent mid-transfer (nothing read or written either way,
  # sockets stay open). With --timeout 3 the source must give up in bounded
  # time and go on; the destination (listen --timeout 5) gives up too.
  d=$T/case
  mkdir -p "$d"
  start_dest "$d" "$T/home" "" --timeout 5
  start_relay "$d" "127.0.0.1:$DEST_PORT" --fault "cut:$N"
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  rand_delay "$(rand_ms 400)"
  migrate "$d" app "$T/home" "" "127.0.0.1:$RELAY_PORT" --timeout 3 &
  MIGRATE_PID=$!
  PIDS+=("$MIGRATE_PID")
  wait_exit "$MIGRATE_PID" 40 ||
    fail "migrate --timeout 3 still waits 40 s after a network cut: $(grep -E '^relay: cut' "$d/relay.log")"
  parse_mig "$d"
  note "migrate returned after ${MIG_SECS}s: $(cat "$d/mig.json")"
  grep -E '^relay: cut' "$d/relay.log" | sed 's/^/   /'
  migrate_failed "$d"
  dest_refused "$d" 'time|answer|connection'
  source_survives "$d"
  ;;

cut-resume)
  # Post-copy recovery: the network goes silent after the switchover. The
  # enclave runs at the destination (threads that need a missing page wait),
  # the source keeps its pages; `migrate --resume` straight to the
  # destination finishes the job, and the output is exactly the unmigrated one.
  d=$T/case
  mkdir -p "$d"
  start_dest "$d" "$T/home" "" --timeout 4
  start_relay "$d" "127.0.0.1:$DEST_PORT" --fault "cut:$((1 + RANDOM % 3000))+go"
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  rand_delay "$(rand_ms 400)"
  migrate "$d" app "$T/home" "" "127.0.0.1:$RELAY_PORT" --strategy "${MIG_STRATEGY:-postcopy}" \
    --tracker "${MIG_TRACKER:-auto}" --streams 2 --timeout 3
  note "cut after the switchover: migrate: $(cat "$d/mig.json")"
  grep -q '^relay: cut' "$d/relay.log" || fail "the relay never cut"
  [ "$MIG_RC" = 1 ] || fail "migrate exit $MIG_RC after a cut during post-copy (want 1)"
  grep -q '"switched":true' "$d/mig.json" || fail "the cut was not after the switchover: $(cat "$d/mig.json")"
  grep -q 'runs at the destination, but not every page arrived' "$d/mig.err" || fail "unclear error: $(cat "$d/mig.err")"
  alive "$SRC_PID" || fail "the source process ended: it must keep the pages not delivered"
  wait_for "$d/dest.err" 'waiting on port .* for `optmig migrate --resume`' 60 "$DEST_PID" ||
    fail "the destination does not wait for a reconnection"
  mkdir -p "$d/r"
  migrate "$d/r" app "$T/home" "" "127.0.0.1:$DEST_PORT" --resume --streams 2 --timeout 20
  grep -q "\"tracker\":\"${MIG_TRACKER:-compiler}\"" "$d/mig.json" || [ -z "${MIG_TRACKER:-}" ] ||
    fail "the first migration did not use the ${MIG_TRACKER} tracker"
  note "resume: $(cat "$d/r/mig.json")"
  [ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] || fail "migrate --resume: exit $MIG_RC: $(cat "$d/r/mig.err")"
  wait_exit "$SRC_PID" 30 || fail "the source did not end after the resumed post-copy completed"
  wait_exit "$DEST_PID" 300 || fail "the migrated app did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "destination (the app) exit status $EXIT_STATUS: $(tail -3 "$d/dest.err")"
  grep -q 'post-copy resumed and completed' "$d/dest.err" || fail "the destination did not report the recovery"
  cat "$d/src.out" "$d/dest.out" | filter >"$d/both.f"
  same "$T/ref/ref.f" "$d/both.f" "output after a post-copy cut and resume differs from the unmigrated run"
  ;;

second-destination)
  # A first migration succeeds through a relay that records what the source
  # sent. Replayed to a fresh destination, the same bytes must be refused:
  # its key exchange differs, so no record opens, and it never runs the app.
  d=$T/case
  mkdir -p "$d"
  start_dest "$d" "$T/home" "" --timeout 10
  start_relay "$d" "127.0.0.1:$DEST_PORT" --record "$T/rec"
  start_src "$d" app "$T/home" "" "$HEAP" "$IMG" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  rand_delay "$(rand_ms 400)"
  migrate "$d" app "$T/home" "" "127.0.0.1:$RELAY_PORT" --streams 2 --timeout 10
  [ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] || fail "the first migration failed: $(cat "$d/mig.json" "$d/mig.err")"
  wait_exit "$SRC_PID" 30 || fail "the source did not end after migrating"
  wait_exit "$DEST_PID" 120 || fail "the first destination did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "first destination exit status $EXIT_STATUS"
  cat "$d/src.out" "$d/dest.out" | filter >"$d/both.f"
  same "$T/ref/ref.f" "$d/both.f" "the first migration's output differs from the unmigrated run"
  ls "$T"/rec.* >/dev/null 2>&1 || fail "nothing recorded"
  note "recorded: $(cd "$T" && wc -c rec.* | tr '\n' ' ')"
  d2=$T/second
  mkdir -p "$d2"
  start_dest "$d2" "$T/home" "" --timeout 10
  "$RELAY" --replay "$T/rec" --to "127.0.0.1:$DEST_PORT" --timeout 30 2>"$d2/replay.log" ||
    fail "replayer failed"
  sed 's/^/   /' "$d2/replay.log" | head -12
  dest_refused "$d2" 'authentication|replayed|attest|refused'
  echo "PASS: reject $CASE"
  exit 0
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: reject $CASE"
