#!/usr/bin/env bash
# Live migration between two network namespaces joined by veth (tbf 10gbit):
# downtime, total time, the app's own worst pause and its throughput before,
# during and after migration, for every strategy x heap size x write rate
# (x tracker x link), with stop-and-copy and a run without migration in the
# same run, against the targets of issue 5. See bench/live/README.
#
# Usage (root): bench/live/run.sh
#   SIZES="1 2 4 8"          memstress -s in GiB (heap: SIZE+1 GiB)
#   STRATEGIES="stop-and-copy precopy postcopy hybrid"
#   RATES="low high"         memstress write rate: high = flat out (-r 0),
#                            low = LOW_RATE writes/s per thread (-r LOW_RATE)
#   LOW_RATE=20000           writes (64 B) per second per writer thread
#   TRACKERS="kernel"        --tracker values for the live strategies
#                            ("kernel compiler"; stop-and-copy runs once)
#   LINKS="10gbit"           tbf rate per run, or "unlimited" ("10gbit unlimited")
#   STREAMS=2                --streams (post-copy and hybrid need 2 or more)
#   THREADS=2                memstress writer threads (-t)
#   PRE=3                    seconds the app runs between its fill and migrate
#   TAIL=10                  seconds the app keeps running after migration
#   BASE_SECS=10             seconds of the no-migration baseline run
#   TICK_MS=100              memstress -L: timeline period on stderr
#   TL_SIZE=first of SIZES   size whose runs make the throughput timeline plot
#   PROBE_SECS=3             seconds per TCP probe
#   MIGRATE_ARGS=""          extra `optmig migrate` options (e.g. --max-downtime 50)
#   BUILD=$ROOT/build        where bin/optmig and samples/memstress are
#   APP=$BUILD/samples/memstress
#   OUT=$ROOT/bench/results  live.md, live.csv, live-*.png written there
# Quick run: SIZES=1 STRATEGIES="stop-and-copy hybrid" RATES=high bench/live/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$ROOT/build}")
OUT=${OUT:-$ROOT/bench/results}
SIZES=${SIZES:-1 2 4 8}
STRATEGIES=${STRATEGIES:-stop-and-copy precopy postcopy hybrid}
RATES=${RATES:-low high}
LOW_RATE=${LOW_RATE:-20000}
TRACKERS=${TRACKERS:-kernel}
LINKS=${LINKS:-10gbit}
STREAMS=${STREAMS:-2}
THREADS=${THREADS:-2}
PRE=${PRE:-3}
TAIL=${TAIL:-10}
BASE_SECS=${BASE_SECS:-10}
TICK_MS=${TICK_MS:-100}
TL_SIZE=${TL_SIZE:-${SIZES%% *}}
PROBE_SECS=${PROBE_SECS:-3}
MIGRATE_ARGS=${MIGRATE_ARGS:-}
CC=${CC:-clang-14}
NETNS=$ROOT/scripts/netns.sh
PREFIX=omlv$$
NSA=$PREFIX-a NSB=$PREFIX-b
DST=10.232.0.2
OPTMIG=$BUILD/bin/optmig
APP=$(realpath -m "${APP:-$BUILD/samples/memstress}")
HERE=$ROOT/bench/live
CMDLINE="SIZES=\"$SIZES\" STRATEGIES=\"$STRATEGIES\" RATES=\"$RATES\" LOW_RATE=$LOW_RATE TRACKERS=\"$TRACKERS\" LINKS=\"$LINKS\" STREAMS=$STREAMS THREADS=$THREADS PRE=$PRE TAIL=$TAIL BASE_SECS=$BASE_SECS TICK_MS=$TICK_MS TL_SIZE=$TL_SIZE PROBE_SECS=$PROBE_SECS${MIGRATE_ARGS:+ MIGRATE_ARGS=\"$MIGRATE_ARGS\"} bench/live/run.sh"

die() { echo "live: $*" >&2; exit 1; }
log() { echo "live: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
{ [ -x "$OPTMIG" ] && [ -f "$APP" ]; } || die "no $OPTMIG or $APP: build first (make), or set BUILD= / APP="
command -v "$CC" > /dev/null || die "$CC not found"
command -v jq > /dev/null || die "jq not found (apt-get install jq, or scripts/install-deps.sh)"
command -v gnuplot > /dev/null || die "gnuplot not found: the plots need it (apt-get install gnuplot-nox, or scripts/install-deps.sh)"
gnuplot -e 'set terminal pngcairo' > /dev/null 2>&1 || die "this gnuplot has no pngcairo terminal (install gnuplot-nox)"
for s in $SIZES; do [[ $s =~ ^[1-9][0-9]*$ ]] || die "SIZES: whole GiB, got '$s'"; done
for s in $STRATEGIES; do
    case $s in stop-and-copy | precopy | postcopy | hybrid) ;; *) die "STRATEGIES: unknown '$s'" ;; esac
