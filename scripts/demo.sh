#!/usr/bin/env bash
# make demo: a real live migration on this machine. memstress runs inside an
# enclave, is migrated (stop-and-copy) to a listener, and finishes there; the
# demo checks that the combined output equals an unmigrated run's and prints
# the downtime. Uses loopback; everything it starts it also ends.
set -euo pipefail
BUILD=${1:-build}
OPTMIG=$(cd "$BUILD" && pwd)/bin/optmig
IMAGE=$(cd "$BUILD" && pwd)/samples/memstress
ARGS=(-s 256M -t 2 -i 40000 -P 5000)
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export OPTMIG_HOME=$TMP/home OPTMIG_RUNDIR=$TMP/run
"$OPTMIG" keygen >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

echo "== reference run (no migration)"
"$OPTMIG" run --heap 1G "$IMAGE" -- "${ARGS[@]}" | grep -v '_ms ' > "$TMP/ref.out"
tail -2 "$TMP/ref.out"

echo "== migrated run: source and destination on 127.0.0.1:$PORT"
"$OPTMIG" listen --port "$PORT" --once > "$TMP/dst.out" 2> "$TMP/dst.err" & pids+=($!)
dst=$!
"$OPTMIG" run --name demo --heap 1G "$IMAGE" -- "${ARGS[@]}" > "$TMP/src.out" 2> "$TMP/src.err" & pids+=($!)
src=$!
for _ in $(seq 300); do grep -q "iter 5000" "$TMP/src.out" 2>/dev/null && break; sleep 0.05; done
"$OPTMIG" migrate demo --to "127.0.0.1:$PORT" --streams 2
wait "$src"
wait "$dst"
cat "$TMP/src.out" "$TMP/dst.out" | grep -v '_ms ' > "$TMP/mig.out"
echo "source printed $(wc -l < "$TMP/src.out") lines, destination $(wc -l < "$TMP/dst.out")"
grep max_gap_ms "$TMP/dst.out" | sed 's/^/app-observed worst pause: /'
if cmp -s "$TMP/ref.out" "$TMP/mig.out"; then
  echo "OK: the migrated run printed exactly what the unmigrated run printed"
else
  echo "MISMATCH between migrated and unmigrated output:"; diff "$TMP/ref.out" "$TMP/mig.out" | head; exit 1
fi
