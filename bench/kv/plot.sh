#!/usr/bin/env bash
# Client throughput timeline of KV-under-load migrations (issue 6, item 3): one
# gnuplot panel per run, on the same axes. Used by scripts/demo.sh.
#
#   bench/kv/plot.sh OUT BUCKET_MS RUN...
#
# RUN is a path prefix with these files:
#   RUN.csv       kvload -o: thread,start_ns,latency_ns,op,attempts (ns since kvload's start)
#   RUN.load.log  kvload's stdout (start_realtime_ns, longest_stall_ms)
#   RUN.json      optmig migrate --json (strategy, downtime_ms, total_ms)
#   RUN.marks     "START END SWITCH": CLOCK_REALTIME seconds when the migrate command
#                 started and returned, and when the enclave resumed at the
#                 destination ("-" if not seen)
# Writes OUT.dat (requests completed per bucket, seconds since each migrate
# command; a comment line per run gives its marks) and OUT.png.
# Exit status: 0 done, 1 failure, 2 usage error.
set -euo pipefail
export LC_ALL=C
[ $# -ge 3 ] || { sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }
OUTB=$1 BUCKET=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $BUCKET =~ ^[1-9][0-9]*$ ]] || { echo "plot.sh: BUCKET_MS: a positive whole number, got '$BUCKET'" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
json() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }

: >"$OUTB.dat"
n=0 sws="" ends="" downs="" colors="" titles=()
for run in "$@"; do
  for f in csv load.log json marks; do [ -s "$run.$f" ] || { echo "plot.sh: $run.$f missing or empty" >&2; exit 1; }; done
  read -r mstart mend msw <"$run.marks"
  t0=$(sed -n 's/^kvload: start_realtime_ns \([0-9]*\)$/\1/p' "$run.load.log")
  [ -n "$t0" ] || { echo "plot.sh: no start_realtime_ns in $run.load.log (kvload too old?)" >&2; exit 1; }
  strat=$(json "$run.json" strategy) down=$(json "$run.json" downtime_ms) total=$(json "$run.json" total_ms)
  stall=$(sed -n 's/^kvload: longest_stall_ms \([0-9.]*\).*/\1/p' "$run.load.log")
  sw=-1 end=$(awk -v a="$mstart" -v b="$mend" 'BEGIN { printf "%.3f", b - a }')
  [ "$msw" = - ] || sw=$(awk -v a="$mstart" -v b="$msw" 'BEGIN { printf "%.3f", b - a }')
  [ "$n" = 0 ] || printf '\n\n' >>"$OUTB.dat"
  echo "# $strat: migrate at 0 s, switchover at ${sw} s (-1: not seen), returned at $end s; downtime_ms $down total_ms $total longest_stall_ms $stall" >>"$OUTB.dat"
  # Completions per bucket, empty buckets as 0; the first and last (partial) buckets dropped.
  awk -F, -v off="$(awk -v t="$t0" -v m="$mstart" 'BEGIN { printf "%.6f", t / 1e9 - m }')" -v b="$BUCKET" '
    $2 ~ /^[0-9]+$/ { k = int((off + ($2 + $3) / 1e9) * 1000 / b + 1000000) - 1000000; c[k]++
                      if (lo == "" || k < lo) lo = k; if (hi == "" || k > hi) hi = k }
    END { for (k = lo + 1; k < hi; k++) printf "%.3f %.0f\n", k * b / 1000, c[k] * 1000 / b }' "$run.csv" >>"$OUTB.dat"
  n=$((n + 1))
  sws="$sws $sw" ends="$ends $end" downs="$downs ${down:-0}"
  case $strat in stop-and-copy) colors="$colors #c00000" ;; *) colors="$colors #00a040" ;; esac
  titles+=("$(awk -v s="$strat" -v d="$down" -v t="$total" -v l="$stall" 'function ms(v) { return v == "" || v < 0 ? "n/a" : sprintf("%.1f ms", v) }
    BEGIN { printf "%s: downtime %s, migrate command %s, longest client stall %s", s, ms(d), ms(t), ms(l) }')")
done
read -r xmin xmax ymax < <(awk '/^[-0-9]/ { if (xmin == "" || $1 < xmin) xmin = $1; if ($1 > xmax) xmax = $1; if ($2 > ymax) ymax = $2 }
  END { printf "%.2f %.2f %.0f\n", xmin, xmax, ymax * 1.1 + 1 }' "$OUTB.dat")
targs=()
for i in "${!titles[@]}"; do targs+=(-e "title$((i + 1))='${titles[$i]//\'/}'"); done
gnuplot -e "out='$OUTB.png'; file='$OUTB.dat'; n=$n; colors='${colors# }'; sws='${sws# }'; ends='${ends# }'; downs='${downs# }'" \
  -e "xmin=$xmin; xmax=$xmax; ymax=$ymax; bucket=$BUCKET" \
  -e "ptitle='KV server enclave under client load: requests completed per ${BUCKET} ms through the migration'" \
  "${targs[@]}" "$HERE/timeline.gp"