done
for r in $RATES; do case $r in low | high) ;; *) die "RATES: low or high, got '$r'" ;; esac; done
for t in $TRACKERS; do case $t in kernel | compiler | auto) ;; *) die "TRACKERS: kernel, compiler or auto, got '$t'" ;; esac; done
for v in LOW_RATE STREAMS THREADS PRE TAIL BASE_SECS TICK_MS PROBE_SECS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "$v: a positive whole number, got '${!v}'"
done
[ -n "$SIZES" ] && [ -n "$STRATEGIES" ] && [ -n "$RATES" ] && [ -n "$TRACKERS" ] && [ -n "$LINKS" ] || die "empty SIZES, STRATEGIES, RATES, TRACKERS or LINKS"
case " $STRATEGIES " in *" postcopy "* | *" hybrid "*) [ "$STREAMS" -ge 2 ] || die "STREAMS: post-copy and hybrid need 2 or more" ;; esac

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src include samples 2> /dev/null || echo ' (src/include/samples modified)')"
TMP=$(mktemp -d /tmp/live.XXXXXX)
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
    local pid=$1 grace=${2:-50}
    for _ in $(seq "$grace"); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && { kill -TERM "$pid" 2> /dev/null || true; sleep 1; kill -KILL "$pid" 2> /dev/null || true; }
    wait "$pid" 2> /dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

