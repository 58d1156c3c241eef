#!/usr/bin/env bash
# Two network namespaces joined by one veth pair, for migration tests and benchmarks.
#
#   scripts/netns.sh up PREFIX [RATE]   create PREFIX-a (10.232.0.1/30) and PREFIX-b
#                                       (10.232.0.2/30), joined by veth "om0" in each;
#                                       with RATE (e.g. 10gbit, 1gbit, 500mbit), shape
#                                       both ends' egress with `tc tbf`
#   scripts/netns.sh down PREFIX        remove both namespaces (and so the veth pair)
#   scripts/netns.sh status PREFIX      show addresses and qdiscs; exit 1 if not up
#
# Run a command on a side with `ip netns exec PREFIX-a CMD...`.
# Idempotent: `up` on a complete pair only (re)applies the rate (no RATE removes
# shaping); a partial pair is removed and rebuilt. `down` on nothing succeeds.
# Needs root and iproute2. Touches nothing outside the two namespaces: the veth is
# created inside them, so no interface name is ever taken in the caller's namespace.
# Exit status: 0 done, 1 failure, 64 usage error.
set -euo pipefail

ADDR_A=10.232.0.1
ADDR_B=10.232.0.2
PLEN=30
DEV=om0

die() { echo "netns.sh: $*" >&2; exit 1; }
usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 64
}

check_prefix() {
    local p=$1
    [[ $p =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] ||
        die "bad PREFIX '$p': use 1-41 characters from [A-Za-z0-9_.-], starting alphanumeric"
}

need_tools() {
    command -v ip > /dev/null || die "'ip' (iproute2) not found"
    [ "$(id -u)" -eq 0 ] || die "must run as root (creates network namespaces)"
}

ns_exists() { ip netns list 2> /dev/null | awk '{print $1}' | grep -qx -- "$1"; }

# Rate in bits per second from tc syntax: 10gbit, 1.5gbit, 500mbit, 800kbit, 1000000bit, 10000000.
rate_bps() {
    local r=${1,,} num unit mult
    [[ $r =~ ^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit)?$ ]] || return 1
    num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]:-bit}
    case $unit in
        bit) mult=1 ;; kbit) mult=1000 ;; mbit) mult=1000000 ;;
        gbit) mult=1000000000 ;; tbit) mult=1000000000000 ;;
    esac
    awk -v n="$num" -v m="$mult" 'BEGIN { v = n * m; if (v < 8000) exit 1; printf "%.0f\n", v }'
}

# tbf on one end. burst: 1 ms of traffic at RATE, at least 128 KiB (two 64 KiB GSO
# segments, which veth passes whole; a smaller bucket than one segment drops it).
# latency: 5 ms of queueing before tbf drops, enough for TCP to keep the link full.
shape() {
    local ns=$1 rate=$2 bps burst
    bps=$(rate_bps "$rate") || die "bad RATE '$rate' (examples: 10gbit, 1gbit, 500mbit)"
    burst=$((bps / 8 / 1000))
    [ "$burst" -ge 131072 ] || burst=131072
    ip -n "$ns" link set "$DEV" up
    ip -n "$ns" link set dev "$DEV" txqueuelen 1000 # veth's default 0 starves tbf's fallback queue
    tc -n "$ns" qdisc replace dev "$DEV" root tbf rate "$rate" burst "$burst" latency 5ms ||
        die "tc tbf on $ns/$DEV failed (is sch_tbf available?)"
}

unshape() {
    local ns=$1
    if tc -n "$ns" qdisc show dev "$DEV" | grep -q '^qdisc tbf'; then
        tc -n "$ns" qdisc del dev "$DEV" root || die "cannot remove tbf on $ns/$DEV"
    fi
}

pair_complete() {
    local a=$1 b=$2
    ns_exists "$a" && ns_exists "$b" || return 1
    ip -n "$a" -4 addr show dev "$DEV" 2> /dev/null | grep -q "inet $ADDR_A/$PLEN" || return 1
    ip -n "$b" -4 addr show dev "$DEV" 2> /dev/null | grep -q "inet $ADDR_B/$PLEN" || return 1
    ip -n "$a" link show dev "$DEV" 2> /dev/null | grep -q 'state UP' || return 1
}

do_down() {
    local p=$1 ns rc=0
    for ns in "$p-a" "$p-b"; do
        if ns_exists "$ns"; then
            ip netns del "$ns" || { echo "netns.sh: cannot delete namespace $ns" >&2; rc=1; }
        fi
    done
    return $rc
}

do_up() {
    local p=$1 rate=${2:-} a=$1-a b=$1-b
    if [ -n "$rate" ]; then rate_bps "$rate" > /dev/null || die "bad RATE '$rate' (examples: 10gbit, 1gbit, 500mbit)"; fi
    if ! pair_complete "$a" "$b"; then
        do_down "$p" || die "cannot clear a partial $p pair"
        ip netns add "$a" || die "cannot create namespace $a"
        if ! ip netns add "$b"; then
            do_down "$p" || true
            die "cannot create namespace $b"
        fi
        # Created directly inside the namespaces, both ends named $DEV.
        if ! { ip -n "$a" link add "$DEV" type veth peer name "$DEV" netns "$b" &&
            ip -n "$a" addr add "$ADDR_A/$PLEN" dev "$DEV" &&
            ip -n "$b" addr add "$ADDR_B/$PLEN" dev "$DEV" &&
            ip -n "$a" link set lo up && ip -n "$b" link set lo up &&
            ip -n "$a" link set "$DEV" up && ip -n "$b" link set "$DEV" up; }; then
            do_down "$p" || true
            die "cannot set up the veth pair between $a and $b"
        fi
    fi
    local ns
    for ns in "$a" "$b"; do
        if [ -n "$rate" ]; then shape "$ns" "$rate"; else unshape "$ns"; fi
    done
    # Wait (up to 2 s) until the link answers, so callers can connect at once:
    # a TCP connect to a closed port is refused only if the packets got through.
    local i out
    for i in $(seq 20); do
        out=$(ip netns exec "$a" timeout 1 bash -c "exec 3<>/dev/tcp/$ADDR_B/9" 2>&1) && break
        case $out in *refused*) break ;; esac
        [ "$i" -lt 20 ] || die "$a cannot reach $ADDR_B over the new veth"
        sleep 0.1
    done
    echo "netns.sh: $a ($ADDR_A) <-> $b ($ADDR_B) up${rate:+, tbf rate $rate}"
}

do_status() {
    local p=$1 ns rc=0
    for ns in "$p-a" "$p-b"; do
        if ns_exists "$ns"; then
            echo "== $ns"
            ip -n "$ns" -br addr show dev "$DEV" 2> /dev/null || { echo "  (no $DEV)"; rc=1; }
            tc -n "$ns" qdisc show dev "$DEV" 2> /dev/null || true
        else
            echo "== $ns: absent"
            rc=1
        fi
    done
    return $rc
}

[ $# -ge 2 ] || usage
cmd=$1 prefix=$2
shift 2
check_prefix "$prefix"
case $cmd in
    up) [ $# -le 1 ] || usage; need_tools; do_up "$prefix" "${1:-}" ;;
    down) [ $# -eq 0 ] || usage; need_tools; do_down "$prefix" ;;
    status) [ $# -eq 0 ] || usage; command -v ip > /dev/null || die "'ip' not found"; do_status "$prefix" ;;
    -h | --help | help) usage ;;
    *) echo "netns.sh: unknown command '$cmd'" >&2; usage ;;
esac
