#!/usr/bin/env bash
# The compiler tracker's safety net: an app calling a libc function the
# runtime cannot follow (setenv) gets omcc's warning naming it; `optmig
# migrate --tracker compiler` refuses it (exit 1, naming the function, the
# app still running at the source); the default `--tracker auto` migrates it
# with the kernel tracker, transparently. The same app without that call
# builds without the warning and auto picks the compiler tracker.
#   safetynet.sh OPTMIG SRCDIR RELAY OMCC
. "$(dirname "$0")/../mig/lib.sh"
OMCC=${1:?omcc}
ITERS=600
WARN='omcc: warning: the compiler tracker cannot follow'

"$OMCC" -O2 -o "$T/uncov" "$SAMPLES/t_cc_uncov.c" 2>"$T/omcc.err" || fail "omcc: $(cat "$T/omcc.err")"
grep -q "$WARN.*: setenv;" "$T/omcc.err" || fail "no warning naming setenv: $(cat "$T/omcc.err")"
[ "$(grep -c "$WARN" "$T/omcc.err")" = 1 ] || fail "expected one warning: $(cat "$T/omcc.err")"
"$OMCC" -O2 -DCOVERED -o "$T/cov" "$SAMPLES/t_cc_uncov.c" 2>"$T/omcc2.err" || fail "omcc: $(cat "$T/omcc2.err")"
grep -q "$WARN" "$T/omcc2.err" && fail "a warning for an app that calls only covered functions: $(cat "$T/omcc2.err")"

# run_case TAG IMAGE TRACKER-AUTO-PICKS
run_case() {
  local tag=$1 img=$2 picks=$3 d=$T/$1
  mkdir -p "$d"
  OPTMIG_HOME=$T/home "$OPTMIG" run --heap 1G "$img" -- $ITERS >"$d/ref.out" 2>"$d/ref.err" ||
    fail "$tag: unmigrated run failed: $(cat "$d/ref.err")"
  grep -q '^t_cc_uncov: digest ' "$d/ref.out" || fail "$tag: unmigrated run printed no digest"
  start_dest "$d" "$T/home" ""
  start_src "$d" "app-$tag" "$T/home" "" 1G "$img" $ITERS
  wait_for "$d/src.out" '^t_cc_uncov: iter 20 ' 60 "$SRC_PID" || fail "$tag: the source never got going"
  if [ "$picks" = kernel ]; then
    OPTMIG_HOME=$T/home OPTMIG_RUNDIR=$T/run "$OPTMIG" migrate "app-$tag" --to "127.0.0.1:$DEST_PORT" \
      --tracker compiler --json >"$d/refused.json" 2>"$d/refused.err"
    rc=$?
    [ "$rc" = 1 ] || fail "$tag: --tracker compiler exited $rc, expected 1: $(cat "$d/refused.err")"
    grep -q -- '--tracker compiler refused:.*(setenv)' "$d/refused.err" ||
      fail "$tag: the refusal does not name setenv: $(cat "$d/refused.err")"
    OPTMIG_RUNDIR=$T/run "$OPTMIG" status "app-$tag" >/dev/null || fail "$tag: the app is gone after the refusal"
    alive "$DEST_PID" || fail "$tag: the destination was touched by the refused migration"
  fi
  MIG_STRATEGY=hybrid migrate "$d" "app-$tag" "$T/home" "" "127.0.0.1:$DEST_PORT"
  [ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] || fail "$tag: migrate exit $MIG_RC: $(cat "$d/mig.err")"
  grep -q "\"tracker\":\"$picks\"" "$d/mig.json" || fail "$tag: auto did not pick $picks: $(cat "$d/mig.json")"
  wait_exit "$SRC_PID" 30 || fail "$tag: the source did not end"
  wait_exit "$DEST_PID" 120 || fail "$tag: the migrated app did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "$tag: the migrated app exited $EXIT_STATUS"
  cat "$d/src.out" "$d/dest.out" >"$d/both.out"
  same "$d/ref.out" "$d/both.out" "$tag: migrated output differs from the unmigrated run"
  note "$tag: ok, auto picked $picks ($(wc -l <"$d/dest.out") lines at the destination)"
}

run_case uncovered "$T/uncov" kernel
run_case covered "$T/cov" compiler
echo "PASS: safetynet"
