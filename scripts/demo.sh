#!/usr/bin/env bash
# make demo: live migration of the KV server enclave under client load, between
# two network namespaces joined by a veth pair held to 10 Gbit/s.
#
#   scripts/demo.sh [BUILD_DIR]        (as root; make demo builds first)
#
# 1. scripts/netns.sh up: <p>-a (10.232.0.1) <-> <p>-b (10.232.0.2), tbf 10gbit.
# 2. kvserver runs as an enclave in <p>-a with a 2 GiB heap; a first kvload fills
#    it with DEMO_FILL_KEYS (default 150000) keys, values of 4000 bytes (about 0.5 GB).
# 3. kvload (in <p>-a; -a 10.232.0.1:7070 -a 10.232.0.2:7070, it reconnects to
#    whichever answers) keeps 4 connections busy from 2 s before the enclave is
#    live-migrated to <p>-b with the default strategy until 3 s after. kvload
#    checks every read and, with a DUMP, that no acknowledged write was lost.
# 4. The same again back to <p>-a with --strategy stop-and-copy: the baseline.
# 5. Prints downtime, total time, data sent and the longest client stall of both,
#    and writes into DEMO_RESULTS (default ./demo-results): summary.txt (those
#    figures), kv-timeline.png (client requests completed per DEMO_BUCKET_MS,
#    default 50, through both migrations, made by bench/kv/plot.sh) with its
#    data kv-timeline.dat, and each run's migrate JSON and kvload output.
# Everything it starts is killed by PID and the namespaces are removed on any
# exit. DEMO_KEEP=1 keeps the logs directory.
set -euo pipefail
export LC_ALL=C # one decimal point for $EPOCHREALTIME, awk and printf
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
RESULTS=${DEMO_RESULTS:-demo-results}
BUCKET_MS=${DEMO_BUCKET_MS:-50}
OPTMIG=$BUILD/bin/optmig KVSERVER=$BUILD/workloads/kvserver KVLOAD=$BUILD/workloads/kvload
NETNS=$ROOT/scripts/netns.sh
FILL_KEYS=${DEMO_FILL_KEYS:-150000}
P=omdemo$$ A=omdemo$$-a B=omdemo$$-b IPA=10.232.0.1 IPB=10.232.0.2 KVPORT=7070

