#!/usr/bin/env bash
# Transparency across a real (virtual) network: the source runs in network
# namespace A, the destination in namespace B, joined only by a veth pair with
# 10.231.X.1/30 and 10.231.X.2/30, all created here and removed on exit.
# memstress is migrated at a random moment with --streams 1 and 4; the
# combined output must equal the unmigrated run's, and the bytes must have
# crossed the veth. Needs root and `ip netns` (else exit 77: skipped).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || { echo "SKIP: no 'ip netns'"; exit 77; }

X=$((20 + $$ % 200))
NA=optmig-a-$$ NB=optmig-b-$$ VA=omva$$ VB=omvb$$
ip netns add "$NA" || { echo "SKIP: cannot create a network namespace"; exit 77; }
NETNS+=("$NA")
ip netns add "$NB" || fail "ip netns add $NB"
NETNS+=("$NB")
ip link add "$VA" netns "$NA" type veth peer name "$VB" netns "$NB" || fail "cannot create the veth pair"
ip -n "$NA" addr add "10.231.$X.1/30" dev "$VA" || fail "address A"
ip -n "$NB" addr add "10.231.$X.2/30" dev "$VB" || fail "address B"
for ns_if in "$NA $VA" "$NB $VB"; do
  set -- $ns_if
  ip -n "$1" link set lo up && ip -n "$1" link set "$2" up || fail "link up in $1"
done
end=$((SECONDS + 10))
until ip -n "$NA" link show "$VA" | grep -q LOWER_UP && ip -n "$NB" link show "$VB" | grep -q LOWER_UP; do
  [ "$SECONDS" -lt "$end" ] || fail "the veth pair never came up"
  sleep 0.02
done
note "namespaces $NA ($VA 10.231.$X.1) <-> $NB ($VB 10.231.$X.2)"

tx_bytes() { ip -n "$NA" -s link show "$VA" | awk '/TX:/ { getline; print $1; exit }'; }

ARGS=(-s 64M -t 2 -i 60000 -P 5000)
reference "$T/ref" 1G "$SAMPLES/memstress" "${ARGS[@]}"
for streams in 1 4; do
  d=$T/s$streams
  mkdir -p "$d"
  start_dest "$d" "$T/home" "$NB"
  start_src "$d" "net$streams" "$T/home" "$NA" 1G "$SAMPLES/memstress" "${ARGS[@]}"
  wait_for "$d/src.out" '^memstress: iter 5000$' 120 "$SRC_PID" || fail "the source never got going"
  tx0=$(tx_bytes)
  delay=$(rand_ms 800)
  rand_delay "$delay"
  migrate "$d" "net$streams" "$T/home" "$NA" "10.231.$X.2:$DEST_PORT" --streams "$streams"
  note "streams $streams, ${delay} ms after iter 5000: $(cat "$d/mig.json")"
  [ "$MIG_RC" = 0 ] && [ "$MIG_RESULT" = ok ] || fail "migrate exit $MIG_RC, result '$MIG_RESULT': $(cat "$d/mig.err")"
  awk -v x="$MIG_DOWNTIME" 'BEGIN { exit !(x ~ /^[0-9]+(\.[0-9]+)?$/ && x + 0 > 0) }' ||
    fail "downtime_ms '$MIG_DOWNTIME' is not a number > 0"
  wait_exit "$SRC_PID" 30 || fail "the source did not end after migrating"
  [ "$EXIT_STATUS" = 0 ] || fail "source exit status $EXIT_STATUS"
  wait_exit "$DEST_PID" 120 || fail "the migrated app did not finish"
  [ "$EXIT_STATUS" = 0 ] || fail "destination exit status $EXIT_STATUS"
  cat "$d/src.out" "$d/dest.out" | filter >"$d/both.f"
  same "$T/ref/ref.f" "$d/both.f" "streams $streams: migrated output differs from the unmigrated run"
  sent=$(($(tx_bytes) - tx0))
  bytes=$(sed -n 's/.*"bytes_sent":\([0-9]*\).*/\1/p' "$d/mig.json")
  [ "$sent" -ge "$bytes" ] || fail "only $sent bytes left $VA, the migration reports $bytes"
  note "streams $streams: ok, $sent bytes crossed the veth"
done
echo "PASS: netns"
