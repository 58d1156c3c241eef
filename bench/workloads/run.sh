#!/usr/bin/env bash
# Evaluation matrix of issue 6 (item 4): the enclave workloads x migration
# strategies x heap sizes, live-migrated once between two network namespaces
# joined by veth (tbf 10gbit), every figure beside stop-and-copy's as a ratio.
# See bench/workloads/README.
#
# Usage (root): bench/workloads/run.sh
#   WORKLOADS="bfs btree hashjoin pagerank xsbench"
#   STRATEGIES="stop-and-copy precopy postcopy hybrid"
#   SIZES="256M 1G"          workload -s (K/M/G suffix); heap = 1.5 x SIZE + 768M
#   THREADS=2                workload -t
#   AT_STEP=3                migrate right after this step line (the Kth progress
#                            step; btree: the Kth step of its first operation round,
#                            after the insert phase, so the whole tree moves)
#   TRACKER=auto             --tracker for the live strategies (auto, compiler, kernel)
#   STREAMS=2                --streams (post-copy and hybrid need 2 or more)
#   LINK=10gbit              tbf rate on both veth ends ("unlimited": no shaping)
#   MIN_TAIL=6 TAIL_PER_GIB=20
#                            the unmigrated run must go on at least
#                            MIN_TAIL + TAIL_PER_GIB x SIZE(GiB) seconds after the
#                            migration point (so that the migration ends before the
#                            app does); if it does not, -i is scaled up once and
#                            the reference rerun
#   ARGS_<workload>="..."    override a workload's extra flags (default below)
#   MIGRATE_ARGS=""          extra `optmig migrate` options
#   BUILD=$ROOT/build        where bin/optmig and workloads/ are
#   OUT=$ROOT/bench/results  workloads.csv, workloads.json, workloads.md,
#                            workloads-downtime.png, workloads-maxgap.png
# Quick run: WORKLOADS="bfs hashjoin" SIZES=256M STRATEGIES="stop-and-copy hybrid" OUT=/tmp/wlb bench/workloads/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/workloads
BUILD=$(realpath -m "${BUILD:-$ROOT/build}")
OUT=${OUT:-$ROOT/bench/results}
WORKLOADS=${WORKLOADS:-bfs btree hashjoin pagerank xsbench}
STRATEGIES=${STRATEGIES:-stop-and-copy precopy postcopy hybrid}
SIZES=${SIZES:-256M 1G}
THREADS=${THREADS:-2}
AT_STEP=${AT_STEP:-3}
TRACKER=${TRACKER:-auto}
STREAMS=${STREAMS:-2}
LINK=${LINK:-10gbit}
MIN_TAIL=${MIN_TAIL:-6}
TAIL_PER_GIB=${TAIL_PER_GIB:-20}
MIGRATE_ARGS=${MIGRATE_ARGS:-}
# Per-workload flags besides -s/-t/-G: -P 1 prints every step; -i sets the run
# length (see workloads/README.md). Chosen so that at 256M the app runs about
# 10-30 s after the migration point on a 2-core VM; longer at larger sizes.
ARGS_bfs=${ARGS_bfs:--i 4 -P 1}
ARGS_btree=${ARGS_btree:--i 1 -P 1}
ARGS_hashjoin=${ARGS_hashjoin:--i 3 -P 1}
ARGS_pagerank=${ARGS_pagerank:--i 20 -P 1}
ARGS_xsbench=${ARGS_xsbench:--i 8 -P 1}
NETNS=$ROOT/scripts/netns.sh
PREFIX=omwl$$
NSA=$PREFIX-a NSB=$PREFIX-b
DST=10.232.0.2
PORT=7910
OPTMIG=$BUILD/bin/optmig
WLDIR=$BUILD/workloads
CMDLINE="WORKLOADS=\"$WORKLOADS\" STRATEGIES=\"$STRATEGIES\" SIZES=\"$SIZES\" THREADS=$THREADS AT_STEP=$AT_STEP TRACKER=$TRACKER STREAMS=$STREAMS LINK=$LINK MIN_TAIL=$MIN_TAIL TAIL_PER_GIB=$TAIL_PER_GIB${MIGRATE_ARGS:+ MIGRATE_ARGS=\"$MIGRATE_ARGS\"} bench/workloads/run.sh"