die() { echo "demo: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (it creates network namespaces): sudo make demo"
for f in "$OPTMIG" "$KVSERVER" "$KVLOAD"; do [ -x "$f" ] || die "$f missing: build first (make build)"; done
[[ $BUCKET_MS =~ ^[1-9][0-9]*$ ]] || die "DEMO_BUCKET_MS: a positive whole number of ms, got '$BUCKET_MS'"
mkdir -p "$RESULTS" && RESULTS=$(cd "$RESULTS" && pwd) || die "cannot create the results directory $RESULTS"

TMP=$(mktemp -d /tmp/optmig-demo.XXXXXX)
pids=()
NS_UP=
# kill_tree SIG PID: a process and its descendants, by PID.
kill_tree() {
  local c
  for c in $(cat /proc/"$2"/task/*/children 2>/dev/null); do kill_tree "$1" "$c"; done
  kill -s "$1" "$2" 2>/dev/null || true
}
cleanup() {
  local rc=$? p f
  trap - EXIT
  set +e
  for p in "${pids[@]}"; do kill_tree KILL "$p"; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$NS_UP" ] && "$NETNS" down "$P" >/dev/null
  if [ "$rc" -ne 0 ]; then
    echo "---- demo logs ($TMP) ----"
    for f in "$TMP"/*.err "$TMP"/*.json "$TMP"/*.log; do [ -s "$f" ] && { echo "== ${f##*/}"; tail -n 15 "$f"; }; done
  fi
  if [ -n "${DEMO_KEEP:-}" ]; then echo "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

export OPTMIG_HOME=$TMP/home OPTMIG_RUNDIR=$TMP/run
mkdir -p "$OPTMIG_RUNDIR"
"$OPTMIG" keygen >/dev/null

# wait_line FILE ERE SECONDS PID: until FILE has a matching line; fails if PID ends first.
wait_line() {
  local end=$((SECONDS + $3))
  until grep -Eq -- "$2" "$1" 2>/dev/null; do
    kill -0 "$4" 2>/dev/null || die "process $4 ended before '$2' appeared in ${1##*/}"
    [ "$SECONDS" -lt "$end" ] || die "no '$2' in ${1##*/} after $3 s"
    sleep 0.05
  done
}
# wait_conns NS N SECONDS: until N client connections to the KV port are established in NS.
wait_conns() {
  local end=$((SECONDS + $3))
  until [ "$(ip netns exec "$1" ss -Htn state established "( sport = :$KVPORT )" | grep -c .)" -ge "$2" ]; do
    [ "$SECONDS" -lt "$end" ] || die "kvload did not connect within $3 s"
    sleep 0.05
  done
}
json() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }
# watch_listen NS FILE: a watcher in NS that writes the CLOCK_REALTIME at which the KV
# port first listens there: the destination re-binds it just before it resumes the
# enclave's threads. Polls /proc/net/tcp every 5 ms without forking.
watch_listen() {
  mkfifo "$2.tick"
  ip netns exec "$1" bash -c 'exec 3<>"$1"
    while :; do
      while read -r _ l _ st _; do
        [ "$st" = 0A ] && [ "${l##*:}" = "$2" ] && { echo "$EPOCHREALTIME" >"$3"; exit 0; }
      done </proc/net/tcp
      read -r -t 0.005 -u 3 _ || :
    done' watch "$2.tick" "$(printf %04X "$KVPORT")" "$2" &
  pids+=("$!")
}

# migrate_under_load TAG FROM_NS TO_NS TO_IP NAME PORT STRATEGY_ARGS...: kvload in
# namespace A; 2 s in, optmig migrate NAME to TO_IP:PORT; TAIL_SECS after it
# returns, SIGINT ends the load (kvload then checks). Writes TAG.marks: migrate
# started, returned, enclave resumed in TO_NS (CLOCK_REALTIME).
TAIL_SECS=3
migrate_under_load() {
  local tag=$1 from=$2 to_ns=$3 to=$4 name=$5 port=$6 load t_start t_end
  shift 6
  ip netns exec "$A" "$KVLOAD" -a "$IPA:$KVPORT" -a "$IPB:$KVPORT" -d 600 -c 4 -k 20000 -v 100 \
    -w 50 -x 10 -p "$tag" -R 60 -W 60 -o "$TMP/$tag.csv" >"$TMP/$tag.load.log" 2>&1 &
  load=$!
  pids+=("$load")
  wait_conns "$from" 4 20
  watch_listen "$to_ns" "$TMP/$tag.resumed"
  sleep 2
  t_start=$EPOCHREALTIME
  ip netns exec "$from" timeout -k 5 120 "$OPTMIG" migrate "$name" --to "$to:$port" --streams 2 --json "$@" \
    >"$TMP/$tag.json" 2>"$TMP/$tag.mig.err" || die "optmig migrate ($tag) failed: $(cat "$TMP/$tag.json" "$TMP/$tag.mig.err")"
  t_end=$EPOCHREALTIME
  sleep 0.1 # the watcher's last poll
  echo "$t_start $t_end $(cat "$TMP/$tag.resumed" 2>/dev/null || echo -)" >"$TMP/$tag.marks"
  [ -s "$TMP/$tag.resumed" ] || echo "demo: note: the KV port was not seen listening at the destination ($tag): no switchover mark"
  sleep "$TAIL_SECS"
  kill -INT "$load" 2>/dev/null || die "kvload ($tag) ended before the migration did: $(cat "$TMP/$tag.load.log")"
  wait "$load" || die "kvload ($tag) failed: $(cat "$TMP/$tag.load.log")"
  grep -q '^kvload: PASS$' "$TMP/$tag.load.log" || die "kvload ($tag) did not pass"
}

echo "== network: two namespaces, veth held to 10 Gbit/s"
"$NETNS" up "$P" 10gbit >"$TMP/netns.log" 2>&1 || die "netns.sh up: $(cat "$TMP/netns.log")"
NS_UP=1
sed 's/^netns.sh: /   /' "$TMP/netns.log"

echo "== kvserver enclave (2 GiB heap) in $A, listening on $IPA:$KVPORT"
ip netns exec "$A" "$OPTMIG" run --name kv-a --heap 2G "$KVSERVER" -- -a 0.0.0.0 -p "$KVPORT" -m 512M -c 64 \
  >"$TMP/src1.out" 2>"$TMP/src1.err" </dev/null &
src1=$!
pids+=("$src1")
wait_line "$TMP/src1.out" '^kvserver: listening on' 30 "$src1"
ip netns exec "$A" "$KVLOAD" -a "$IPA:$KVPORT" -d 8 -c 4 -k "$FILL_KEYS" -v 4000 -w 100 -p fill -R 10 -W 30 \
  >"$TMP/fill.load.log" 2>&1 || die "filling the store failed: $(cat "$TMP/fill.load.log")"
stats=$(ip netns exec "$A" timeout 10 bash -c "exec 3<>/dev/tcp/$IPA/$KVPORT; printf 'STATS\nQUIT\n' >&3; cat <&3" | grep '^STATS')
echo "   filled: $(awk '{ printf "%d keys, %.0f MB of keys and values", $3, $5 / 1e6 }' <<<"$stats")"

echo "== live migration $A -> $B, default strategy, under load (4 connections)"
ip netns exec "$B" "$OPTMIG" listen --port 7100 --once --name kv-b >"$TMP/dst1.out" 2>"$TMP/dst1.err" </dev/null &
dst1=$!
pids+=("$dst1")
wait_line "$TMP/dst1.err" 'listening on port' 20 "$dst1"
migrate_under_load live "$A" "$B" "$IPB" kv-a 7100
wait "$src1" || die "the source process ended with status $?"
echo "   $(grep -h '^kvload: \(requests\|verify\)' "$TMP/live.load.log" | sed 's/^kvload: //' | paste -sd';' | sed 's/;/; /')"

echo "== stop-and-copy migration $B -> $A (the baseline), under the same load"
ip netns exec "$A" "$OPTMIG" listen --port 7101 --once --name kv-a2 >"$TMP/dst2.out" 2>"$TMP/dst2.err" </dev/null &
dst2=$!
pids+=("$dst2")
wait_line "$TMP/dst2.err" 'listening on port' 20 "$dst2"
migrate_under_load stopcopy "$B" "$A" "$IPA" kv-b 7101 --strategy stop-and-copy
echo "   $(grep -h '^kvload: \(requests\|verify\)' "$TMP/stopcopy.load.log" | sed 's/^kvload: //' | paste -sd';' | sed 's/;/; /')"

stall() { sed -n 's/^kvload: longest_stall_ms \([0-9.]*\).*/\1/p' "$TMP/$1.load.log"; }
echo
{
echo "== result: KV server enclave, $(awk '{ printf "%.0f MB", $5 / 1e6 }' <<<"$stats") of data, 10 Gbit/s veth, 4 clients"
printf '   %-22s %13s %13s %11s %21s\n' strategy downtime_ms total_ms sent_MB longest_stall_ms
for tag in live stopcopy; do
  printf '   %-22s %13.1f %13.1f %11.1f %21.1f\n' \
    "$(json "$TMP/$tag.json" strategy)$([ $tag = live ] && echo ' (default)')" \
    "$(json "$TMP/$tag.json" downtime_ms)" "$(json "$TMP/$tag.json" total_ms)" \
    "$(awk -v b="$(json "$TMP/$tag.json" bytes_sent)" 'BEGIN { print b / 1e6 }')" "$(stall $tag)"
done
awk -v l="$(json "$TMP/live.json" downtime_ms)" -v s="$(json "$TMP/stopcopy.json" downtime_ms)" \
  -v ls="$(stall live)" -v ss="$(stall stopcopy)" 'BEGIN {
    if (l > 0 && s > 0) printf "   downtime %.0f%% lower than stop-and-copy", 100 * (1 - l / s); else printf "   downtime: n/a"
    if (ls > 0 && ss > 0) printf "; longest client stall %.0f%% lower\n", 100 * (1 - ls / ss); else printf "\n" }'
echo "   no acknowledged write lost (kvload DUMP check after each migration)"
for tag in live stopcopy; do
  dst=$([ $tag = live ] && echo dst1 || echo dst2)
  if awk -v d="$(json "$TMP/$tag.json" downtime_ms)" 'BEGIN { exit !(d < 0) }'; then
    echo "   note: no downtime figure for $tag (the destination did not report its resume): $(tail -n 1 "$TMP/$dst.err")"
  fi
done
} | tee "$RESULTS/summary.txt"
for tag in live stopcopy; do cp "$TMP/$tag.json" "$TMP/$tag.load.log" "$TMP/$tag.marks" "$RESULTS/"; done
echo "$stats" >"$RESULTS/fill.txt"
if "$ROOT/bench/kv/plot.sh" "$RESULTS/kv-timeline" "$BUCKET_MS" "$TMP/live" "$TMP/stopcopy" >"$TMP/plot.log" 2>&1; then
  echo "   throughput timeline: $RESULTS/kv-timeline.png (data: kv-timeline.dat; figures: summary.txt)"
else
  echo "demo: note: no timeline plot: $(tail -n 3 "$TMP/plot.log")"
  echo "   figures: $RESULTS/summary.txt"
fi
