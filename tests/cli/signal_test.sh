#!/usr/bin/env bash
# SIGTERM and SIGINT end a running enclave cleanly: a message, status 128+sig,
# and no process left behind.
set -u
OPTMIG=$1 IMAGE=$2
TMP=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail=0
for sig in TERM INT; do
  "$OPTMIG" run --heap 256M "$IMAGE" -- -s 16M -d 30 -P 100 >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  for _ in $(seq 100); do grep -q iter "$TMP/out" && break; sleep 0.1; done
  kill -s "$sig" "$pid"
  wait "$pid"; rc=$?; pid=
  want=$((128 + $(kill -l "$sig")))
  if [ "$rc" != "$want" ] || ! grep -q "enclave stopped" "$TMP/err"; then
    echo "FAIL: SIG$sig: exit $rc (want $want), stderr: $(cat "$TMP/err")"; fail=1
  else
    echo "ok: SIG$sig -> $rc: $(cat "$TMP/err")"
  fi
done
exit $fail