die() { echo "workloads: $*" >&2; exit 1; }
log() { echo "workloads: [$(date +%T)] $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "$OPTMIG" ] || die "no $OPTMIG: build first (make), or set BUILD="
command -v jq > /dev/null || die "jq not found (apt-get install jq, or scripts/install-deps.sh)"
command -v gnuplot > /dev/null || die "gnuplot not found (apt-get install gnuplot-nox, or scripts/install-deps.sh)"
gnuplot -e 'set terminal pngcairo' > /dev/null 2>&1 || die "this gnuplot has no pngcairo terminal (install gnuplot-nox)"
[ -n "$WORKLOADS" ] && [ -n "$STRATEGIES" ] && [ -n "$SIZES" ] || die "empty WORKLOADS, STRATEGIES or SIZES"
for w in $WORKLOADS; do
    case $w in bfs | btree | hashjoin | pagerank | xsbench) ;; *) die "WORKLOADS: unknown '$w'" ;; esac
    [ -x "$WLDIR/$w" ] || die "no enclave image $WLDIR/$w: build first"
done
for s in $STRATEGIES; do
    case $s in stop-and-copy | precopy | postcopy | hybrid) ;; *) die "STRATEGIES: unknown '$s'" ;; esac
done
case $TRACKER in auto | compiler | kernel) ;; *) die "TRACKER: auto, compiler or kernel, got '$TRACKER'" ;; esac
for v in THREADS AT_STEP STREAMS MIN_TAIL TAIL_PER_GIB; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "$v: a positive whole number, got '${!v}'"
done
case " $STRATEGIES " in *" postcopy "* | *" hybrid "*) [ "$STREAMS" -ge 2 ] || die "STREAMS: post-copy and hybrid need 2 or more" ;; esac
# Size in MiB from K/M/G: 256M, 1G, 1536M, 2G.
size_mib() {
    [[ $1 =~ ^([1-9][0-9]*)([KMG])$ ]] || return 1
    case ${BASH_REMATCH[2]} in
        K) echo $((BASH_REMATCH[1] / 1024)) ;; M) echo "${BASH_REMATCH[1]}" ;; G) echo $((BASH_REMATCH[1] * 1024)) ;;
    esac
}
for s in $SIZES; do
    m=$(size_mib "$s") || die "SIZES: NUMBER with K, M or G (256M, 1G), got '$s'"
    [ "$m" -ge 16 ] || die "SIZES: at least 16M, got '$s'"
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src include workloads 2> /dev/null || echo ' (src/include/workloads modified)')"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/wlbench.XXXXXX)
cd "$TMP" # nothing this script writes lands anywhere else by accident

