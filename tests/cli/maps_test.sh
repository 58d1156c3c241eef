#!/usr/bin/env bash
# After memstress has allocated and written its heap inside the enclave, every
# large mapping made on the enclave's behalf must lie inside the enclave range:
# read the running optmig process's /proc/PID/maps from outside.
set -u
OPTMIG=$1 IMAGE=$2
BASE=$((0x200000000000))
TMP=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$OPTMIG" run --heap 2G "$IMAGE" -- -s 512M -t 2 -d 4 -P 1000 >"$TMP/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q "iter" "$TMP/out" 2>/dev/null && break
  sleep 0.1
done
grep -q "iter" "$TMP/out" || { echo "FAIL: memstress did not start"; cat "$TMP/out"; exit 1; }
cp "/proc/$pid/maps" "$TMP/maps"
# Sum the sizes of private writable mappings inside and outside the range.
read -r inside outside < <(awk -v base="$BASE" '
  function hex(s,  i, v, c) { v = 0; for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v }
  $2 ~ /^rw/ { split($1, r, "-"); lo = hex(r[1]); hi = hex(r[2]);
               if (lo >= base && lo < base + 2^40) inn += hi - lo; else out += hi - lo }
  END { printf "%.0f %.0f\n", inn, out }' "$TMP/maps")
# Resident memory by region tells where memstress's data really went.
rss_in=$(awk -v base="$BASE" '
  function hex(s,  i, v, c) { v = 0; for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v }
  /^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); cur = (hex(r[1]) >= base && hex(r[1]) < base + 2^40) }
  /^Rss:/ { if (cur) s += $2 } END { print s + 0 }' "/proc/$pid/smaps")
rss_out=$(awk -v base="$BASE" '
  function hex(s,  i, v, c) { v = 0; for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v }
  /^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); cur = !(hex(r[1]) >= base && hex(r[1]) < base + 2^40) }
  /^Rss:/ { if (cur) s += $2 } END { print s + 0 }' "/proc/$pid/smaps")
echo "writable mapped inside=$inside outside=$outside; resident inside=${rss_in}K outside=${rss_out}K"
fail=0
[ "$rss_in" -ge $((512 * 1024)) ] || { echo "FAIL: less than 512 MiB resident inside the range"; fail=1; }
# The host's own footprint (its binary, libc, per-thread blocks) stays small and
# does not grow with the enclave heap.
[ "$rss_out" -le $((96 * 1024)) ] || { echo "FAIL: ${rss_out} KiB resident outside the range"; fail=1; }
wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || { echo "FAIL: memstress exited $rc"; cat "$TMP/out"; fail=1; }
[ $fail = 0 ] && echo "ok: enclave memory stays inside the range"
exit $fail
