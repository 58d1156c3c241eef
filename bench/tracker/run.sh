#!/usr/bin/env bash
# Kernel tracker benchmarks (src/tracker): PAGEMAP_SCAN collect cost against
# the dirty fraction, missing-page fault service rate by service mode, and
# UFFDIO_COPY throughput by chunk size (bench/results/tracker.md); then the
# same through the host's service, src/host/ktrack.c (bench/results/ktrack.md).
# Usage: bench/tracker/run.sh [scan MiB] [fault pages] [copy MiB]
#        bench/tracker/run.sh ktrack [MiB] [fault pages]   (the service only)
# Needs clang-14 and userfaultfd with WP_ASYNC + PAGEMAP_SCAN (root here).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCAN_MIB=${1:-1024}
FAULT_PAGES=${2:-8192}
COPY_MIB=${3:-1024}
CC=${CC:-clang-14}
OUT=$ROOT/bench/results/tracker.md
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

ktrack() {
  $CC -std=gnu17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT/src/host" -I"$ROOT/src/tracker" \
      -I"$ROOT/include" -o "$TMP/bench_ktrack" "$ROOT/bench/tracker/bench_ktrack.c" \
      "$ROOT/src/host/ktrack.c" "$ROOT"/src/tracker/tracker_*.c -lpthread
  {
    echo "# Kernel tracker through the host service (src/host/ktrack.c)"
    echo
    echo "- command: \`bench/tracker/run.sh ktrack $1 $2\` (source: bench/tracker/bench_ktrack.c)"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(uname -srm), $(nproc) cores, shared"
    echo "- one run; on this VM rows vary 2-4x between runs: compare rows of one run"
    echo
    "$TMP/bench_ktrack" "$1" "$2"
  } > "$ROOT/bench/results/ktrack.md"
  cat "$ROOT/bench/results/ktrack.md"
}
if [ "${1:-}" = ktrack ]; then
  ktrack "${2:-1024}" "${3:-8192}"
  exit 0
fi

$CC -std=gnu17 -O2 -Wall -Wextra -Werror -I"$ROOT/src/tracker" -o "$TMP/bench_tracker" \
    "$ROOT/bench/tracker/bench_tracker.c" "$ROOT"/src/tracker/tracker_*.c -lpthread

"$TMP/bench_tracker" scan "$SCAN_MIB" > "$TMP/scan.md"
"$TMP/bench_tracker" fault "$FAULT_PAGES" > "$TMP/fault.md"
"$TMP/bench_tracker" copy "$COPY_MIB" > "$TMP/copy.md"

{
  echo "# Kernel trackers: userfaultfd WP_ASYNC + PAGEMAP_SCAN, MISSING + UFFDIO_COPY"
  echo
  echo "- command: \`bench/tracker/run.sh $SCAN_MIB $FAULT_PAGES $COPY_MIB\` (source: bench/tracker/bench_tracker.c, src/tracker/)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
  echo "- compiler: $($CC --version | head -1), -O2; THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
  echo "- variability: on this VM, full runs an hour apart differed by 2-4x on the same row (fault"
  echo "  rates, collect of scattered pages, close) and about 2x on UFFDIO_COPY; compare rows of one"
  echo "  run with each other, not across runs."
  echo
  echo "## Dirty tracking: collect (PAGEMAP_SCAN, report + re-protect) over $SCAN_MIB MiB"
  echo
  echo "The range is populated (THP-advised) before the tracker opens. Each row dirties the"
  echo "given fraction of pages (one byte per page; random pages or one contiguous run), then"
  echo "times one \`om_wp_collect\` (all PAGEMAP_SCAN calls, bitmap included). \"write µs/page\""
  echo "is the cost of the first write to a protected page: the in-kernel WP_ASYNC fault the"
  echo "application pays once per page per round. \"portable\" is the fallback query for kernels"
  echo "that do not report zapped pages as written (not needed on this kernel)."
  echo
  cat "$TMP/scan.md"
  echo
  echo "Reading the table: collect cost follows the number of 2 MiB blocks that hold dirty"
  echo "pages (see \"µs per block\") much more than the number of dirty pages, so scattered"
  echo "writes cost far more per page than clustered ones. The write column is a page fault per"
  echo "page per round, paid by the application's threads, not by the collector."
  echo
  echo "## Missing pages: fault service rate"
  echo
  echo "Threads read every page of a $FAULT_PAGES-page MISSING range once; the callback installs"
  echo "each faulted page at once (UFFDIO_COPY of 4 KiB) on the service thread. µs per fault is"
  echo "the full round trip seen by the faulting thread: fault, message, install, wake."
  echo
  cat "$TMP/fault.md"
  echo
  echo "## UFFDIO_COPY throughput by chunk size ($COPY_MIB MiB, no faults)"
  echo
  echo "One \`om_missing_install\` per chunk into a fresh MISSING range, no thread touching it."
  echo "The memcpy rows are baselines without userfaultfd: into fresh 4 KiB pages (each first"
  echo "touch is a page fault) and into populated memory."
  echo
  cat "$TMP/copy.md"
} > "$OUT"
cat "$OUT"
ktrack "$SCAN_MIB" "$FAULT_PAGES"
