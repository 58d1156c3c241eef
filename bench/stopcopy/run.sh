#!/usr/bin/env bash
# Stop-and-copy live migration between two network namespaces joined by veth:
# downtime, total time and the app's own worst pause, for several heap sizes,
# link rates and stream counts, beside the raw TCP rate of the same link and
# the one-core seal rate measured in the same run. See bench/stopcopy/README.
#
# Usage (root): bench/stopcopy/run.sh
#   SIZES="1 2 4 8"          memstress -s in GiB (heap: SIZE+1 GiB)
#   LINKS="10gbit unlimited" tbf rate per run, or "unlimited"
#   STREAMS=""               stream count to compare with 1; empty: pick the
#                            better of STREAMS_TRY at the first size on the
#                            unlimited link (or the first link)
#   STREAMS_TRY="2 4"
#   TAIL=10                  seconds the app keeps running after migration
#   PROBE_SECS=3             seconds per TCP probe
#   BUILD=$ROOT/build        where bin/optmig and samples/memstress are
#   OUT=$ROOT/bench/results  stopcopy.md and stopcopy.csv are written there
# Quick run: SIZES=1 LINKS=unlimited STREAMS=2 bench/stopcopy/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$ROOT/build}")
OUT=${OUT:-$ROOT/bench/results}
SIZES=${SIZES:-1 2 4 8}
LINKS=${LINKS:-10gbit unlimited}
STREAMS=${STREAMS:-}
STREAMS_TRY=${STREAMS_TRY:-2 4}
TAIL=${TAIL:-10}
PROBE_SECS=${PROBE_SECS:-3}
CC=${CC:-clang-14}
NETNS=$ROOT/scripts/netns.sh
PREFIX=omsc$$
NSA=$PREFIX-a NSB=$PREFIX-b
DST=10.232.0.2
OPTMIG=$BUILD/bin/optmig
APP=$BUILD/samples/memstress
CMDLINE="SIZES=\"$SIZES\" LINKS=\"$LINKS\" STREAMS=\"$STREAMS\" STREAMS_TRY=\"$STREAMS_TRY\" TAIL=$TAIL PROBE_SECS=$PROBE_SECS bench/stopcopy/run.sh"

