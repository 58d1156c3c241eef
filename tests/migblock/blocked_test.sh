#!/usr/bin/env bash
# Migrates t_blocked while its threads sleep, block in accept, wait on a
# condition variable and spin; then connects to the app's re-bound listening
# socket at the destination. Every thread must finish there, in order.
set -u
OPTMIG=$1 IMAGE=$2
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
export OPTMIG_HOME=$TMP/home OPTMIG_RUNDIR=$TMP/run
"$OPTMIG" keygen >/dev/null || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPORT=$(free_port) APORT=$(free_port)
"$OPTMIG" listen --port "$MPORT" --once > "$TMP/dst.out" 2> "$TMP/dst.err" & pids+=($!); dst=$!
"$OPTMIG" run --name blk --heap 256M "$IMAGE" -- "$APORT" > "$TMP/src.out" 2> "$TMP/src.err" & pids+=($!); src=$!
for _ in $(seq 200); do grep -q "tick 2" "$TMP/src.out" 2>/dev/null && break; sleep 0.05; done
grep -q "tick 2" "$TMP/src.out" || { echo "FAIL: app did not start"; cat "$TMP/src.err"; exit 1; }
"$OPTMIG" migrate blk --to "127.0.0.1:$MPORT" --json > "$TMP/mig.json" || { echo "FAIL: migrate"; cat "$TMP/mig.json" "$TMP/src.err" "$TMP/dst.err"; exit 1; }
wait "$src"; rc=$?
[ "$rc" = 0 ] || { echo "FAIL: source exit $rc"; exit 1; }
# The app's listening socket now lives in the destination process.
for _ in $(seq 100); do
  python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$APORT),1); s.sendall(b'hello after migration\n'); s.close()" 2>/dev/null && break
  sleep 0.1
done
wait "$dst"; rc=$?
cat "$TMP/src.out" "$TMP/dst.out" > "$TMP/all.out"
fail=0
[ "$rc" = 0 ] || { echo "FAIL: destination exit $rc"; fail=1; }
expect=("ready" "tick 1" "tick 2" "tick 3" "tick 4" "tick 5" "tick 6" "tick 7" "tick 8" "accepted: hello after migration" "waiter released" "done")
for l in "${expect[@]}"; do
  n=$(grep -cx "$l" "$TMP/all.out")
  [ "$n" = 1 ] || { echo "FAIL: '$l' printed $n times"; fail=1; }
done
grep -q "^spinner " "$TMP/all.out" || { echo "FAIL: spinner did not finish"; fail=1; }
[ "$(tail -1 "$TMP/all.out")" = "done" ] || { echo "FAIL: 'done' is not last"; fail=1; }
# ticks stay in order across the switch
[ "$(grep '^tick' "$TMP/all.out" | tr -d 'tick ' | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 " ] || { echo "FAIL: ticks out of order"; fail=1; }
if [ $fail = 0 ]; then echo "ok: every blocked thread resumed at the destination ($(cat "$TMP/mig.json"))"; else cat "$TMP/all.out" "$TMP/src.err" "$TMP/dst.err"; fi
exit $fail
