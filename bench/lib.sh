# shellcheck shell=bash
# Helpers shared by the bench scripts; source it: . "$ROOT/bench/lib.sh"

# bench_commit ROOT PATH...: the tree's short commit, noting uncommitted changes under PATHs.
bench_commit() {
    local root=$1
    shift
    printf '%s%s\n' "$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown)" \
        "$(git -C "$root" diff --quiet HEAD -- "$@" 2> /dev/null || echo " ($* modified)")"
}

# bench_machine_facts: markdown bullets on the machine a report was measured on.
bench_machine_facts() {
    echo "- machine: uname -r $(uname -r); nproc $(nproc); CPU $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "- memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); THP $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null || echo n/a)"
}

# bench_kill_tree SIG PID: a process and its descendants (listed while each parent exists).
bench_kill_tree() {
    local c
    for c in $(cat /proc/"$2"/task/*/children 2> /dev/null); do bench_kill_tree "$1" "$c"; done
    kill -s "$1" "$2" 2> /dev/null || true
}
