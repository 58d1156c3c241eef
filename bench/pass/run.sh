#!/usr/bin/env bash
# Run-time overhead of the OptMigPass instrumentation on the workloads (issue 4
# item 7), native, against the same source built with plain clang-14 -O2.
#   bench/pass/run.sh [BUILD_DIR]         (BUILD_DIR holds lib/optmig/OptMigPass.so)
# Environment: ROUNDS (5), WORKLOADS ("bfs btree hashjoin pagerank xsbench memstress"),
#   OUT (bench/results/pass_overhead.md), KEEP=1 keeps the build/timing dir,
#   REPORT_ONLY=DIR only rewrites OUT from such a kept dir.
# See bench/pass/README. Fails (exit 1) if any build prints a different digest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${BUILD:-$ROOT/build}}" && pwd)
ROUNDS=${ROUNDS:-5}
WORKLOADS=${WORKLOADS:-"bfs btree hashjoin pagerank xsbench memstress"}
OUT=${OUT:-$ROOT/bench/results/pass_overhead.md}
P=$BUILD/lib/optmig/OptMigPass.so
[ -f "$P" ] || { echo "no $P: cmake --build $BUILD --target OptMigPass first" >&2; exit 1; }
CMD="bench/pass/run.sh $*"
[ "$ROUNDS" = 5 ] || CMD="ROUNDS=$ROUNDS $CMD"
[ "$WORKLOADS" = "bfs btree hashjoin pagerank xsbench memstress" ] || CMD="WORKLOADS=\"$WORKLOADS\" $CMD"
T_START=$(date +%s)
if [ -n "${REPORT_ONLY:-}" ]; then # rewrite OUT from a KEEP=1 directory's data
    TMP=$(cd "$REPORT_ONLY" && pwd)
else
    TMP=$(mktemp -d /tmp/optmig-passbench.XXXXXX)
    [ "${KEEP:-0}" = 1 ] && echo "keeping $TMP" >&2 || trap 'rm -rf "$TMP"' EXIT
fi

# Arguments: ~1-3 s of CPU for the plain build, 2 threads.
args() {
    case $1 in
    bfs) echo "-s 96M -t 2" ;;
    btree) echo "-s 24M -t 2" ;;
    hashjoin) echo "-s 128M -t 2" ;;
    pagerank) echo "-s 128M -t 2" ;;
    xsbench) echo "-s 96M -t 2" ;;
    memstress) echo "-s 256M -t 2 -i 2000 -p rand -T" ;;
    esac
}
srcs() {
    if [ "$1" = memstress ]; then echo "$ROOT/samples/memstress.c"
    else echo "$ROOT/workloads/$1.c $ROOT/workloads/wl.c"; fi
}

# Builds (binary suffix: flags). rt_bench.o (no plugin) is linked into every one.
CC=(clang-14 -O2 -I"$ROOT/workloads")
LOAD=(-fpass-plugin="$P" -Xclang -load -Xclang "$P")
declare -A BFLAGS=(
    [plain]=""
    [all]="-mllvm -optmig-track=dirty+access"
    [dirty]="-mllvm -optmig-track=dirty"
    [access]="-mllvm -optmig-track=access"
    [polls]="-mllvm -optmig-track=none"
    [mtest]="-mllvm -optmig-track=dirty+access -mllvm -optmig-mark-test"
)
# Configurations: label build OMB_TRACK. The first is the baseline.
CONFIGS=(
    "plain plain 0"
    "all:off all 0" "all:dirty all 1" "all:access all 2" "all:both all 3"
    "dirty:off dirty 0" "dirty:on dirty 1"
    "access:on access 2" "polls:off polls 0" "mtest:dirty mtest 1"
)