die() { echo "stopcopy: $*" >&2; exit 1; }
log() { echo "stopcopy: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
{ [ -x "$OPTMIG" ] && [ -x "$APP" ]; } || die "no $OPTMIG or $APP: build first (make), or set BUILD="
command -v "$CC" > /dev/null || die "$CC not found"
for s in $SIZES; do [[ $s =~ ^[1-9][0-9]*$ ]] || die "SIZES: whole GiB, got '$s'"; done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src include samples 2> /dev/null || echo ' (src/include/samples modified)')"
TMP=$(mktemp -d /tmp/stopcopy.XXXXXX)
cd "$TMP" # nothing this script writes lands anywhere else by accident
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    "$NETNS" down "$PREFIX" > /dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ends one process we started, by PID, and forgets it.
reap() {
    local pid=$1
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && { kill -TERM "$pid" 2> /dev/null || true; sleep 1; kill -KILL "$pid" 2> /dev/null || true; }
    wait "$pid" 2> /dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

fcalc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
jfield() { jq -r ".$2 // empty" "$1" 2> /dev/null || true; }

# --- tools built for this run ------------------------------------------------
"$CC" -O2 -Wall -Wextra -pthread -o "$TMP/tcpprobe" "$ROOT/bench/stopcopy/tcpprobe.c"
"$CC" -std=gnu17 -O2 -I"$ROOT/src/crypto" -o "$TMP/bench_seal" "$ROOT/bench/crypto/bench_seal.c" \
    "$ROOT/src/crypto/util.c" "$ROOT/src/crypto/aead.c" "$ROOT/src/crypto/attest.c" \
    "$ROOT/src/crypto/manifest.c" /usr/lib/x86_64-linux-gnu/libbearssl.a

# --- one-core seal rate: om_seal, out of place, 256 MiB cold (what an export does)
log "measuring the one-core seal rate (bench/crypto/bench_seal.c, same run)"
"$TMP/bench_seal" 0.3 256 > "$TMP/seal.txt"
SEAL=$(awk '/^### Cold/ { c = 1 } c && /^\| om_seal, AES-NI\+PCLMUL, out of place/ { split($0, f, "|"); gsub(/ /, "", f[3]); print f[3]; exit }' "$TMP/seal.txt")
[ -n "$SEAL" ] || die "could not read the seal rate from bench_seal's output"
SEAL_REF=$(awk '/^### Cold/ { c = 1 } c && /^\| om_seal, AES-NI\+PCLMUL, out of place/ { split($0, f, "|"); gsub(/ /, "", f[3]); print f[3]; exit }' "$ROOT/bench/results/crypto.md" 2> /dev/null || true)
log "seal rate $SEAL GB/s (bench/results/crypto.md: ${SEAL_REF:-n/a} GB/s)"

# --- namespaces, keys ---------------------------------------------------------
"$NETNS" up "$PREFIX" > /dev/null
H=$TMP/home
mkdir -p "$H"
OPTMIG_HOME=$H "$OPTMIG" keygen > /dev/null

set_link() {
    if [ "$1" = unlimited ]; then "$NETNS" up "$PREFIX" > /dev/null; else "$NETNS" up "$PREFIX" "$1" > /dev/null; fi
}

# --- raw TCP rate of each link, 1..4 streams (GB/s, 10^9 B/s) -----------------
declare -A PROBE
probe() { # link streams
    local out=$TMP/probe.out pid
    ip netns exec "$NSB" "$TMP/tcpprobe" recv 5201 "$2" > "$out" 2> "$TMP/probe.err" &
    pid=$!
    PIDS+=("$pid")
    sleep 0.3
    ip netns exec "$NSA" "$TMP/tcpprobe" send "$DST" 5201 "$2" "$PROBE_SECS" || log "probe send failed"
    reap "$pid"
    PROBE[$1,$2]=$(awk '{ print $8 }' "$out")
    [ -n "${PROBE[$1,$2]}" ] || die "TCP probe on $1 with $2 streams gave nothing: $(cat "$TMP/probe.err")"
    log "link $1, $2 TCP stream(s): ${PROBE[$1,$2]} GB/s"
}
PROBE_KS="1 ${STREAMS:-$STREAMS_TRY}"
for link in $LINKS; do
    set_link "$link"
    for k in $PROBE_KS; do [ -n "${PROBE[$link,$k]:-}" ] || probe "$link" "$k"; done
done

# --- one migration --------------------------------------------------------------
CSV=$TMP/stopcopy.csv
echo "size_gib,heap,link,streams,result,downtime_ms,total_ms,before_stop_ms,bytes_sent,pages_sent,zero_pages,tool_mbps,tcp_gbyte_s,wire_ms,downtime_over_wire,seal_gbyte_s,seal_ms,downtime_over_seal,app_max_gap_ms,app_fill_ms,load1" > "$CSV"
declare -A ROW_DOWN
PER_GIB_S=15 # seconds of migration per GiB assumed before the first result
OBS_MAX=0
run=0
migrate_one() { # size link streams
    local size=$1 link=$2 k=$3 heap=$(($1 + 1))G dir pid_d pid_s t0 d
    run=$((run + 1))
    dir=$TMP/run$run
    mkdir -p "$dir/rundir"
    set_link "$link"
    # memstress's -d clock starts after its fill: leave room for the migration
    # (a generous estimate from earlier rows) and TAIL seconds after it. Should
    # the migration outlast it, max_gap_ms still holds the whole pause.
    d=$(awk -v s="$size" -v p="$PER_GIB_S" -v t="$TAIL" 'BEGIN { printf "%d", 3 + s * p + t }')
    ip netns exec "$NSB" env OPTMIG_HOME="$H" "$OPTMIG" listen --port 7900 --once --timeout 600 \
        > "$dir/dest.out" 2> "$dir/dest.err" &
    pid_d=$!
    PIDS+=("$pid_d")
    ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" run --name sc \
        --heap "$heap" "$APP" -- -s "${size}G" -t 2 -d "$d" -P 1000 > "$dir/src.out" 2>&1 &
    pid_s=$!
    PIDS+=("$pid_s")
    t0=$SECONDS
    until grep -q 'memstress: iter' "$dir/src.out"; do
        kill -0 "$pid_s" 2> /dev/null || { log "source app died: $(tail -3 "$dir/src.out")"; break; }
        [ $((SECONDS - t0)) -lt 600 ] || { log "source app never finished its fill"; break; }
        sleep 0.2
    done
    sleep 1
    local load1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" migrate sc \
        --to "$DST:7900" --streams "$k" --timeout 600 --json > "$dir/mig.json" 2> "$dir/mig.err" || true
    local result down total bytes pages zero mbps
    result=$(jfield "$dir/mig.json" result)
    down=$(jfield "$dir/mig.json" downtime_ms)
    total=$(jfield "$dir/mig.json" total_ms)
    bytes=$(jfield "$dir/mig.json" bytes_sent)
    pages=$(jfield "$dir/mig.json" pages_sent)
    zero=$(jfield "$dir/mig.json" zero_pages)
    mbps=$(jfield "$dir/mig.json" throughput_mbps)
    reap "$pid_s" # a migrated source ends by itself
    # The destination now runs the app until its -d deadline, then exits.
    t0=$SECONDS
    while kill -0 "$pid_d" 2> /dev/null && [ $((SECONDS - t0)) -lt $((d + 120)) ]; do sleep 0.5; done
    reap "$pid_d"
    local gap fill
    gap=$(awk '/^memstress: max_gap_ms/ { print $3 }' "$dir/dest.out")
    fill=$(awk '/^memstress: fill_ms/ { print $3 }' "$dir/dest.out")
    grep -q '^memstress: verify ok' "$dir/dest.out" || { [ "$result" != ok ] || result=verify-failed; }
    if [ "$result" != ok ]; then
        log "run $run ($size GiB, $link, $k streams): ${result:-no result}: $(cat "$dir/mig.err" "$dir/dest.err" | tail -5)"
        mkdir -p "$OUT/stopcopy-failed"
        cp -r "$dir" "$OUT/stopcopy-failed/run$run-${size}G-$link-$k"
    fi
    local tcp=${PROBE[$link,$k]:-} wire="" r_wire="" seal_ms="" r_seal="" before=""
    if [ -n "$bytes" ] && [ -n "$down" ]; then
        [ -z "$tcp" ] || { wire=$(fcalc "$bytes / ($tcp * 1e9) * 1000"); r_wire=$(fcalc "$down / $wire"); }
        seal_ms=$(fcalc "$bytes / ($SEAL * 1e9) * 1000")
        r_seal=$(fcalc "$down / $seal_ms")
        before=$(fcalc "$total - $down")
        OBS_MAX=$(awk -v t="$total" -v s="$size" -v m="$OBS_MAX" 'BEGIN { v = t / 1000 / s; printf "%.2f", (v > m ? v : m) }')
        PER_GIB_S=$(awk -v m="$OBS_MAX" 'BEGIN { v = 1.3 * m; printf "%.1f", (v < 4 ? 4 : v) }')
    fi
    ROW_DOWN[$size,$link,$k]=$down
    echo "$size,$heap,$link,$k,${result:-none},$down,$total,$before,$bytes,$pages,$zero,$mbps,$tcp,$wire,$r_wire,$SEAL,$seal_ms,$r_seal,$gap,$fill,$load1" >> "$CSV"
    log "run $run: $size GiB, $link, $k streams: ${result:-none}, downtime $down ms, total $total ms, app max gap $gap ms"
}

# --- stream count to compare with 1 -------------------------------------------
first_size=${SIZES%% *}
sel_link=${LINKS%% *}
for link in $LINKS; do [ "$link" != unlimited ] || sel_link=unlimited; done
if [ -z "$STREAMS" ]; then
    best="" best_down=""
    for k in $STREAMS_TRY; do
        migrate_one "$first_size" "$sel_link" "$k"
        d=${ROW_DOWN[$first_size,$sel_link,$k]}
        if [ -n "$d" ] && { [ -z "$best" ] || awk -v a="$d" -v b="$best_down" 'BEGIN { exit !(a < b) }'; }; then
            best=$k best_down=$d
        fi
    done
    [ -n "$best" ] || die "no stream count in STREAMS_TRY migrated"
    STREAMS=$best
    log "kept $STREAMS streams (lowest downtime at $first_size GiB on $sel_link)"
fi

# --- the matrix: per size, links side by side ---------------------------------
for size in $SIZES; do
    for link in $LINKS; do
        for k in 1 "$STREAMS"; do
            [ -n "${ROW_DOWN[$size,$link,$k]+x}" ] || migrate_one "$size" "$link" "$k"
        done
    done
done

# --- report ----------------------------------------------------------------------
mkdir -p "$OUT"
cp "$CSV" "$OUT/stopcopy.csv"
MD=$TMP/stopcopy.md
{
    echo "# Stop-and-copy migration: downtime and total time over veth"
    echo
    echo "Generated by \`$CMDLINE\` (BUILD=$BUILD)."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- source tree at the start: $COMMIT (BUILD must have been built from it)"
    echo "- uname -r: $(uname -r); nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null || echo n/a)"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (per-run 1-min load is in the CSV; other jobs share this machine)"
    echo "- app: \`optmig run --heap SIZE+1G memstress -s SIZE -t 2 -d D -P 1000\` (2 writer threads, random 64-byte writes flat out),"
    echo "  migrated once its fill is done; D leaves about $TAIL s of running after migration"
    echo "- link: namespaces $PREFIX-a/-b joined by veth (scripts/netns.sh); \"10gbit\" = \`tc tbf rate 10gbit\` on both ends"
    echo "- raw TCP rate: bench/stopcopy/tcpprobe.c, ${PROBE_SECS} s bulk send, receiver's clock, same stream count as the row"
    echo "- seal rate: $SEAL GB/s, one core, om_seal out of place on 256 MiB cold pages (bench/crypto/bench_seal.c built and run in this run;"
    echo "  bench/results/crypto.md recorded ${SEAL_REF:-n/a} GB/s)"
    echo
    echo "| link | TCP streams | raw TCP GB/s |"
    echo "|---|---|---|"
    for link in $LINKS; do
        for k in $PROBE_KS; do echo "$link $k"; done | awk '!seen[$0]++' | while read -r l k; do
            echo "| $l | $k | ${PROBE[$l,$k]} |"
        done
    done
    echo
    echo "downtime: source's last thread parked → destination's threads resumed (tool's figure)."
    echo "total: migrate command → source released. before stop = total − downtime (handshake, destination"
    echo "memory population while the app still runs). wire time = bytes_sent ÷ raw TCP rate of the row's link and"
    echo "stream count; seal time = bytes_sent ÷ one-core seal rate. app max gap: memstress's longest wait between"
    echo "two completed write batches, read at the destination when the app ends."
    echo
    echo "| heap GiB | link | streams | result | downtime ms | total ms | before stop ms | bytes sent | downtime ÷ wire time | downtime ÷ seal time | app max gap ms | gap ÷ downtime |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    tail -n +2 "$CSV" | while IFS=, read -r size _ link k result down total before bytes _ _ _ _ _ rw _ _ rs gap _ _; do
        ratio=""
        [ -z "$gap" ] || [ -z "$down" ] || ratio=$(fcalc "$gap / $down")
        echo "| $size | $link | $k | $result | $down | $total | $before | $bytes | $rw | $rs | $gap | $ratio |"
    done
    echo
    echo "Full data (pages, zero pages, tool throughput, wire and seal times, app fill time, load): stopcopy.csv."
} > "$MD"
cp "$MD" "$OUT/stopcopy.md"
cat "$OUT/stopcopy.md"
