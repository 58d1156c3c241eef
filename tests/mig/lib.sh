# Shared helpers of the migration tests (tests/mig/*.sh source this file).
# Usage of every script: SCRIPT OPTMIG SAMPLEDIR RELAY [CASE]
#
# Each test gets its own temp dir $T (platform key, control sockets, logs). Every
# background process it starts is recorded in PIDS and killed by PID on exit;
# namespaces it creates are in NETNS and deleted on exit. Waits are bounded
# polls on concrete conditions (a line in a file, a process gone).
set -u
OPTMIG=$1 SAMPLES=$2 RELAY=$3
shift 3
T=$(mktemp -d /tmp/optmig-mig.XXXXXX)
PIDS=()
NETNS=()

# kill_tree SIG PID: PID and every descendant of it, by PID (the children are
# listed while their parent still exists).
kill_tree() {
  local sig=$1 p=$2 c
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do kill_tree "$sig" "$c"; done
  kill -s "$sig" "$p" 2>/dev/null
}

cleanup() {
  local rc=$? p ns f end=$((SECONDS + 3))
  for p in "${PIDS[@]}"; do alive "$p" && kill_tree TERM "$p"; done
  for p in "${PIDS[@]}"; do
    while alive "$p" && [ "$SECONDS" -lt "$end" ]; do sleep 0.02; done
    alive "$p" && kill_tree KILL "$p"
    wait "$p" 2>/dev/null
  done
  for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "---- logs of the failed test ($T) ----"
    for f in $(find "$T" -type f \( -name '*.err' -o -name '*.json' -o -name '*.log' \) | sort); do
      echo "== $f"; tail -n 25 "$f"
    done
  fi
  if [ -n "${MIG_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

fail() { echo "FAIL: $*"; exit 1; }
note() { echo "== [${SECONDS}s] $*"; }

# A child is alive while /proc says so and it is not a zombie.
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# wait_for FILE ERE SECONDS [PID]: until a line of FILE matches; fails early
# if PID ended without writing it.
wait_for() {
  local file=$1 re=$2 secs=$3 pid=${4:-} end=$((SECONDS + $3))
  while :; do
    grep -Eq -- "$re" "$file" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! alive "$pid"; then
      grep -Eq -- "$re" "$file" 2>/dev/null && return 0
      echo "FAIL: process $pid ended before '$re' appeared in $file"; return 1
    fi
    [ "$SECONDS" -ge "$end" ] && { echo "FAIL: no '$re' in $file after ${secs}s"; return 1; }
    sleep 0.02
  done
}

# wait_exit PID SECONDS: waits for a child we started; its status goes to EXIT_STATUS.
EXIT_STATUS=
wait_exit() {
  local pid=$1 end=$((SECONDS + $2))
  while alive "$pid"; do
    [ "$SECONDS" -ge "$end" ] && { echo "FAIL: process $pid still runs after $2 s"; return 1; }
    sleep 0.02
  done
  wait "$pid"; EXIT_STATUS=$?
  forget "$pid"
  return 0
}

# forget PID: reaped, so its number may be reused: never signal it again.
forget() {
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# run_in NS CMD...: CMD in network namespace NS ("" = this one); exec'ed, so
# a background run_in's $! is the command itself.
run_in() {
  local ns=$1; shift
  if [ -n "$ns" ]; then exec ip netns exec "$ns" "$@"; else exec "$@"; fi
}

rand_ms() { echo $((RANDOM % ($1 + 1))); }
rand_delay() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; } # milliseconds
filter() { grep -v -- '_ms ' "$@"; }

new_home() { # DIR: a platform key and trust store of its own
  mkdir -p "$1"
  OPTMIG_HOME=$1 "$OPTMIG" keygen >/dev/null || fail "keygen in $1"
}

# reference DIR HEAP IMAGE ARGS...: the unmigrated run -> DIR/ref.out, DIR/ref.f
reference() {
  local d=$1 heap=$2 img=$3; shift 3
  mkdir -p "$d"
  OPTMIG_HOME=$T/home "$OPTMIG" run --heap "$heap" "$img" -- "$@" >"$d/ref.out" 2>"$d/ref.err" ||
    fail "unmigrated run failed: $(cat "$d/ref.err")"
  grep -Eq '^(memstress: verify ok|ptrchase: check ok)$' "$d/ref.out" || fail "unmigrated run did not verify"
  grep -Eq ': digest [0-9a-f]{16}$' "$d/ref.out" || fail "unmigrated run printed no digest"
  filter "$d/ref.out" >"$d/ref.f"
}

# start_dest DIR HOME NS [LISTEN ARGS...]: optmig listen --once on a free port.
# Sets DEST_PID, DEST_PORT.
start_dest() {
  local d=$1 home=$2 ns=$3 try; shift 3
  mkdir -p "$d"
  for try in 1 2 3 4 5 6; do
    DEST_PORT=$( (run_in "$ns" "$RELAY" --free-port --bind 0.0.0.0)) || fail "no free port"
    (OPTMIG_HOME=$home run_in "$ns" "$OPTMIG" listen --port "$DEST_PORT" --once "$@") >"$d/dest.out" 2>"$d/dest.err" &
    DEST_PID=$!
    PIDS+=("$DEST_PID")
    wait_for "$d/dest.err" 'listening on port|cannot listen' 20 "$DEST_PID" >/dev/null
    grep -q 'listening on port' "$d/dest.err" && return 0
    wait_exit "$DEST_PID" 10 || fail "listen hangs"
  done
  fail "optmig listen could not get a port: $(cat "$d/dest.err")"
}

# start_relay DIR TO RELAY-ARGS...: sets RELAY_PID, RELAY_PORT; log in DIR/relay.log
start_relay() {
  local d=$1 to=$2; shift 2
  "$RELAY" --listen 0 --to "$to" "$@" 2>"$d/relay.log" &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  wait_for "$d/relay.log" 'listening on port' 10 "$RELAY_PID" || fail "relay did not start"
  RELAY_PORT=$(sed -n 's/^relay: listening on port \([0-9]*\)$/\1/p' "$d/relay.log")
}

# start_src DIR NAME HOME NS HEAP IMAGE ARGS...: optmig run --name NAME; sets SRC_PID
start_src() {
  local d=$1 name=$2 home=$3 ns=$4 heap=$5 img=$6; shift 6
  mkdir -p "$d"
  (OPTMIG_HOME=$home OPTMIG_RUNDIR=$T/run run_in "$ns" "$OPTMIG" run --name "$name" --heap "$heap" "$img" -- "$@") \
    >"$d/src.out" 2>"$d/src.err" &
  SRC_PID=$!
  PIDS+=("$SRC_PID")
}

# migrate DIR NAME HOME NS TO ARGS...: optmig migrate --json -> DIR/mig.json,
# with --strategy $MIG_STRATEGY (default stop-and-copy; ARGS may override),
# DIR/mig.err, DIR/mig.rc ("STATUS SECONDS"), then parse_mig. May run in the
# background: parse_mig DIR afterwards.
migrate() {
  local d=$1 name=$2 home=$3 ns=$4 to=$5 t0=$SECONDS rc; shift 5
  (OPTMIG_HOME=$home OPTMIG_RUNDIR=$T/run run_in "$ns" timeout -k 5 "${MIG_LIMIT:-150}" \
    "$OPTMIG" migrate "$name" --to "$to" --json --strategy "${MIG_STRATEGY:-stop-and-copy}" "$@") \
    >"$d/mig.json" 2>"$d/mig.err"
  rc=$?
  echo "$rc $((SECONDS - t0))" >"$d/mig.rc"
  parse_mig "$d"
}

# parse_mig DIR: sets MIG_RC, MIG_SECS, MIG_RESULT, MIG_ERROR, MIG_DOWNTIME
parse_mig() {
  local d=$1
  read -r MIG_RC MIG_SECS <"$d/mig.rc" || fail "migrate left no status"
  MIG_RESULT=$(sed -n 's/.*"result":"\([^"]*\)".*/\1/p' "$d/mig.json")
  MIG_ERROR=$(sed -n 's/.*"error":"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$d/mig.json")
  MIG_DOWNTIME=$(sed -n 's/.*"downtime_ms":\([^,}]*\).*/\1/p' "$d/mig.json")
}

# same FILE_A FILE_B WHAT: identical, or fail showing the difference
same() {
  cmp -s "$1" "$2" && return 0
  echo "--- diff $1 $2"; diff "$1" "$2" | head -20
  fail "$3"
}

mkdir -p "$T/run"
new_home "$T/home"
