#!/usr/bin/env bash
# make soak: mixed ledger traffic on the local Fabric network for a while
# (default 1 h) with random kill -9 and restart of an orderer, a peer, the
# relay, the push server and the embedded Kafka broker; at the end
# bench/soak reports what was lost and duplicated on the Kafka stream and
# at a push client, and the worst recovery time.
#
#   scripts/soak.sh [--duration 1h] [--rate 4] [--gap 20] [--down 8] [--keep]
#
#   --duration  how long the traffic and the faults run (Go duration: 3m, 1h)
#   --rate      transactions per second (publish and invalidate in turn per key)
#   --gap       longest pause between two faults, seconds (at least half of it)
#   --down      longest time a killed process stays down, seconds (at least 2)
#   --keep      leave the network running afterwards
#
# Its own network (CACHET_NET_DIR, default .run/soak-network; CACHET_PORT_BASE,
# default 31000), broker on base+500, push on base+510, relay metrics on
# base+520; logs and the fault log in .run/soak (CACHET_SOAK_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=1h rate=4 gap=20 down=8 keep=false
while [[ $# -gt 0 ]]; do
  case $1 in
  --duration) duration=$2; shift 2 ;;
  --rate) rate=$2; shift 2 ;;
  --gap) gap=$2; shift 2 ;;
  --down) down=$2; shift 2 ;;
  --keep) keep=true; shift ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
((gap >= 2 && down >= 2)) || { echo "soak: --gap and --down must be at least 2" >&2; exit 2; }

export CACHET_PORT_BASE=${CACHET_PORT_BASE:-31000}
export CACHET_NET_DIR=${CACHET_NET_DIR:-$root/.run/soak-network}
run=${CACHET_SOAK_DIR:-$root/.run/soak}
net=$root/network/network.sh
bin=$root/.bin
kport=$((CACHET_PORT_BASE + 500)) pport=$((CACHET_PORT_BASE + 510)) mport=$((CACHET_PORT_BASE + 520))
brokers=127.0.0.1:$kport
secret=soak-secret-0123456789abcdef

# seconds DURATION: a Go-style duration (90s, 3m, 1h, 1h30m) in seconds.
seconds() {
  local d=$1 n=0
  while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
    case ${BASH_REMATCH[2]} in h) n=$((n + BASH_REMATCH[1] * 3600)) ;; m) n=$((n + BASH_REMATCH[1] * 60)) ;; s) n=$((n + BASH_REMATCH[1])) ;; esac
    d=${BASH_REMATCH[3]}
  done
  [[ -z $d && $n -gt 0 ]] || { echo "soak: bad duration $1" >&2; exit 2; }
  echo "$n"
}
total=$(seconds "$duration")
say() { echo "soak: $*" >&2; }
now() { date +%s%N; }
rand() { echo $(($1 + RANDOM % ($2 - $1 + 1))); } # rand LO HI

mkdir -p "$run/pids" "$run/logs"
rm -f "$run/events.log"
go build -o "$bin/cachet" ./cmd/cachet
go build -o "$bin/soak" ./bench/soak

"$net" up
[[ -f $CACHET_NET_DIR/chaincode.id ]] || "$net" deploy
for who in "org1 publisher" "org1 invalidator" "org1 auditor"; do
  "$net" profile $who >"$run/${who/ /-}.json"
done

# The daemons this script owns, each started detached with its PID in
# $run/pids/NAME.pid and its log in $run/logs/NAME.log.
daemon_cmd() {
  case $1 in
  broker) echo "$bin/cachet dev --port $kport --data-dir $run/kafka --push-listen= --origin-listen= --analytics=false" ;;
  relay) echo "$bin/cachet relay --config $run/org1-auditor.json --brokers $brokers --instance-id soak-relay --metrics-listen 127.0.0.1:$mport" ;;
  push) echo "$bin/cachet push --brokers $brokers --listen 127.0.0.1:$pport --jwt-secret $secret" ;;
  esac
}
daemon_port() { case $1 in broker) echo "$kport" ;; relay) echo "$mport" ;; push) echo "$pport" ;; esac; }
start_daemon() {
  local name=$1
  # shellcheck disable=SC2046
  setsid $(daemon_cmd "$name") >>"$run/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/pids/$name.pid"
  disown
  for _ in $(seq 1 600); do
    (: </dev/tcp/127.0.0.1/"$(daemon_port "$name")") 2>/dev/null && return 0
    kill -0 "$(cat "$run/pids/$name.pid")" 2>/dev/null || { tail -n 20 "$run/logs/$name.log" >&2; say "$name exited"; return 1; }
    sleep 0.1
  done
  say "$name did not open its port in 60 s"
  return 1
}
stop_daemon() {
  local f=$run/pids/$1.pid
  [[ -f $f ]] || return 0
  kill -TERM "$(cat "$f")" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$(cat "$f")" 2>/dev/null || true
  rm -f "$f"
}
cleanup() {
  [[ -n ${soak_pid:-} ]] && kill "$soak_pid" 2>/dev/null || true
  for d in push relay broker; do stop_daemon "$d"; done
  $keep || "$net" down
}
trap cleanup EXIT

rm -rf "$run/kafka"
for d in broker relay push; do start_daemon "$d"; done
say "network on base $CACHET_PORT_BASE, broker $brokers, push ws://127.0.0.1:$pport/ws; faults for $duration"

"$bin/soak" --publisher "$run/org1-publisher.json" --invalidator "$run/org1-invalidator.json" \
  --brokers "$brokers" --push-url "ws://127.0.0.1:$pport/ws" --push-secret "$secret" \
  --duration "$duration" --rate "$rate" --events "$run/events.log" 2>"$run/logs/soak.log" | tee "$run/soak.out" &
soak_pid=$!

# Faults until 20 s before the load ends, one at a time: kill -9, a pause,
# then the restart (network.sh start-node for Fabric nodes). The five kinds
# come in rounds, each round in a random order, so that a short run still
# kills each kind once; which orderer and which peer is random.
kinds=(orderer peer relay push broker)
round=()
end=$(($(date +%s) + total - 20))
while true; do
  sleep "$(rand $((gap / 2)) "$gap")"
  (($(date +%s) + down < end)) || break
  if ((${#round[@]} == 0)); then
    mapfile -t round < <(printf '%s\n' "${kinds[@]}" | shuf)
  fi
  what=${round[0]}
  round=("${round[@]:1}")
  case $what in
  orderer) name=orderer$((RANDOM % 3)); pidf=$CACHET_NET_DIR/pids/$name.pid ;;
  peer) peers=(org1-peer0 org1-peer1 org2-peer0); name=${peers[RANDOM % 3]}; pidf=$CACHET_NET_DIR/pids/$name.pid ;;
  *) name=$what; pidf=$run/pids/$name.pid ;;
  esac
  kill -KILL "$(cat "$pidf")" 2>/dev/null || { say "$name was not running"; continue; }
  echo "$(now) kill $name" >>"$run/events.log"
  pause=$(rand 2 "$down")
  say "killed $name (kill -9), restarting in ${pause}s"
  sleep "$pause"
  case $what in
  orderer | peer) "$net" start-node "$name" >>"$run/logs/start-node.log" 2>&1 ;;
  *) start_daemon "$name" ;;
  esac
  echo "$(now) start $name" >>"$run/events.log"
done

status=0
wait "$soak_pid" || status=$?
soak_pid=
exit "$status"