fcalc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
jfield() { jq -r ".$2 // empty" "$1" 2> /dev/null || true; }
mem_avail_gib() { awk '/^MemAvailable:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo; }
# AnonHugePages of one process, MiB (random writes over GiBs are TLB-bound: 2 MiB pages matter)
thp_mib() { awk '/^AnonHugePages:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/smaps_rollup" 2> /dev/null || true; }
rate_arg() { if [ "$1" = high ]; then echo 0; else echo "$LOW_RATE"; fi; }

# --- tools built for this run ------------------------------------------------
"$CC" -O2 -Wall -Wextra -pthread -o "$TMP/tcpprobe" "$ROOT/bench/stopcopy/tcpprobe.c"
# CLOCK_MONOTONIC in ms: the clock memstress -L stamps its timeline with.
"$CC" -O2 -x c -o "$TMP/monoms" - << 'EOF'
#include <stdio.h>
#include <time.h>
int main(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); printf("%.3f\n", t.tv_sec * 1e3 + t.tv_nsec / 1e6); return 0; }
EOF
# The app must have -L (bench/live needs memstress's stderr timeline).
"$APP" -h 2> /dev/null | grep -q -- '-L MS' || "$OPTMIG" run --heap 64M "$APP" -- -h 2> /dev/null | grep -q -- '-L MS' ||
    die "$APP has no -L timeline option: rebuild it from this tree's samples/memstress.c"

# --- namespaces, keys ---------------------------------------------------------
"$NETNS" up "$PREFIX" > /dev/null
H=$TMP/home
mkdir -p "$H"
OPTMIG_HOME=$H "$OPTMIG" keygen > /dev/null

set_link() {
    if [ "$1" = unlimited ]; then "$NETNS" up "$PREFIX" > /dev/null; else "$NETNS" up "$PREFIX" "$1" > /dev/null; fi
}

# --- raw TCP rate of each link with STREAMS streams (GB/s, 10^9 B/s) ----------
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
for link in $LINKS; do
    set_link "$link"
    probe "$link" "$STREAMS"
done

# Waits for memstress's first timeline line (printed when its fill ends).
wait_fill() { # errfile pid
    local t0=$SECONDS
    until grep -q '^memstress: tl ' "$1" 2> /dev/null; do
        kill -0 "$2" 2> /dev/null || { log "app died before its fill ended: $(tail -3 "$1")"; return 1; }
        [ $((SECONDS - t0)) -lt 900 ] || { log "app never finished its fill"; return 1; }
        sleep 0.2
    done
}

# Rates in writes/s from merged "memstress: tl MONO REAL ITERS WRITES" lines,
# over [a, b] (ms, CLOCK_MONOTONIC), by linear interpolation between samples.
# Prints: before during postswitch after (empty when a window has no samples).
# T0/T1: migrate command start/end; TSW: destination's first sample.
rates() { # t0 t1 tsw pre_s files...
    local t0=$1 t1=$2 tsw=$3 pre=$4
    shift 4
    cat "$@" 2> /dev/null | awk '$1 == "memstress:" && $2 == "tl" { print $3, $6 }' | sort -n -k1,1 |
        awk -v t0="$t0" -v t1="$t1" -v tsw="$tsw" -v pre="$pre" '
        { t[n] = $1; w[n] = $2; n++ }
        function at(x,   i) {
            if (n == 0 || x < t[0] || x > t[n - 1]) return "";
            for (i = 1; i < n && t[i] < x; i++) ;
            if (i >= n) return w[n - 1];
            if (t[i] == t[i - 1]) return w[i];
            return w[i - 1] + (w[i] - w[i - 1]) * (x - t[i - 1]) / (t[i] - t[i - 1]);
        }
        function rate(a, b,   wa, wb) {
            if (a == "" || b == "" || b - a < 150) return "";
            wa = at(a); wb = at(b);
            if (wa == "" || wb == "") return "";
            return sprintf("%.0f", (wb - wa) / (b - a) * 1000);
        }
        END {
            if (n == 0) { print "x x x x"; exit }
            last = t[n - 1];
            b = rate(t0 - (pre - 0.5) * 1000, t0);
            d = rate(t0, t1);
            p = tsw == "" ? "" : rate(tsw, t1);
            e = t1 + 500; f = last - 200;       # settled, and before the final partial tick
            a = f > e ? rate(e, f) : "";
            printf "%s %s %s %s\n", (b == "" ? "x" : b), (d == "" ? "x" : d), (p == "" ? "x" : p), (a == "" ? "x" : a);
        }'
}

# Per-tick throughput, relative to base (%), seconds since t0: "t_s pct".
ticks() { # t0 base files...
    local t0=$1 base=$2
    shift 2
    cat "$@" 2> /dev/null | awk '$1 == "memstress:" && $2 == "tl" { print $3, $6 }' | sort -n -k1,1 |
        awk -v t0="$t0" -v base="$base" '
        NR > 1 && $1 > pt { printf "%.3f %.1f\n", (pt - t0) / 1000, ($2 - pw) / ($1 - pt) * 1000 / base * 100 }
        { pt = $1; pw = $2 }'
}

# --- baseline: the same app, no migration --------------------------------------
declare -A BASE BASE_GAP
baseline_one() { # size rate
    local size=$1 rate=$2 heap=$(($1 + 1))G dir=$TMP/base-$1-$2 pid d avail
    mkdir -p "$dir/rundir"
    avail=$(mem_avail_gib)
    if awk -v a="$avail" -v s="$size" 'BEGIN { exit !(a < s + 2) }'; then
        log "baseline $size GiB $rate: skipped, only $avail GiB available"
        BASE[$size,$rate]="" BASE_GAP[$size,$rate]=""
        return
    fi
    d=$((PRE + BASE_SECS))
    ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" run --name lvb \
        --heap "$heap" "$APP" -- -s "${size}G" -t "$THREADS" -r "$(rate_arg "$rate")" -d "$d" -L "$TICK_MS" \
        > "$dir/src.out" 2> "$dir/src.err" &
    pid=$!
    PIDS+=("$pid")
    wait_fill "$dir/src.err" "$pid" || true
    local t0=$SECONDS
    while kill -0 "$pid" 2> /dev/null && [ $((SECONDS - t0)) -lt $((d + 120)) ]; do sleep 0.5; done
    reap "$pid"
    # steady state: from 1 s after the fill to the last full tick
    BASE[$size,$rate]=$(awk '$1 == "memstress:" && $2 == "tl" { t[n] = $3; w[n] = $6; n++ }
        END { if (n < 4) exit; for (i = 0; i < n && t[i] < t[0] + 1000; i++) ;
              if (i >= n - 2) exit; printf "%.0f", (w[n - 2] - w[i]) / (t[n - 2] - t[i]) * 1000 }' "$dir/src.err")
    BASE_GAP[$size,$rate]=$(awk '/^memstress: max_gap_ms/ { print $3 }' "$dir/src.out")
    grep -q '^memstress: verify ok' "$dir/src.out" || log "baseline $size GiB $rate: no 'verify ok': $(tail -3 "$dir/src.out" "$dir/src.err")"
    log "baseline $size GiB, $rate rate: ${BASE[$size,$rate]:-?} writes/s, max gap ${BASE_GAP[$size,$rate]:-?} ms"
}

# --- one migration --------------------------------------------------------------
CSV=$TMP/live.csv
echo "size_gib,heap,rate,link,tracker,strategy,streams,result,switched,downtime_ms,switchover_ms,total_ms,pages_sent,zero_pages,bytes_sent,rounds,final_pages,postcopy_pages,demand_pages,tool_mbps,sc_downtime_ms,downtime_reduction_pct,link_gbyte_s,total_target_ms,total_over_target,app_max_gap_ms,base_wps,before_wps,during_wps,postswitch_wps,after_wps,before_pct,during_pct,postswitch_pct,after_pct,base_max_gap_ms,src_thp_mib,dst_thp_mib,load1,error" > "$CSV"
declare -A ROW_DOWN RUNDIR
PER_GIB_S=15 # seconds of migration per GiB assumed before the first result
OBS_MAX=0
run=0
migrate_one() { # size rate link tracker strategy
    local size=$1 rate=$2 link=$3 trk=$4 strat=$5 heap=$(($1 + 1))G dir pid_d pid_s d avail
    run=$((run + 1))
    dir=$TMP/run$run
    mkdir -p "$dir/rundir"
    local key="$size,$rate,$link,$trk,$strat"
    RUNDIR[$key]=$dir
    set_link "$link"
    avail=$(mem_avail_gib)
    local load1 result="" sw="" down="" swms="" total="" pages="" zero="" bytes="" rounds="" finalp="" pcp="" dem="" mbps="" err=""
    local gap="" t0m="" t1m="" tsw="" sthp="" dthp=""
    load1=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v a="$avail" -v s="$size" 'BEGIN { exit !(a < 2 * s + 2) }'; then
        result=skipped-memory err="only $avail GiB available; source and destination need about $((2 * size + 2)) GiB"
        log "run $run ($key): $err"
    else
        # memstress's -d clock starts after its fill: PRE s before migrate, the
        # migration (a generous estimate from earlier rows), TAIL s after it.
        d=$(awk -v s="$size" -v p="$PER_GIB_S" -v t="$TAIL" -v pre="$PRE" 'BEGIN { printf "%d", pre + 3 + s * p + t }')
        ip netns exec "$NSB" env OPTMIG_HOME="$H" "$OPTMIG" listen --port 7900 --once --timeout 900 \
            > "$dir/dest.out" 2> "$dir/dest.err" &
        pid_d=$!
        PIDS+=("$pid_d")
        ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" run --name lv \
            --heap "$heap" "$APP" -- -s "${size}G" -t "$THREADS" -r "$(rate_arg "$rate")" -d "$d" -L "$TICK_MS" \
            > "$dir/src.out" 2> "$dir/src.err" &
        pid_s=$!
        PIDS+=("$pid_s")
        wait_fill "$dir/src.err" "$pid_s" || true
        sleep "$PRE"
        load1=$(cut -d' ' -f1 /proc/loadavg)
        sthp=$(thp_mib "$pid_s")
        local targs=()
        [ "$strat" = stop-and-copy ] || targs=(--tracker "$trk")
        echo "optmig migrate lv --to $DST:7900 --strategy $strat ${targs[*]} --streams $STREAMS --timeout 600 --json $MIGRATE_ARGS" > "$dir/cmd"
        t0m=$("$TMP/monoms")
        # shellcheck disable=SC2086 # MIGRATE_ARGS: words on purpose
        ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" migrate lv \
            --to "$DST:7900" --strategy "$strat" "${targs[@]}" --streams "$STREAMS" --timeout 600 --json $MIGRATE_ARGS \
            > "$dir/mig.json" 2> "$dir/mig.err" || true
        t1m=$("$TMP/monoms")
        result=$(jfield "$dir/mig.json" result)
        sw=$(jfield "$dir/mig.json" switched)
        down=$(jfield "$dir/mig.json" downtime_ms)
        swms=$(jfield "$dir/mig.json" switchover_ms)
        total=$(jfield "$dir/mig.json" total_ms)
        pages=$(jfield "$dir/mig.json" pages_sent)
        zero=$(jfield "$dir/mig.json" zero_pages)
        bytes=$(jfield "$dir/mig.json" bytes_sent)
        rounds=$(jfield "$dir/mig.json" rounds)
        finalp=$(jfield "$dir/mig.json" final_pages)
        pcp=$(jfield "$dir/mig.json" postcopy_pages)
        dem=$(jfield "$dir/mig.json" demand_pages)
        mbps=$(jfield "$dir/mig.json" throughput_mbps)
        err=$(jfield "$dir/mig.json" error)
        [ -n "$err" ] || [ "$result" = ok ] || err=$(tail -2 "$dir/mig.err" | tr '\n' ' ')
        # negative figures mean "not measured"
        awk -v v="$down" 'BEGIN { exit !(v != "" && v < 0) }' && down=""
        awk -v v="$swms" 'BEGIN { exit !(v != "" && v < 0) }' && swms=""
        if [ "$result" = ok ] || [ "$sw" = true ]; then
            sleep 1
            dthp=$(thp_mib "$pid_d")
            reap "$pid_s" # a migrated source ends by itself
            # The destination runs the app until its -d deadline, then exits.
            local t0=$SECONDS
            while kill -0 "$pid_d" 2> /dev/null && [ $((SECONDS - t0)) -lt $((d + 120)) ]; do sleep 0.5; done
            reap "$pid_d"
            gap=$(awk '/^memstress: max_gap_ms/ { print $3 }' "$dir/dest.out")
            if ! grep -q '^memstress: verify ok' "$dir/dest.out" && [ "$result" = ok ]; then
                result=verify-failed
                err="the app at the destination: $(grep -m1 'verify FAILED' "$dir/dest.out" || echo 'no verify line'); $(grep -m1 '^memstress: object' "$dir/dest.err" || tail -1 "$dir/dest.err")"
            fi
        else
            reap "$pid_d" 20 # nothing moved: the destination has nothing to run
            local t0=$SECONDS     # the app keeps running at the source until its deadline
            while kill -0 "$pid_s" 2> /dev/null && [ $((SECONDS - t0)) -lt $((d + 120)) ]; do sleep 0.5; done
            reap "$pid_s"
            gap=$(awk '/^memstress: max_gap_ms/ { print $3 }' "$dir/src.out")
        fi
        tsw=$(awk '$1 == "memstress:" && $2 == "tl" { print $3; exit }' "$dir/dest.err")
        if [ -n "$total" ] && [ "$result" = ok ]; then
            OBS_MAX=$(awk -v t="$total" -v s="$size" -v m="$OBS_MAX" 'BEGIN { v = t / 1000 / s; printf "%.2f", (v > m ? v : m) }')
            PER_GIB_S=$(awk -v m="$OBS_MAX" 'BEGIN { v = 1.3 * m; printf "%.1f", (v < 4 ? 4 : v) }')
        fi
    fi
    [ -n "$result" ] || result=none
    # throughput before / during / after, against the baseline of the same size and rate
    local base=${BASE[$size,$rate]:-} bw="" dw="" pw="" aw="" bp="" dp="" pp="" ap=""
    if [ -n "$t0m" ]; then
        local tend=$t1m
        [ -z "$total" ] || tend=$(fcalc "$t0m + $total")
        read -r bw dw pw aw < <(rates "$t0m" "$tend" "$tsw" "$PRE" "$dir/src.err" "$dir/dest.err")
        [ "$bw" != x ] || bw=""
        [ "$dw" != x ] || dw=""
        [ "$pw" != x ] || pw=""
        [ "$aw" != x ] || aw=""
        if [ -n "$base" ] && [ "$base" -gt 0 ]; then
            [ -z "$bw" ] || bp=$(awk -v a="$bw" -v b="$base" 'BEGIN { printf "%.1f", a / b * 100 }')
            [ -z "$dw" ] || dp=$(awk -v a="$dw" -v b="$base" 'BEGIN { printf "%.1f", a / b * 100 }')
            [ -z "$pw" ] || pp=$(awk -v a="$pw" -v b="$base" 'BEGIN { printf "%.1f", a / b * 100 }')
            [ -z "$aw" ] || ap=$(awk -v a="$aw" -v b="$base" 'BEGIN { printf "%.1f", a / b * 100 }')
            ticks "$t0m" "$base" "$dir/src.err" "$dir/dest.err" > "$dir/ticks.dat"
        fi
        echo "$t0m $t1m ${total:-}" > "$dir/window"
    fi
    if [ "$result" != ok ]; then
        log "run $run ($key): $result: ${err:-}"
        mkdir -p "$OUT/live-failed"
        rm -rf "$OUT/live-failed/run$run-${size}G-$rate-$link-$trk-$strat"
        cp -r "$dir" "$OUT/live-failed/run$run-${size}G-$rate-$link-$trk-$strat"
        rm -rf "$OUT/live-failed/run$run-${size}G-$rate-$link-$trk-$strat/rundir"
    fi
    # stop-and-copy of the same size, rate and link, run just before (see order)
    local sc=${ROW_DOWN[$size,$rate,$link,sc]:-} red=""
    [ "$strat" != stop-and-copy ] || { ROW_DOWN[$size,$rate,$link,sc]=$down; sc=""; }
    [ -z "$sc" ] || [ -z "$down" ] || red=$(awk -v a="$down" -v b="$sc" 'BEGIN { if (b > 0) printf "%.2f", (1 - a / b) * 100 }')
    # total-time target: 1.3 x heap data bytes / measured link rate
    local lr=${PROBE[$link,$STREAMS]:-} target="" over=""
    [ -z "$lr" ] || target=$(awk -v s="$size" -v r="$lr" 'BEGIN { printf "%.0f", 1.3 * s * 1073741824 / (r * 1e9) * 1000 }')
    [ -z "$target" ] || [ -z "$total" ] || [ "$result" != ok ] || over=$(fcalc "$total / $target")
    err=$(printf '%s' "$err" | tr ',\n' '; ')
    echo "$size,$heap,$rate,$link,$trk,$strat,$STREAMS,$result,$sw,$down,$swms,$total,$pages,$zero,$bytes,$rounds,$finalp,$pcp,$dem,$mbps,$sc,$red,$lr,$target,$over,$gap,$base,$bw,$dw,$pw,$aw,$bp,$dp,$pp,$ap,${BASE_GAP[$size,$rate]:-},$sthp,$dthp,$load1,$err" >> "$CSV"
    log "run $run: $size GiB, $rate, $link, $trk, $strat: $result, downtime ${down:-?} ms, total ${total:-?} ms, app max gap ${gap:-?} ms, throughput during ${dp:-?} % of baseline"
}

# --- the matrix: per size and rate, a baseline, then stop-and-copy first and the
# live strategies side by side ---------------------------------------------------
LIVE_STRATS=""
HAVE_SC=0
for s in $STRATEGIES; do if [ "$s" = stop-and-copy ]; then HAVE_SC=1; else LIVE_STRATS="$LIVE_STRATS $s"; fi; done
rm -rf "$OUT/live-failed" # the report lists this run's failures only
T_START=$SECONDS
for size in $SIZES; do
    for rate in $RATES; do
        baseline_one "$size" "$rate"
        for link in $LINKS; do
            [ "$HAVE_SC" = 0 ] || migrate_one "$size" "$rate" "$link" - stop-and-copy
            for trk in $TRACKERS; do
                for strat in $LIVE_STRATS; do migrate_one "$size" "$rate" "$link" "$trk" "$strat"; done
            done
        done
    done
done
log "matrix done in $((SECONDS - T_START)) s"

# --- plots -------------------------------------------------------------------------
PLOT=$TMP/plot
mkdir -p "$PLOT"
FIRST_LINK=${LINKS%% *}
FIRST_TRK=${TRACKERS%% *}
NLINKS=$(wc -w <<< "$LINKS")
NTRK=$(wc -w <<< "$TRACKERS")
XMAX=$(tr ' ' '\n' <<< "$SIZES" | sort -n | tail -1)
color_of() { case $1 in stop-and-copy) echo '#c00000' ;; precopy) echo '#e08000' ;; postcopy) echo '#0060c0' ;; hybrid) echo '#00a040' ;; *) echo '#000000' ;; esac; }
# One data file per series (strategy, rate, tracker, link): "size value", header = title.
# col: CSV column of the value. Lists for gnuplot: files, colors, dash types.
series() { # col name
    local col=$1 name=$2 files="" colors="" dashes=""
    for rate in $RATES; do
        for link in $LINKS; do
            for trk in - $TRACKERS; do
                for strat in $STRATEGIES; do
                    { [ "$strat" = stop-and-copy ] && [ "$trk" = - ]; } || { [ "$strat" != stop-and-copy ] && [ "$trk" != - ]; } || continue
                    local title="$strat, $rate rate" f
                    [ "$NTRK" = 1 ] || [ "$trk" = - ] || title="$title, $trk"
                    [ "$NLINKS" = 1 ] || title="$title, $link"
                    f=$PLOT/$name-$rate-$link-$trk-$strat.dat
                    echo "size \"$title\"" > "$f"
                    awk -F, -v r="$rate" -v l="$link" -v t="$trk" -v s="$strat" -v c="$col" \
                        '$3 == r && $4 == l && $5 == t && $6 == s && $8 == "ok" && $c != "" { print $1, $c }' "$CSV" | sort -n >> "$f"
                    [ "$(wc -l < "$f")" -gt 1 ] || { rm -f "$f"; continue; }
                    files="$files $f"
                    colors="$colors $(color_of "$strat")"
                    if [ "$rate" = high ]; then dashes="$dashes 1"; else dashes="$dashes 2"; fi
                done
            done
        done
    done
    echo "${files# }|${colors# }|${dashes# }"
}
plot_size() { # col name ylabel logy target target_title title
    local s files colors dashes
    s=$(series "$1" "$2")
    IFS='|' read -r files colors dashes <<< "$s"
    if [ -z "$files" ]; then log "plot $2: no successful rows, skipped"; return; fi
    gnuplot -e "out='$OUT/live-$2.png'; files='$files'; colors='$colors'; dashes='$dashes'; ylab='$3'; logy=$4; target=$5; ttitle='$6'; ptitle='$7'; xmax=$XMAX" \
        "$HERE/size.gp" || log "gnuplot failed for live-$2.png"
}
plot_size 10 downtime "downtime (ms, log scale)" 1 10 "target for post-copy and hybrid: 10 ms" "Downtime against heap size"
plot_size 26 maxgap "app worst pause, memstress max_gap_ms (ms, log scale)" 1 50 "target at 1 GiB, flat-out writes: 50 ms" "App-observed worst pause against heap size"
# total time, with the 1.3 x size / link rate target per link as its own series
tfiles="" tcolors="" tdashes=""
for link in $LINKS; do
    f=$PLOT/target-$link.dat
    echo "size \"target: 1.3 x data bytes / TCP rate ($link)\"" > "$f"
    for size in $SIZES; do echo "$size $(awk -v s="$size" -v r="${PROBE[$link,$STREAMS]}" 'BEGIN { printf "%.0f", 1.3 * s * 1073741824 / (r * 1e9) * 1000 }')"; done | sort -n >> "$f"
    tfiles="$tfiles $f" tcolors="$tcolors #000000" tdashes="$tdashes 3"