# --- processes we start: recorded by PID, killed with their descendants ------
PIDS=()
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}
kill_tree() { # SIG PID: PID and its descendants (listed while the parent exists)
    local sig=$1 p=$2 c
    for c in $(cat /proc/"$p"/task/*/children 2> /dev/null); do kill_tree "$sig" "$c"; done
    kill -s "$sig" "$p" 2> /dev/null || true
}
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# reap PID SECS: waits up to SECS for a child we started to end by itself, then
# TERM, then KILL (its tree); the exit status goes to RC.
RC=
reap() {
    local pid=$1 end=$((SECONDS + ${2:-5})) rc=0
    while alive "$pid" && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
    if alive "$pid"; then
        kill_tree TERM "$pid"
        end=$((SECONDS + 3))
        while alive "$pid" && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
        alive "$pid" && kill_tree KILL "$pid"
    fi
    wait "$pid" 2> /dev/null || rc=$?
    RC=$rc
    forget "$pid"
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do alive "$p" && kill_tree TERM "$p"; done
    sleep 0.5
    for p in "${PIDS[@]}"; do alive "$p" && kill_tree KILL "$p"; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    "$NETNS" down "$PREFIX" > /dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "workloads: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

monoms() { awk '{ printf "%.0f\n", $1 * 1000 }' /proc/uptime; } # coarse, fine for seconds
jfield() { jq -r ".$2 // empty" "$1" 2> /dev/null || true; }
mem_avail_mib() { awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo; }
gapf() { awk -v f="$2" '$2 == "max_gap_ms" { print $(f == "gap" ? 3 : f == "tgap" ? 5 : 7); exit }' "$1" 2> /dev/null || true; }

# wait_line FILE ERE SECS PID: until a line of FILE matches; fails if PID ended
# without writing it, or after SECS.
wait_line() {
    local f=$1 re=$2 end=$((SECONDS + $3)) pid=$4
    while :; do
        grep -Eq -- "$re" "$f" 2> /dev/null && return 0
        if ! alive "$pid"; then grep -Eq -- "$re" "$f" 2> /dev/null && return 0; return 1; fi
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# The step line to migrate after: AT_STEP, except btree, whose first
# keys/65536 steps are its insert phase (the tree grows to its full size).
point_step() { # workload stdout-file
    if [ "$1" = btree ]; then
        local keys
        keys=$(awk '$1 == "btree:" && $2 == "keys" { print $3; exit }' "$2")
        echo $((${keys:-0} / 65536 + AT_STEP))
    else
        echo "$AT_STEP"
    fi
}

# --- namespaces, keys ---------------------------------------------------------
if [ "$LINK" = unlimited ]; then "$NETNS" up "$PREFIX" > /dev/null; else "$NETNS" up "$PREFIX" "$LINK" > /dev/null; fi
H=$TMP/home
mkdir -p "$H"
OPTMIG_HOME=$H "$OPTMIG" keygen > /dev/null

# --- reference: the unmigrated run (in the source namespace) ----------------
# Sets REF_* and WLARGS. Measures how long the app runs after the migration point.
declare -A REF_GAP REF_EL REF_TAIL REF_ARGS REF_OK REF_DIR REF_STEP
reference_one() { # workload size
    local w=$1 size=$2 heap=$3 key=$1,$2 try args need mib pid t_pt t_end step dir
    mib=$(size_mib "$size")
    need=$(awk -v a="$MIN_TAIL" -v b="$TAIL_PER_GIB" -v m="$mib" 'BEGIN { printf "%.1f", a + b * m / 1024 }')
    local v=ARGS_$w
    args=${!v}
    REF_OK[$key]=0
    for try in 1 2; do
        dir=$TMP/ref-$w-$size-$try
        mkdir -p "$dir/rundir"
        # shellcheck disable=SC2086 # args: words on purpose
        ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" run --heap "$heap" \
            "$WLDIR/$w" -- -s "$size" -t "$THREADS" $args -G < /dev/null > "$dir/ref.out" 2> "$dir/ref.err" &
        pid=$!
        PIDS+=("$pid")
        t_pt=""
        if wait_line "$dir/ref.out" "^$w: (vertices|keys|R|nuclides) " 1800 "$pid"; then
            step=$(point_step "$w" "$dir/ref.out")
            wait_line "$dir/ref.out" "^$w: step $step\$" 1800 "$pid" && t_pt=$(monoms)
        fi
        local tmax=$((SECONDS + 3600))
        while alive "$pid" && [ "$SECONDS" -lt "$tmax" ]; do sleep 0.05; done
        t_end=$(monoms)
        reap "$pid" 1
        REF_DIR[$key]=$dir REF_ARGS[$key]=$args REF_STEP[$key]=${step:-}
        if [ "$RC" != 0 ] || ! grep -Eq "^$w: digest [0-9a-f]{16}\$" "$dir/ref.out"; then
            log "reference $w $size: exit $RC, no digest: $(tail -2 "$dir/ref.err" | tr '\n' ' ')"
            return
        fi
        if [ -z "$t_pt" ]; then
            log "reference $w $size: never printed step ${step:-?}: raise -i (ARGS_$w) or lower AT_STEP"
            return
        fi
        REF_TAIL[$key]=$(awk -v a="$t_pt" -v b="$t_end" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
        REF_GAP[$key]=$(gapf "$dir/ref.err" gap)
        REF_EL[$key]=$(gapf "$dir/ref.err" el)
        REF_OK[$key]=1
        log "reference $w $size ($args): $(grep ': digest ' "$dir/ref.out"), elapsed ${REF_EL[$key]} ms, ${REF_TAIL[$key]} s after step $step, max gap ${REF_GAP[$key]} ms"
        if [ "$try" = 1 ] && awk -v t="${REF_TAIL[$key]}" -v n="$need" 'BEGIN { exit !(t < n) }'; then
            local i f
            i=$(sed -nE 's/.*-i ([0-9]+).*/\1/p' <<< "$args")
            f=$(awk -v t="${REF_TAIL[$key]}" -v n="$need" 'BEGIN { f = int(n / (t > 0.5 ? t : 0.5)) + 1; print (f > 8 ? 8 : f) }')
            [ -n "$i" ] || { log "reference $w $size: only ${REF_TAIL[$key]} s after the migration point (need $need s), and no -i to scale"; return; }
            args=$(sed -E "s/-i [0-9]+/-i $((i * f))/" <<< "$args")
            log "reference $w $size: only ${REF_TAIL[$key]} s after the migration point, need $need s: rerun with $args"
            continue
        fi
        return
    done
}

# --- one migration ---------------------------------------------------------------
CSV=$TMP/workloads.csv
echo "workload,size,heap,threads,args,at_step,strategy,tracker,streams,result,switched,output,downtime_ms,total_ms,bytes_sent,pages_sent,demand_pages,postcopy_pages,rounds,app_max_gap_ms,app_max_thread_gap_ms,app_elapsed_ms,ref_max_gap_ms,ref_elapsed_ms,ref_tail_s,sc_downtime_ms,downtime_ratio,downtime_reduction_pct,sc_max_gap_ms,max_gap_ratio,max_gap_reduction_pct,load1,error" > "$CSV"
declare -A SC_DOWN SC_GAP
run=0
migrate_one() { # workload size heap strategy
    local w=$1 size=$2 heap=$3 strat=$4 key=$1,$2 dir pid_s pid_d args step mib avail
    run=$((run + 1))
    dir=$TMP/run$run-$w-$size-$strat
    mkdir -p "$dir/rundir"
    args=${REF_ARGS[$key]:-}
    step=${REF_STEP[$key]:-}
    mib=$(size_mib "$size")
    local result="" sw="" output=n/a down="" total="" bytes="" pages="" dem="" pcp="" rounds="" trk="" err=""
    local gap="" tgap="" el="" load1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    avail=$(mem_avail_mib)
    if [ "${REF_OK[$key]:-0}" != 1 ]; then
        result=no-reference err="the unmigrated run failed: see the log"
    elif [ "$avail" -lt $((2 * mib + 2048)) ]; then
        result=skipped-memory err="only $avail MiB available; source and destination need about $((2 * mib + 2048)) MiB"
    else
        local wait_s
        wait_s=$(awk -v e="${REF_EL[$key]}" 'BEGIN { printf "%d", 4 * e / 1000 + 300 }')
        ip netns exec "$NSB" env OPTMIG_HOME="$H" "$OPTMIG" listen --port "$PORT" --once --timeout 600 \
            < /dev/null > "$dir/dest.out" 2> "$dir/dest.err" &
        pid_d=$!
        PIDS+=("$pid_d")
        # shellcheck disable=SC2086
        ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" "$OPTMIG" run --name wl --heap "$heap" \
            "$WLDIR/$w" -- -s "$size" -t "$THREADS" $args -G < /dev/null > "$dir/src.out" 2> "$dir/src.err" &
        pid_s=$!
        PIDS+=("$pid_s")
        wait_line "$dir/dest.err" 'listening on port' 20 "$pid_d" || log "run $run: no 'listening on port' from optmig listen: $(tail -2 "$dir/dest.err" | tr '\n' ' ')"
        if ! wait_line "$dir/src.out" "^$w: step $step\$" "$wait_s" "$pid_s"; then
            result=no-migration-point err="the app never printed step $step: $(tail -2 "$dir/src.err" | tr '\n' ' ')"
            reap "$pid_s" "$wait_s"
            reap "$pid_d" 1
        else
            load1=$(cut -d' ' -f1 /proc/loadavg)
            local targs=()
            [ "$strat" = stop-and-copy ] || targs=(--tracker "$TRACKER")
            echo "optmig migrate wl --to $DST:$PORT --strategy $strat ${targs[*]} --streams $STREAMS --timeout 600 --json $MIGRATE_ARGS" > "$dir/cmd"
            # shellcheck disable=SC2086 # MIGRATE_ARGS: words on purpose
            ip netns exec "$NSA" env OPTMIG_HOME="$H" OPTMIG_RUNDIR="$dir/rundir" timeout -k 10 1200 "$OPTMIG" migrate wl \
                --to "$DST:$PORT" --strategy "$strat" "${targs[@]}" --streams "$STREAMS" --timeout 600 --json $MIGRATE_ARGS \
                < /dev/null > "$dir/mig.json" 2> "$dir/mig.err" || true
            result=$(jfield "$dir/mig.json" result)
            sw=$(jfield "$dir/mig.json" switched)
            down=$(jfield "$dir/mig.json" downtime_ms)
            total=$(jfield "$dir/mig.json" total_ms)
            bytes=$(jfield "$dir/mig.json" bytes_sent)
            pages=$(jfield "$dir/mig.json" pages_sent)
            dem=$(jfield "$dir/mig.json" demand_pages)
            pcp=$(jfield "$dir/mig.json" postcopy_pages)
            rounds=$(jfield "$dir/mig.json" rounds)
            trk=$(jfield "$dir/mig.json" tracker)
            err=$(jfield "$dir/mig.json" error)
            [ -n "$result" ] || result=failed
            [ -n "$err" ] || [ "$result" = ok ] || err=$(tail -2 "$dir/mig.err" | tr '\n' ' ')
            awk -v v="$down" 'BEGIN { exit !(v != "" && v < 0) }' && down="" # negative: not measured
            local src_rc dst_rc
            if [ "$result" = ok ] || [ "$sw" = true ]; then
                reap "$pid_s" 60 # a migrated source ends by itself
                src_rc=$RC
                reap "$pid_d" "$wait_s" # the app finishes at the destination
                dst_rc=$RC
                gap=$(gapf "$dir/dest.err" gap) tgap=$(gapf "$dir/dest.err" tgap) el=$(gapf "$dir/dest.err" el)
                [ "$src_rc" = 0 ] || err="${err:+$err; }source exit status $src_rc"
                [ "$dst_rc" = 0 ] || err="${err:+$err; }exit status $dst_rc at the destination"
                [ "$dst_rc" = 0 ] || [ "$result" != ok ] || result=app-failed
                cat "$dir/src.out" "$dir/dest.out" > "$dir/both.out"
                [ -s "$dir/dest.out" ] || err="${err:+$err; }the destination printed nothing"
            else
                reap "$pid_d" 1 # nothing moved: the app goes on at the source
                reap "$pid_s" "$wait_s"
                gap=$(gapf "$dir/src.err" gap) tgap=$(gapf "$dir/src.err" tgap) el=$(gapf "$dir/src.err" el)
                cp "$dir/src.out" "$dir/both.out"
            fi
            if grep -Eq "^$w: digest [0-9a-f]{16}\$" "$dir/both.out"; then
                if cmp -s "${REF_DIR[$key]}/ref.out" "$dir/both.out"; then output=pass; else
                    output=FAIL
                    diff "${REF_DIR[$key]}/ref.out" "$dir/both.out" > "$dir/output.diff" || true
                    err="${err:+$err; }stdout differs from the unmigrated run: $(grep -m2 '^[<>]' "$dir/output.diff" | tr '\n' ' ')"
                fi
            else
                output=FAIL
                err="${err:+$err; }no digest line in source + destination stdout"
            fi
        fi
    fi
    # against stop-and-copy of the same workload and size (run first)
    local scd="" scg="" dr="" dred="" gr="" gred=""
    if [ "$strat" = stop-and-copy ]; then
        [ "$result" != ok ] || { SC_DOWN[$key]=$down; SC_GAP[$key]=$gap; }
    else
        scd=${SC_DOWN[$key]:-} scg=${SC_GAP[$key]:-}
        if [ "$result" = ok ]; then
            [ -z "$scd" ] || [ -z "$down" ] || read -r dr dred < <(awk -v a="$down" -v b="$scd" 'BEGIN { if (b > 0) printf "%.4f %.2f\n", a / b, (1 - a / b) * 100; else print "" }')
            [ -z "$scg" ] || [ -z "$gap" ] || read -r gr gred < <(awk -v a="$gap" -v b="$scg" 'BEGIN { if (b > 0) printf "%.4f %.2f\n", a / b, (1 - a / b) * 100; else print "" }')
        fi
    fi
    if [ "$result" != ok ] || [ "$output" != pass ]; then
        log "run $run ($w $size $strat): result $result, output $output: ${err:-}"
        mkdir -p "$OUT/workloads-failed"
        rm -rf "$OUT/workloads-failed/run$run-$w-$size-$strat"
        cp -r "$dir" "$OUT/workloads-failed/run$run-$w-$size-$strat"
        rm -rf "$OUT/workloads-failed/run$run-$w-$size-$strat/rundir"
        [ -z "${REF_DIR[$key]:-}" ] || cp "${REF_DIR[$key]}"/ref.* "$OUT/workloads-failed/run$run-$w-$size-$strat/" 2> /dev/null || true
    fi
    err=$(printf '%s' "$err" | tr ',\n' '; ')
    echo "$w,$size,$heap,$THREADS,$args,$step,$strat,${trk:-$([ "$strat" = stop-and-copy ] && echo - || echo "$TRACKER")},$STREAMS,$result,$sw,$output,$down,$total,$bytes,$pages,$dem,$pcp,$rounds,$gap,$tgap,$el,${REF_GAP[$key]:-},${REF_EL[$key]:-},${REF_TAIL[$key]:-},$scd,$dr,$dred,$scg,$gr,$gred,$load1,$err" >> "$CSV"
    log "run $run: $w $size $strat: $result, output $output, downtime ${down:-?} ms${dred:+ (-$dred % vs S&C)}, total ${total:-?} ms, app max gap ${gap:-?} ms"
}

# --- the matrix -------------------------------------------------------------------
rm -rf "$OUT/workloads-failed" # failures of this run only
T_START=$SECONDS
ORDERED="" # stop-and-copy first: the others are compared against it
for s in $STRATEGIES; do [ "$s" != stop-and-copy ] || ORDERED="stop-and-copy"; done
for s in $STRATEGIES; do [ "$s" = stop-and-copy ] || ORDERED="$ORDERED $s"; done
for size in $SIZES; do
    mib=$(size_mib "$size")
    heap=$((mib * 3 / 2 + 768))M
    for w in $WORKLOADS; do
        if [ "$(mem_avail_mib)" -lt $((mib + 2048)) ]; then
            log "reference $w $size: skipped, only $(mem_avail_mib) MiB available"
        else
            reference_one "$w" "$size" "$heap"
        fi
        for strat in $ORDERED; do migrate_one "$w" "$size" "$heap" "$strat"; done
    done
done
log "matrix done in $((SECONDS - T_START)) s"

# --- JSON: the CSV's rows as objects (numbers as numbers) -------------------------
jq -R -s 'split("\n") | map(select(length > 0) | split(",")) | .[0] as $h | .[1:]
    | map([$h, .] | transpose | map({ (.[0]): (.[1] | if . == "" then null else (tonumber? // .) end) }) | add)' \
    "$CSV" > "$TMP/workloads.json"

# --- plots: downtime and app max pause per workload (and size), one bar per strategy --
color_of() { case $1 in stop-and-copy) echo '#c00000' ;; precopy) echo '#e08000' ;; postcopy) echo '#0060c0' ;; hybrid) echo '#00a040' ;; esac; }
NSIZES=$(wc -w <<< "$SIZES")
plot() { # csv-column name ylabel title
    local col=$1 name=$2 dat=$TMP/$2.dat colors="" titles="" w size strat v any=0
    for strat in $ORDERED; do colors="$colors $(color_of "$strat")"; titles="$titles $strat"; done
    : > "$dat"
    for w in $WORKLOADS; do
        for size in $SIZES; do
            local line
            line="\"$w$([ "$NSIZES" = 1 ] || echo " $size")\""
            for strat in $ORDERED; do
                v=$(awk -F, -v w="$w" -v s="$size" -v t="$strat" -v c="$col" '$1 == w && $2 == s && $7 == t && $10 == "ok" && $c != "" { print $c; exit }' "$CSV")
                [ -z "$v" ] || any=1
                line="$line ${v:-?}"
            done
            echo "$line" >> "$dat"
        done
    done
    if [ "$any" = 0 ]; then log "plot $name: no successful rows, skipped"; return; fi
    gnuplot -e "out='$OUT/workloads-$name.png'; file='$dat'; colors='${colors# }'; titles='${titles# }'; ylab='$3'; ptitle='$4'" \
        "$HERE/bars.gp" || log "gnuplot failed for workloads-$name.png"
}
plot 13 downtime "downtime (ms, log scale)" "Downtime per workload and strategy ($LINK veth, -t $THREADS; sizes: $SIZES)"
plot 20 maxgap "app worst pause, max_gap_ms (ms, log scale)" "App-observed worst pause per workload and strategy (-G, at the destination)"

# --- report -----------------------------------------------------------------------
MD=$TMP/workloads.md
{
    echo "# Workloads × strategies × sizes: live migration against stop-and-copy"
    echo
    echo "Generated by \`$CMDLINE\` (BUILD=$BUILD)."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); the matrix took $((SECONDS - T_START)) s"
    echo "- source tree at the start: $COMMIT (BUILD must have been built from it)"
    echo "- machine: uname -r $(uname -r); nproc $(nproc); CPU $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); memory $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); THP $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null || echo n/a)"
    echo "- load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1-min load at each migration: CSV column load1;"
    echo "  other jobs may share this machine, and source and destination share its cores)"
    echo "- link: namespaces $PREFIX-a/-b joined by veth (scripts/netns.sh), $([ "$LINK" = unlimited ] && echo "no shaping" || echo "\`tc tbf rate $LINK\` on both ends")"
    echo "- app: \`optmig run --name wl --heap 1.5×SIZE+768M build/workloads/W -- -s SIZE -t $THREADS ARGS -G\` in the first namespace;"
    echo "  migrated once, right after it printed its step line $AT_STEP (btree: step $AT_STEP of its first operation round, after"
    echo "  the inserts), with \`optmig migrate wl --to $DST:$PORT --strategy S$([ "$TRACKER" = auto ] || echo " --tracker $TRACKER") --streams $STREAMS --json${MIGRATE_ARGS:+ $MIGRATE_ARGS}\`"
    echo "  to \`optmig listen --once\` in the second, where it runs to its end. One migration per cell, stop-and-copy first."
    echo "- output check: source stdout + destination stdout must equal the unmigrated run's stdout (same args, same namespace,"
    echo "  this run) byte for byte: step lines, per-phase results and the digest. \`pass\` or \`FAIL\`."
    echo "- downtime: the tool's figure (source's last thread parked → destination's threads resumed); total: migrate command →"
    echo "  source released; app max pause: the workload's own max_gap_ms (-G: the longest time no thread finished a 1–5 ms"
    echo "  chunk, its own CLOCK_MONOTONIC, printed by the destination at exit). ratio = strategy ÷ stop-and-copy of the same"
    echo "  workload and size; reduction = 1 − ratio."
    echo
    echo "## Headline"
    echo
    awk -F, 'NR > 1 && $10 == "ok" && $28 != "" { n[$7]++; s[$7] += $28; if (!($7 in mn) || $28 < mn[$7]) mn[$7] = $28; if (!($7 in mx) || $28 > mx[$7]) mx[$7] = $28; N++; S += $28 }
        NR > 1 && $10 == "ok" && $31 != "" { gn[$7]++; gs[$7] += $31 }
        END {
            if (!N) { print "No downtime reduction measured (stop-and-copy or the live strategies had no successful run)."; exit }
            printf "**Average downtime reduction vs stop-and-copy: %.1f %%** over %d live migrations (every workload, size and live strategy", S / N, N
            printf "); the paper claims 77–96 %%, and we must be above it.\n\n"
            print "| strategy | cells | average downtime reduction | range | average app max-pause reduction |"
            print "|---|---|---|---|---|"
            split("precopy postcopy hybrid", o, " ")
            for (i = 1; i <= 3; i++) { k = o[i]; if (!(k in n)) continue
                printf "| %s | %d | %.1f %% | %.1f – %.1f %% | %s |\n", k, n[k], s[k] / n[k], mn[k], mx[k], (k in gn ? sprintf("%.1f %%", gs[k] / gn[k]) : "n/a") }
        }' "$CSV"
    echo
    echo "Output check: $(awk -F, 'NR > 1 && $12 == "pass" { p++ } NR > 1 && $12 == "FAIL" { f++ } NR > 1 { n++ } END { printf "%d of %d migrated runs printed exactly the unmigrated stdout; %d differ", p, n, f }' "$CSV")."
    echo
    for w in $WORKLOADS; do
        echo "## $w"
        echo
        echo "| size | strategy | tracker | result | output | downtime ms | ÷ S&C | reduction | app max pause ms | ÷ S&C | reduction | total ms | bytes sent | demand pages | rounds |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F, -v w="$w" 'function red(v) { return v == "" ? "" : (v + 0 >= 0 ? "−" v " %" : "+" (-v) " % (worse)") }
            NR > 1 && $1 == w {
            r = ($27 == "" ? "" : sprintf("%.4f", $27)); g = ($30 == "" ? "" : sprintf("%.4f", $30))
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $7, $8, $10, $12, $13,
                ($7 == "stop-and-copy" ? "1" : r), red($28), $20,
                ($7 == "stop-and-copy" ? "1" : g), red($31), $14, $15, $17, $19 }' "$CSV"
        echo
        awk -F, -v w="$w" 'NR > 1 && $1 == w && !seen[$2]++ { printf "%s: `-s %s -t %s %s -G`, migrated after step %s; unmigrated: %s ms, %s s after that step, max pause %s ms.  \n", $2, $2, $4, $5, $6, $24, $25, $23 }' "$CSV"
        echo
    done
    if awk -F, 'NR > 1 && ($10 != "ok" || $12 != "pass") { bad = 1 } END { exit !bad }' "$CSV"; then
        echo "## Failures and findings"
        echo
        awk -F, 'NR > 1 && ($10 != "ok" || $12 != "pass") { printf "- %s %s %s: result %s, output %s — %s\n", $1, $2, $7, $10, $12, $33 }' "$CSV"
        echo
        echo "Logs: workloads-failed/ (cmd, mig.json, mig.err, src.*, dest.*, ref.*, output.diff)."
        echo
    fi
    if [ -f "$OUT/pass_overhead.md" ]; then
        echo "## Compiler pass overhead (bench/pass/run.sh)"
        echo
        echo "Included from pass_overhead.md in the same directory, written $(date -u -r "$OUT/pass_overhead.md" '+%Y-%m-%d %H:%M UTC')"
        echo "(\`make bench\` runs bench/pass/run.sh just before this script):"
        echo
        sed -e 's/^#/##/' "$OUT/pass_overhead.md"
        echo
    fi
    echo "Plots: workloads-downtime.png (downtime, log y), workloads-maxgap.png (app max pause, log y). Data: workloads.csv,"
    echo "workloads.json (the same rows)."
} > "$MD"
cp "$CSV" "$OUT/workloads.csv"
cp "$TMP/workloads.json" "$OUT/workloads.json"
cp "$MD" "$OUT/workloads.md"
cat "$OUT/workloads.md"