if [ -z "${REPORT_ONLY:-}" ]; then
echo "building into $TMP" >&2
"${CC[@]}" -Wall -Wextra -c "$ROOT/bench/pass/rt_bench.c" -o "$TMP/rt_bench.o"
build_one() { # workload: the stock native build (glibc malloc, no rt_bench) + 6 builds
    local w=$1 b extra
    "${CC[@]}" $(srcs "$w") -o "$TMP/$w.ref" -lpthread -lm
    for b in plain all dirty access polls mtest; do
        extra=()
        [ "$b" = plain ] || extra=("${LOAD[@]}" ${BFLAGS[$b]} -mllvm -optmig-stats)
        "${CC[@]}" "${extra[@]}" $(srcs "$w") "$TMP/rt_bench.o" -o "$TMP/$w.$b" -lpthread -lm \
            2> "$TMP/$w.$b.stats"
    done
}
pids=()
for w in $WORKLOADS; do
    build_one "$w" & pids+=($!)
    [ ${#pids[@]} -lt 2 ] || { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
done
for p in "${pids[@]}"; do wait "$p"; done

digest_of() { grep -E '^[a-z]+: digest ' "$1" || echo "(no digest line)"; }
declare -A REF
for w in $WORKLOADS; do
    "$TMP/$w.ref" $(args "$w") > "$TMP/out" 2>&1
    REF[$w]=$(digest_of "$TMP/out")
done

# Timed runs: every round runs every configuration of every workload once, the
# configurations' order rotated each round.
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T0=$(date +%s)
TIMEFORMAT='%R %U %S'
: > "$TMP/times"; : > "$TMP/counts"
n=${#CONFIGS[@]}
for r in $(seq "$ROUNDS"); do
    echo "round $r/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    for w in $WORKLOADS; do
        for i in $(seq 0 $((n - 1))); do
            c=${CONFIGS[$(((i + r) % n))]}
            read -r label b t <<< "$c"
            tm=$( { time OMB_STATS=1 OMB_TRACK=$t "$TMP/$w.$b" $(args "$w") > "$TMP/out" 2> "$TMP/err"; } 2>&1 )
            d=$(digest_of "$TMP/out")
            if [ "$d" != "${REF[$w]}" ]; then
                echo "DIGEST MISMATCH: $w $label (round $r): '$d' vs stock native '${REF[$w]}'" >&2
                echo "reproduce: clang-14 -O2 -c bench/pass/rt_bench.c -o /tmp/rt_bench.o &&" \
                     "clang-14 -O2 -Iworkloads ${LOAD[*]} ${BFLAGS[$b]} $(srcs "$w" | sed "s|$ROOT/||g") /tmp/rt_bench.o -o /tmp/x -lpthread -lm &&" \
                     "OMB_TRACK=$t /tmp/x $(args "$w")" >&2
                exit 1
            fi
            echo "$w $label $r $tm" >> "$TMP/times"
            [ "$r" != 1 ] || echo "$w $label $(grep '^rt_bench:' "$TMP/err" | cut -d' ' -f2-)" >> "$TMP/counts"
        done
    done
    echo "$r $(cut -d' ' -f1-3 /proc/loadavg)" >> "$TMP/loads"
done
T1=$(date +%s)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
declare -p CMD DATE LOAD0 LOAD1 T_START T0 T1 ROUNDS WORKLOADS > "$TMP/meta"
else
    . "$TMP/meta"
fi

# median (STAT=med) or minimum (STAT=min) of field F (4 wall, 5 user, 6 sys,
# 7 user+sys) for workload W, config C
STAT=med
med() {
    awk -v w="$1" -v c="$2" -v f="$3" '$1==w && $2==c {print (f==7 ? $5+$6 : $f)}' "$TMP/times" |
        sort -g | awk -v s="$STAT" '{a[NR]=$1} END {if (s=="min") print a[1]; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
labels=(); for c in "${CONFIGS[@]}"; do read -r label _ _ <<< "$c"; labels+=("$label"); done

# table FIELD: ratios vs plain, one row per workload, geomean row
table() {
    local f=$1 w l base v
    printf '| workload | plain, s |'; for l in "${labels[@]:1}"; do printf ' %s |' "$l"; done; echo
    printf '|---|---|'; for l in "${labels[@]:1}"; do printf -- '---|'; done; echo
    : > "$TMP/ratios.$f$STAT"
    for w in $WORKLOADS; do
        base=$(med "$w" plain "$f")
        printf '| %s | %.3f |' "$w" "$base"
        for l in "${labels[@]:1}"; do
            v=$(med "$w" "$l" "$f")
            r=$(awk -v a="$v" -v b="$base" 'BEGIN {printf "%.3f", a / b}')
            echo "$l $r" >> "$TMP/ratios.$f$STAT"
            printf ' %s |' "$r"
        done
        echo
    done
    printf '| **geomean** | |'
    for l in "${labels[@]:1}"; do
        awk -v l="$l" '$1==l {s+=log($2); n++} END {printf " **%.3f** |", exp(s/n)}' "$TMP/ratios.$f$STAT"
    done
    echo
}
geo() { awk -v l="$2" '$1==l {s+=log($2); n++} END {printf "%.3f", exp(s/n)}' "$TMP/ratios.$1"; }
verdict() { awk -v g="$1" -v t="$2" 'BEGIN {printf "%+.1f%% (target ≤ %d%%): %s", (g-1)*100, t, (g <= 1 + t/100.0) ? "met" : "MISSED"}'; }

CPU_TABLE=$(table 7)
WALL_TABLE=$(table 4)
STAT=min
MIN_TABLE=$(table 7)
STAT=med
{
    echo "# OptMigPass run-time overhead on the workloads (native)"
    echo
    echo "- command: \`$CMD\` (plugin $P)"
    echo "- date: $DATE; $ROUNDS rounds; timed part $((T1 - T0)) s, whole script $((T1 - T_START)) s"
    echo "- machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')"
    echo "- load average (1/5/15 min): $LOAD0 at start, $LOAD1 at end; after each round: $(awk '{printf "%s%s", (NR>1?", ":""), $2}' "$TMP/loads"). **The machine is shared with other jobs**: see \"Noise\" below."
    echo "- compiler: $(clang-14 --version | head -1); every build \`clang-14 -O2\`, linked with bench/pass/rt_bench.c (built without the plugin: the ABI, a fixed-address range and a bump allocator inside it, so every build, plain included, runs on the same allocator)"
    echo "- every configuration printed the same digest as the stock native build (glibc malloc), checked on every run"
    echo
    echo "Workload arguments (2 threads):"
    echo
    for w in $WORKLOADS; do echo "- $w \`$(args "$w")\`"; done
    echo
    echo "Configurations: \`build:mode\`. Builds (polls and plain copies on unless said): **all** ="
    echo "\`-optmig-track=dirty+access\` (what omcc compiles by default), **dirty** = \`-optmig-track=dirty\`,"
    echo "**access** = \`-optmig-track=access\`, **polls** = \`-optmig-track=none\` (safepoint polls only),"
    echo "**mtest** = all plus \`-optmig-mark-test\` (a mark stores only into a 0 byte). Mode = \`__om_track\`"
    echo "at run time, set before main: off 0, dirty 1, access 2, both 3. Every page is present (the"
    echo "access checks cost only the check) and the dirty map is never cleared (no copier runs)."
    echo
    echo "## Targets (geomean over the workloads, CPU time)"
    echo
    echo "| target | configuration | geomean | result |"
    echo "|---|---|---|---|"
    echo "| idle ≤ 3% | all:off (omcc's build) | $(geo 7med all:off) | $(verdict "$(geo 7med all:off)" 3) |"
    echo "| idle ≤ 3% | dirty:off | $(geo 7med dirty:off) | $(verdict "$(geo 7med dirty:off)" 3) |"
    echo "| dirty ≤ 10% | all:dirty | $(geo 7med all:dirty) | $(verdict "$(geo 7med all:dirty)" 10) |"
    echo "| dirty ≤ 10% | dirty:on | $(geo 7med dirty:on) | $(verdict "$(geo 7med dirty:on)" 10) |"
    echo "| access ≤ 25% | all:access | $(geo 7med all:access) | $(verdict "$(geo 7med all:access)" 25) |"
    echo "| access ≤ 25% | access:on | $(geo 7med access:on) | $(verdict "$(geo 7med access:on)" 25) |"
    echo "| (both, no target) | all:both | $(geo 7med all:both) | $(awk -v g="$(geo 7med all:both)" 'BEGIN {printf "%+.1f%%", (g-1)*100}') |"
    echo "| (polls alone, no target) | polls:off | $(geo 7med polls:off) | $(awk -v g="$(geo 7med polls:off)" 'BEGIN {printf "%+.1f%%", (g-1)*100}') |"
    echo "| (dirty, test-before-set marks) | mtest:dirty | $(geo 7med mtest:dirty) | $(verdict "$(geo 7med mtest:dirty)" 10) |"
    echo
    echo "## CPU time (user + sys), median of $ROUNDS, ratio vs plain"
    echo
    echo "$CPU_TABLE"
    echo
    echo "## CPU time (user + sys), minimum of $ROUNDS, ratio vs plain"
    echo
    echo "The fastest run of each configuration: the least disturbed by the other jobs."
    echo
    echo "$MIN_TABLE"
    echo
    echo "## Wall time, median of $ROUNDS, ratio vs plain"
    echo
    echo "$WALL_TABLE"
    echo
    echo "## Run-time counts (round 1, OMB_STATS=1)"
    echo
    echo "Heap pages touched by the bump allocator, dirty pages at exit, calls into the runtime"
    echo "(\`__om_access_slow\` here is always spurious: every page is present)."
    echo
    echo "| workload | config | heap pages | dirty pages | __om_access_slow | __om_mark_range |"
    echo "|---|---|---|---|---|---|"
    awk '$2 != "plain" && $2 != "dirty:off" && $2 != "all:off" && $2 != "polls:off" {printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $6, $8, $10, $12}' "$TMP/counts"
    echo
    echo "## Static counts (-optmig-stats, build all)"
    echo
    echo '```'
    for w in $WORKLOADS; do sed "s|$ROOT/||" "$TMP/$w.all.stats"; done | awk '!seen[$0]++'
    echo '```'
    echo
    echo "## Noise"
    echo
    echo "Other jobs share this $(nproc)-core machine (load averages above), so wall times include"
    echo "waiting for a core; CPU time (user + sys) is the less disturbed measure and the targets"
    echo "are judged on it. Configurations run interleaved (every round runs each once, order rotated)"
    echo "and the tables show medians. Spread of the plain build's CPU time over the rounds"
    echo "(min–max, s):"
    for w in $WORKLOADS; do
        awk -v w="$w" '$1==w && $2=="plain" {v=$5+$6; if (!n || v<lo) lo=v; if (!n || v>hi) hi=v; n++} END {printf "%s %.3f–%.3f; ", w, lo, hi}' "$TMP/times"
    done
    echo
    echo
    echo "Raw timings (workload config round wall user sys): \`KEEP=1\` keeps them, in the build directory's \`times\`."
} > "$OUT"
cat "$OUT"