done
s=$(series 12 total)
IFS='|' read -r files colors dashes <<< "$s"
if [ -n "$files" ]; then
    gnuplot -e "out='$OUT/live-total.png'; files='$files$tfiles'; colors='$colors$tcolors'; dashes='$dashes$tdashes'; ylab='total migration time (ms)'; logy=0; target=0; ttitle=''; ptitle='Total migration time against heap size'; xmax=$XMAX" \
        "$HERE/size.gp" || log "gnuplot failed for live-total.png"
else
    log "plot total: no successful rows, skipped"
fi
# throughput timeline: every strategy at TL_SIZE, high rate if run, first link and tracker
TL_RATE=low
case " $RATES " in *" high "*) TL_RATE=high ;; esac
TLDAT=$OUT/live-timeline.dat
: > "$TLDAT"
tl_titles="" tl_colors="" nb=0
for strat in $STRATEGIES; do
    trk=$FIRST_TRK
    [ "$strat" != stop-and-copy ] || trk=-
    dir=${RUNDIR[$TL_SIZE,$TL_RATE,$FIRST_LINK,$trk,$strat]:-}
    [ -n "$dir" ] && [ -s "$dir/ticks.dat" ] || continue
    [ "$nb" = 0 ] || printf '\n\n' >> "$TLDAT"
    read -r t0m t1m total < "$dir/window"
    end=$(if [ -n "$total" ]; then fcalc "$total / 1000"; else fcalc "($t1m - $t0m) / 1000"; fi)
    echo "# $strat, $TL_SIZE GiB, $TL_RATE rate, $FIRST_LINK$([ "$trk" = - ] || echo ", $trk tracker"); migration ends at $end s" >> "$TLDAT"
    echo "t_s \"$strat (ends at $end s)\"" >> "$TLDAT"
    cat "$dir/ticks.dat" >> "$TLDAT"
    tl_colors="$tl_colors $(color_of "$strat")"
    nb=$((nb + 1))
