#!/usr/bin/env bash
# Runs one enclave program under `optmig run` and checks what it did.
#
# usage: run_enclave_test.sh [options] OPTMIG IMAGE [EXPECT] [-- ARGS...]
#
#   EXPECT            an existing file: stdout must equal it exactly;
#                     otherwise an extended regex some stdout line must match
#   --status N        expected exit status (default 0)
#   --expect RE       some stdout line must match RE (repeatable)
#   --reject RE       no stdout line may match RE (repeatable); lines starting
#                     with "FAIL:" are always rejected
#   --expect-file F   stdout must equal file F exactly
#   --twice RE        run twice; the stdout lines matching RE must exist and be
#                     identical in both runs (determinism)
#   --heap SIZE       passed to optmig run
#   --threads N       passed to optmig run
#   --timeout SEC     per run (default 120)
#
# In ARGS, @TMPDIR@ is replaced by a fresh temporary directory. Everything the
# script creates is removed on exit, whatever happens.
# Exit status: 0 pass, 1 fail, 2 usage error.
set -u

me=${0##*/}
usage() {
    sed -n '2,22s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

status=0
timeout_s=120
expects=()
rejects=('^FAIL:')
expect_file=
twice=
runopts=()

while [ $# -gt 0 ]; do
    case $1 in
    --status) status=${2?}; shift 2 ;;
    --expect) expects+=("${2?}"); shift 2 ;;
    --reject) rejects+=("${2?}"); shift 2 ;;
    --expect-file) expect_file=${2?}; shift 2 ;;
    --twice) twice=${2?}; shift 2 ;;
    --heap) runopts+=(--heap "${2?}"); shift 2 ;;
    --threads) runopts+=(--threads "${2?}"); shift 2 ;;
    --timeout) timeout_s=${2?}; shift 2 ;;
    -h|--help) usage ;;
    --*) echo "$me: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || usage
optmig=$1
image=$2
shift 2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    if [ -f "$1" ]; then
        expect_file=$1
    else
        expects+=("$1")
    fi
    shift
fi
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || { echo "$me: expected '--' before program arguments, got '$1'" >&2; usage; }
    shift
fi
case $status in ''|*[!0-9]*) echo "$me: --status needs a number" >&2; exit 2 ;; esac
case $timeout_s in ''|*[!0-9]*) echo "$me: --timeout needs whole seconds" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/om-enclave-test.XXXXXX") || { echo "$me: mktemp failed" >&2; exit 2; }
child=
# shellcheck disable=SC2317 # called through traps
cleanup() {
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 130' INT
trap 'echo "$me: terminated" >&2; exit 143' TERM HUP

# program arguments, with @TMPDIR@ substituted
args=()
for a in "$@"; do
    if [[ $a == *@TMPDIR@* ]]; then
        mkdir -p "$work/tmp"
        a=${a//@TMPDIR@/$work/tmp}
    fi
    args+=("$a")
done

name=${image##*/}
fail() {
    local run=$1
    shift
    echo "FAILED: enclave test $name: $*"
    echo "  command: $(printf '%q ' "${cmd[@]}")"
    echo "  exit status: ${rc[$run]:-?} (expected $status)"
    if [ -s "$work/out.$run" ]; then
        echo "--- stdout (last 60 lines) ---"
        tail -n 60 "$work/out.$run"
    else
        echo "--- stdout: empty ---"
    fi
    if [ -s "$work/err.$run" ]; then
        echo "--- stderr (last 60 lines) ---"
        tail -n 60 "$work/err.$run"
    else
        echo "--- stderr: empty ---"
    fi
    exit 1
}

cmd=("$optmig" run "${runopts[@]}" "$image")
[ ${#args[@]} -gt 0 ] && cmd+=(-- "${args[@]}")

if [ ! -x "$optmig" ]; then
    rc=()
    fail 0 "optmig is not built or not executable: $optmig"
fi
if [ ! -f "$image" ]; then
    rc=()
    fail 0 "enclave image not found: $image"
fi
if [ -n "$expect_file" ] && [ ! -f "$expect_file" ]; then
    echo "$me: expected-output file not found: $expect_file" >&2
    exit 2
fi

signame() { kill -l "$1" 2>/dev/null || echo "?"; }

runs=1
[ -n "$twice" ] && runs=2
rc=()
for run in $(seq 1 $runs); do
    start=$SECONDS
    # in the background so that a signal to this script is handled at once
    timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/out.$run" 2>"$work/err.$run" &
    child=$!
    wait "$child"
    rc[run]=$?
    child=
    r=${rc[$run]}
    # timeout(1) exits 124, or 137 when the command also ignored SIGTERM
    if [ "$r" -ne "$status" ] && { [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; } &&
        [ $((SECONDS - start)) -ge "$timeout_s" ]; then
        fail "$run" "run $run timed out after ${timeout_s} s"
    fi
    if [ "$r" -ne "$status" ]; then
        why="run $run exited with status $r, expected $status"
        if [ "$r" -eq 126 ] || [ "$r" -eq 127 ]; then
            why="$why (optmig could not be executed)"
        elif [ "$r" -gt 128 ]; then
            why="$why (killed by signal $((r - 128)), SIG$(signame $((r - 128))))"
        fi
        fail "$run" "$why"
    fi
    for re in "${rejects[@]}"; do
        if grep -Eq -- "$re" "$work/out.$run"; then
            fail "$run" "run $run: stdout has a line matching '$re': $(grep -Em1 -- "$re" "$work/out.$run")"
        fi
    done
    for re in "${expects[@]}"; do
        grep -Eq -- "$re" "$work/out.$run" || fail "$run" "run $run: no stdout line matches '$re'"
    done
    if [ -n "$expect_file" ] && ! cmp -s "$expect_file" "$work/out.$run"; then
        echo "--- diff expected actual ---"
        diff -u "$expect_file" "$work/out.$run" | head -n 80
        fail "$run" "run $run: stdout differs from $expect_file"
    fi
    if [ -n "$twice" ]; then
        grep -E -- "$twice" "$work/out.$run" >"$work/sel.$run"
        [ -s "$work/sel.$run" ] || fail "$run" "run $run: no stdout line matches '$twice'"
    fi
done
if [ -n "$twice" ] && ! cmp -s "$work/sel.1" "$work/sel.2"; then
    echo "--- lines matching '$twice', run 1 ---"
    cat "$work/sel.1"
    echo "--- run 2 ---"
    cat "$work/sel.2"
    fail 2 "the two runs disagree (not deterministic)"
fi
extra=
[ -n "$twice" ] && extra=", identical '$twice' lines in two runs: $(head -n1 "$work/sel.1")"
echo "PASS: enclave test $name (status $status$extra)"
exit 0
