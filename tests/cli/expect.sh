#!/usr/bin/env bash
# expect.sh RC REGEX CMD [ARGS...]: runs CMD, passes if it exits with RC and its
# combined output matches the extended regex REGEX.
set -u
want_rc=$1 re=$2
shift 2
out=$(timeout 60 "$@" 2>&1)
rc=$?
if [ "$rc" != "$want_rc" ]; then
  printf 'FAIL: %s\n  exit %s, expected %s\n  output: %s\n' "$*" "$rc" "$want_rc" "$out"
  exit 1
fi
if ! grep -Eq -- "$re" <<<"$out"; then
  printf 'FAIL: %s\n  output does not match /%s/:\n%s\n' "$*" "$re" "$out"
  exit 1
fi
echo "ok: $* -> $rc"