done
if [ "$nb" -gt 0 ]; then
    gnuplot -e "out='$OUT/live-timeline.png'; file='$TLDAT'; nblocks=$nb; colors='${tl_colors# }'; ptitle='memstress throughput, $TL_SIZE GiB, $TL_RATE write rate, $FIRST_LINK (100 % = the same app without migration)'" \
        "$HERE/timeline.gp" || log "gnuplot failed for live-timeline.png"
else
    rm -f "$TLDAT"
    log "timeline plot: no run with a timeline at $TL_SIZE GiB, skipped"
fi

# --- report ----------------------------------------------------------------------
cp "$CSV" "$OUT/live.csv"
MD=$TMP/live.md
{
    echo "# Live migration: downtime, total time, app pause and throughput over veth"
    echo
    echo "Generated by \`$CMDLINE\` (BUILD=$BUILD, APP=$APP)."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); the matrix took $((SECONDS - T_START)) s"
    echo "- source tree at the start: $COMMIT (BUILD must have been built from it)"
    echo "- uname -r: $(uname -r); nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null || echo n/a)"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (per-run 1-min load is in the CSV; other jobs may share this machine)"
    echo "- app: \`optmig run --heap SIZE+1G memstress -s SIZE -t $THREADS -r R -d D -L $TICK_MS\`: $THREADS writer threads, random 64-byte"
    echo "  writes; high rate = flat out (\`-r 0\`), low rate = $LOW_RATE writes/s per thread (\`-r $LOW_RATE\`, batches of $((LOW_RATE / 1000 > 0 ? (LOW_RATE / 1000 > 1024 ? 1024 : LOW_RATE / 1000) : 1)))."
    echo "  Migrated $PRE s after its fill ends; D leaves about $TAIL s of running after migration."
    echo "- migrate: \`optmig migrate --strategy S [--tracker T] --streams $STREAMS --json${MIGRATE_ARGS:+ $MIGRATE_ARGS}\`; stop-and-copy runs first, then the"
    echo "  live strategies, one after another on the same machine, for each size and rate"
    echo "- link: namespaces $PREFIX-a/-b joined by veth (scripts/netns.sh); \"10gbit\" = \`tc tbf rate 10gbit\` on both ends"
    echo "- raw TCP rate: bench/stopcopy/tcpprobe.c, ${PROBE_SECS} s bulk send with $STREAMS streams, receiver's clock:"
    for link in $LINKS; do echo "  $link: ${PROBE[$link,$STREAMS]} GB/s"; done
    echo "- baseline: the same app for $BASE_SECS s without migration, in the same run (writes/s over its steady state):"
    for size in $SIZES; do for rate in $RATES; do
        echo "  $size GiB, $rate rate: ${BASE[$size,$rate]:-n/a} writes/s, max gap ${BASE_GAP[$size,$rate]:-n/a} ms"
    done; done
    echo
    echo "## Targets of issue 5"
    echo
    echo "| target | where | measured | verdict |"
    echo "|---|---|---|---|"
    # 1. post-copy/hybrid downtime <= 10 ms at every size, flat
    for strat in postcopy hybrid; do
        awk -F, -v s="$strat" '$6 == s && $8 == "ok" && $10 != "" { print $3, $4, $5, $1, $10 }' "$CSV" | sort -k1,3 -k4n |
            awk -v s="$strat" '
            { k = $1 " rate, " $3 ", " $2; if (!(k in mx) || $5 > mx[k]) mx[k] = $5; if (!(k in lo)) { lo[k] = $5; los[k] = $4 } hi[k] = $5; his[k] = $4; list[k] = list[k] (list[k] == "" ? "" : ", ") $4 " GiB " $5 }
            END { for (k in mx) printf "| %s downtime ≤ 10 ms at every size, flat | %s | %s ms; %s GiB → %s GiB: ×%.2f | %s |\n", s, k, list[k], los[k], his[k], (lo[k] > 0 ? hi[k] / lo[k] : 0), (mx[k] <= 10 ? "met" : sprintf("missed: worst %.1f ms", mx[k])) }'
    done
    # 2. app worst pause <= 50 ms at 1 GiB, flat-out writes
    awk -F, '$1 == 1 && $3 == "high" && $6 != "stop-and-copy" && $8 == "ok" && $26 != "" { printf "| app worst pause ≤ 50 ms at 1 GiB, flat-out writes | %s%s, %s | %s ms (tool downtime %s ms) | %s |\n", $6, ($5 == "-" ? "" : ", " $5), $4, $26, $10, ($26 <= 50 ? "met" : sprintf("missed: ×%.1f", $26 / 50)) }' "$CSV"
    # 3. >= 99 % lower downtime than stop-and-copy at 4 GiB
    awk -F, '$1 == 4 && $6 != "stop-and-copy" && $8 == "ok" && $22 != "" { printf "| downtime ≥ 99%% lower than stop-and-copy at 4 GiB | %s%s, %s rate, %s | %s ms vs %s ms: %s%% lower | %s |\n", $6, ($5 == "-" ? "" : ", " $5), $3, $4, $10, $21, $22, ($22 >= 99 ? "met" : "missed") }' "$CSV"
    case " $SIZES " in *" 4 "*) ;; *) echo "| downtime ≥ 99% lower than stop-and-copy at 4 GiB | — | not measured (SIZES has no 4) | — |" ;; esac
    # 4. total time <= 1.3 x heap bytes / link rate
    awk -F, '$8 == "ok" && $25 != "" { n++; if ($25 <= 1) ok++; if ($25 > w) { w = $25; wr = $6 ($5 == "-" ? "" : ", " $5) ", " $1 " GiB, " $3 " rate, " $4 } }
        END { if (n) printf "| total time ≤ 1.3 × data bytes ÷ link rate | all %d successful rows | %d of %d within; worst: %s at ×%.2f of the target | %s |\n", n, ok, n, wr, w, (ok == n ? "met" : "missed") }' "$CSV"
    # 5. throughput during post-copy vs no migration
    awk -F, '$8 == "ok" && ($6 == "postcopy" || $6 == "hybrid") { printf "| throughput during post-copy, vs no migration | %s%s, %s GiB, %s rate, %s | during migration %s%%, after switchover until done %s%%, after %s%% | reported |\n", $6, ($5 == "-" ? "" : ", " $5), $1, $3, $4, ($33 == "" ? "n/a" : $33), ($34 == "" ? "n/a" : $34), ($35 == "" ? "n/a" : $35) }' "$CSV"
    echo
    echo "## All runs"
    echo
    echo "downtime: source's last thread parked → destination's threads resumed (the tool's figure). vs S&C: downtime"
    echo "reduction against the stop-and-copy run of the same size, rate and link in this run. total: migrate command →"
    echo "source released; target = 1.3 × SIZE GiB ÷ the link's measured TCP rate. app max pause: memstress's own"
    echo "max_gap_ms (longest wait between two completed write batches, its own clock), read where the app ended."
    echo "Throughput: writes/s from memstress's -L timeline (source's and destination's stderr, one clock), as % of the"
    echo "baseline without migration: before = the ${PRE} s before migrate; during = the whole migration; post-switch = from"
    echo "the destination's first timeline tick to the end of migration (the background post-copy phase); after = from"
    echo "0.5 s after the migration to the app's end."
    echo
    echo "| GiB | rate | link | tracker | strategy | result | downtime ms | vs S&C | switchover ms | total ms | total ÷ target | app max pause ms | rounds | post-copy / demand pages | thr. before % | during % | post-switch % | after % |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    tail -n +2 "$CSV" | while IFS=, read -r size _ rate link trk strat _ result _ down swms total _ _ _ rounds _ pcp dem _ _ red _ _ over gap _ _ _ _ _ bp dp pp ap _ _ _ _ _; do
        echo "| $size | $rate | $link | $trk | $strat | $result | $down | ${red:+−$red %} | $swms | $total | $over | $gap | $rounds | ${pcp:+$pcp / $dem} | $bp | $dp | $pp | $ap |"
    done
    echo
    if awk -F, 'NR > 1 && $8 != "ok" { bad = 1 } END { exit !bad }' "$CSV"; then
        echo "### Failures"
        echo
        awk -F, 'NR > 1 && $8 != "ok" { printf "- %s GiB, %s rate, %s, %s, %s: %s — %s\n", $1, $3, $4, $5, $6, $8, $40 }' "$CSV"
        echo
        echo "Logs of failed runs: live-failed/ (mig.json, mig.err, src.*, dest.*)."
        echo
    fi
    echo "Plots: live-downtime.png (downtime against size, log y), live-total.png (total time and its target),"
    echo "live-maxgap.png (app worst pause, log y), live-timeline.png (throughput against time at $TL_SIZE GiB,"
    echo "$TL_RATE rate; data: live-timeline.dat). Full data: live.csv."
} > "$MD"
cp "$MD" "$OUT/live.md"
cat "$OUT/live.md"
