#!/usr/bin/env bash
# Cachet's native Fabric test network: three raft orderers, Org1 (two peers)
# and Org2 (one peer), TLS everywhere, LevelDB, the contract served as a
# chaincode-as-a-service process. No Docker.
#
#   network.sh up              generate crypto and the channel once, start every node
#   network.sh deploy          package, install, approve, commit (again: upgrade, sequence+1)
#   network.sh deploy-baseline the same for the benchmark's trivial put contract, chaincode "baseline"
#   network.sh down [--clean]  stop this network's processes (and delete its data)
#   network.sh start-node NAME start one stopped node (orderer0-2, org1-peer0, org1-peer1, org2-peer0)
#                              on its existing data, e.g. after a crash, and wait for its port
#   network.sh env ORG ROLE    print the peer CLI environment of org1|org2 and admin|publisher|invalidator|auditor
#   network.sh profile ORG ROLE  print a connection profile (JSON) for the cachet command and the gateway package
#   network.sh status          list this network's processes
#   network.sh dc status|cut DC|heal [DC]|delay D
#                              emulated data centers (CACHET_DC_LINKS=1 at the first up):
#                              cut dc1|dc2|dc3 off, heal it (or all), set the one-way delay
#
# Settings (environment): CACHET_NET_DIR (.run/network), CACHET_PORT_BASE
# (27000), CACHET_BATCH_TIMEOUT (10ms), CACHET_MAX_MESSAGE_COUNT (10),
# CACHET_LOG_SPEC (warning; debug costs ~40% throughput), CACHET_DC_LINKS
# (1: the data-center mode, chosen when the channel is generated),
# CACHET_DC_DELAY (0ms: the one-way delay between data centers at up).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NET=${CACHET_NET_DIR:-$ROOT/.run/network}
BIN=$ROOT/.bin
export PATH=$BIN/fabric:$BIN:$PATH
PORT_BASE=${CACHET_PORT_BASE:-27000}
BATCH_TIMEOUT=${CACHET_BATCH_TIMEOUT:-10ms}
MAX_MESSAGE_COUNT=${CACHET_MAX_MESSAGE_COUNT:-10}
LOG_SPEC=${CACHET_LOG_SPEC:-warning}
CHANNEL=cachet
CC_NAME=cachet
CC_POLICY="OR('Org1MSP.peer','Org2MSP.peer')"
CC_PORT=$((PORT_BASE + 300))
# The benchmark's reference: a trivial put contract, deployed beside the
# cachet contract with the same policy (network.sh deploy-baseline).
BASELINE_NAME=baseline
BASELINE_PORT=$((PORT_BASE + 301))
CRYPTO=$NET/crypto
ORDERER_CA=$CRYPTO/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem

orderer_port() { echo $((PORT_BASE + 10 + $1)); }
orderer_admin() { echo $((PORT_BASE + 20 + $1)); }
orderer_ops() { echo $((PORT_BASE + 30 + $1)); }
# The data-center mode: each orderer's cluster listener, the proxies in
# front of it and of its client port, the proxy control endpoint; a peer's
# proxy is its port + 3.
orderer_cluster() { echo $((PORT_BASE + 40 + $1)); }
orderer_cluster_proxy() { echo $((PORT_BASE + 50 + $1)); }
orderer_proxy() { echo $((PORT_BASE + 60 + $1)); }
DC_CONTROL=$((PORT_BASE + 70))
DC_DELAY=${CACHET_DC_DELAY:-0ms}
# DC1: orderer0, org1-peer0, org1-peer1; DC2: orderer1, org2-peer0; DC3: orderer2.
dc_of() {
  case $1 in orderer0 | org1-peer0 | org1-peer1) echo dc1 ;; orderer1 | org2-peer0) echo dc2 ;; orderer2) echo dc3 ;; esac
}
# Peers: org1-peer0, org1-peer1, org2-peer0.
PEERS=(org1-peer0 org1-peer1 org2-peer0)
peer_port() {
  case $1 in
  org1-peer0) echo $((PORT_BASE + 100)) ;; org1-peer1) echo $((PORT_BASE + 110)) ;; org2-peer0) echo $((PORT_BASE + 200)) ;;
  *) die "unknown peer $1" ;;
  esac
}
peer_host() { local org=${1%-*} p=${1#*-}; echo "$p.$org.example.com"; }
org_dir() { echo "$CRYPTO/peerOrganizations/$1.example.com"; }
msp_id() { case $1 in org1) echo Org1MSP ;; org2) echo Org2MSP ;; *) die "unknown org $1" ;; esac; }

die() { echo "network: $*" >&2; exit 1; }

# The ports each process listens on, checked free before it starts.
declare -A PORTS_OF=(
  [orderer0]="$(orderer_port 0) $(orderer_admin 0) $(orderer_ops 0)"
  [orderer1]="$(orderer_port 1) $(orderer_admin 1) $(orderer_ops 1)"
  [orderer2]="$(orderer_port 2) $(orderer_admin 2) $(orderer_ops 2)"
  [org1-peer0]="$((PORT_BASE + 100)) $((PORT_BASE + 101)) $((PORT_BASE + 102))"
  [org1-peer1]="$((PORT_BASE + 110)) $((PORT_BASE + 111)) $((PORT_BASE + 112))"
  [org2-peer0]="$((PORT_BASE + 200)) $((PORT_BASE + 201)) $((PORT_BASE + 202))"
  [chaincode]="$CC_PORT"
  [baseline]="$BASELINE_PORT"
)
# dc_mode: whether this network runs its nodes in emulated data centers
# (decided when its channel is generated, remembered in $NET/dc-mode).
dc_mode() { [[ -f $NET/dc-mode || (! -f $NET/$CHANNEL.block && ${CACHET_DC_LINKS:-} == 1) ]]; }
if dc_mode; then
  for i in 0 1 2; do PORTS_OF[orderer$i]+=" $(orderer_cluster "$i")"; done
  PORTS_OF[dcproxy]="$DC_CONTROL $(orderer_cluster_proxy 0) $(orderer_cluster_proxy 1) $(orderer_cluster_proxy 2)"
  PORTS_OF[dcproxy]+=" $(orderer_proxy 0) $(orderer_proxy 1) $(orderer_proxy 2) $((PORT_BASE + 103)) $((PORT_BASE + 113)) $((PORT_BASE + 203))"
fi
say() { echo "network: $*" >&2; }

# ---- processes -----------------------------------------------------------

pidfile() { echo "$NET/pids/$1.pid"; }
running() { local f; f=$(pidfile "$1"); [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null; }

# start NAME ENV... -- CMD...: runs CMD detached with its log in logs/NAME.log.
start() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  mkdir -p "$NET/logs" "$NET/pids"
  if running "$name"; then return; fi
  local port
  for port in ${PORTS_OF[$name]:-}; do
    if (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      die "port $port, needed by $name, is already in use by a process this network did not start (another network on CACHET_PORT_BASE=$PORT_BASE?)"
    fi
  done
  setsid env "${envs[@]}" "$@" >>"$NET/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$name")"
}

# wait_port NAME PORT: waits until PORT accepts connections, failing loudly
# with NAME's log tail if the process dies or 60 s pass.
wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 600); do
    if (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
    if ! running "$name"; then
      echo "network: $name exited; last lines of $NET/logs/$name.log:" >&2
      tail -n 30 "$NET/logs/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "network: $name did not open port $port in 60s; last lines of its log:" >&2
  tail -n 30 "$NET/logs/$name.log" >&2
  exit 1
}

stop() {
  local name=$1 f pid
  f=$(pidfile "$name")
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# ---- generation ------------------------------------------------------------

generate() {
  if [[ -f $NET/$CHANNEL.block ]]; then
    if [[ ${CACHET_DC_LINKS:-} == 1 && ! -f $NET/dc-mode ]]; then
      die "$NET was generated without CACHET_DC_LINKS=1; network.sh down --clean first"
    fi
    return
  fi
  say "generating crypto material and the channel's genesis block in $NET"
  rm -rf "$CRYPTO" && mkdir -p "$NET/config"
  local o0=$(orderer_port 0) o1=$(orderer_port 1) o2=$(orderer_port 2) c0 c1 c2
  local a1=$(peer_port org1-peer0) a2=$(peer_port org2-peer0)
  c0=$o0 c1=$o1 c2=$o2
  if dc_mode; then
    o0=$(orderer_proxy 0) o1=$(orderer_proxy 1) o2=$(orderer_proxy 2)
    c0=$(orderer_cluster_proxy 0) c1=$(orderer_cluster_proxy 1) c2=$(orderer_cluster_proxy 2)
    a1=$((a1 + 3)) a2=$((a2 + 3))
  fi
  cryptogen generate --config "$ROOT/network/config/crypto-config.yaml" --output "$CRYPTO" >/dev/null
  go build -o "$BIN/rolecerts" "$ROOT/network/rolecerts"
  rolecerts --crypto "$CRYPTO"
  # configtx.yaml with this network's ports and batch settings.
  ORDERER0_ENDPOINT_PORT=$o0 ORDERER1_ENDPOINT_PORT=$o1 ORDERER2_ENDPOINT_PORT=$o2 \
    CONSENTER0_PORT=$c0 CONSENTER1_PORT=$c1 CONSENTER2_PORT=$c2 ORG1_ANCHOR_PORT=$a1 ORG2_ANCHOR_PORT=$a2 \
    BATCH_TIMEOUT=$BATCH_TIMEOUT MAX_MESSAGE_COUNT=$MAX_MESSAGE_COUNT \
    perl -pe 's/\$\{(\w+)\}/exists $ENV{$1} ? $ENV{$1} : die "unset $1\n"/ge' \
    "$ROOT/network/config/configtx.yaml.tmpl" > "$NET/configtx.yaml"
  FABRIC_CFG_PATH=$NET configtxgen -profile Cachet -channelID "$CHANNEL" -outputBlock "$NET/$CHANNEL.block.tmp" 2>"$NET/configtxgen.log" ||
    { cat "$NET/configtxgen.log" >&2; die "configtxgen failed"; }
  # Node configuration: Fabric's sample core.yaml and orderer.yaml, with the
  # ccaas external builder; everything node-specific comes from the
  # environment at start.
  local sample
  sample=$(cd "$ROOT/tools/fabric" && go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)/sampleconfig
  sed -e "s#name: ccaas_builder#name: cachet_ccaas#" -e "s#path: /opt/hyperledger/ccaas_builder#path: $ROOT/network/builders/ccaas#" \
    "$sample/core.yaml" > "$NET/config/core.yaml"
  grep -q "$ROOT/network/builders/ccaas" "$NET/config/core.yaml" || die "could not set the external builder in core.yaml"
  cp "$sample/orderer.yaml" "$NET/config/orderer.yaml"
  if dc_mode; then touch "$NET/dc-mode"; fi
  mv "$NET/$CHANNEL.block.tmp" "$NET/$CHANNEL.block"
}

# ---- nodes -------------------------------------------------------------------

start_orderer() {
  local i=$1 dir=$CRYPTO/ordererOrganizations/example.com/orderers/orderer$1.example.com
  # In the data-center mode raft traffic has a listener of its own, which
  # the channel's consenters reach through a proxy.
  local cluster=()
  if dc_mode; then
    cluster=(ORDERER_GENERAL_CLUSTER_LISTENADDRESS=127.0.0.1 ORDERER_GENERAL_CLUSTER_LISTENPORT="$(orderer_cluster "$i")"
      ORDERER_GENERAL_CLUSTER_SERVERCERTIFICATE="$dir/tls/server.crt" ORDERER_GENERAL_CLUSTER_SERVERPRIVATEKEY="$dir/tls/server.key"
      ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$dir/tls/server.crt" ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$dir/tls/server.key"
      ORDERER_GENERAL_CLUSTER_ROOTCAS="$dir/tls/ca.crt")
  fi
  start "orderer$i" "${cluster[@]}" FABRIC_CFG_PATH="$NET/config" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
    ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 ORDERER_GENERAL_LISTENPORT="$(orderer_port "$i")" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP ORDERER_GENERAL_LOCALMSPDIR="$dir/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true ORDERER_GENERAL_TLS_PRIVATEKEY="$dir/tls/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="$dir/tls/server.crt" ORDERER_GENERAL_TLS_ROOTCAS="$dir/tls/ca.crt" \
    ORDERER_GENERAL_BOOTSTRAPMETHOD=none ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_FILELEDGER_LOCATION="$NET/data/orderer$i" \
    ORDERER_CONSENSUS_WALDIR="$NET/data/orderer$i/etcdraft/wal" ORDERER_CONSENSUS_SNAPDIR="$NET/data/orderer$i/etcdraft/snap" \
    ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(orderer_ops "$i")" \
    ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$(orderer_admin "$i")" ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_CERTIFICATE="$dir/tls/server.crt" ORDERER_ADMIN_TLS_PRIVATEKEY="$dir/tls/server.key" \
    ORDERER_ADMIN_TLS_ROOTCAS="$dir/tls/ca.crt" ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="$ORDERER_CA" ORDERER_METRICS_PROVIDER=prometheus \
    -- orderer
}

start_peer() {
  local name=$1 org=${1%-*} host port other dir
  host=$(peer_host "$name")
  port=$(peer_port "$name")
  dir=$(org_dir "$org")/peers/$host
  other=$port
  case $name in org1-peer0) other=$(peer_port org1-peer1) ;; org1-peer1) other=$(peer_port org1-peer0) ;; esac
  # Other orgs and discovery reach a peer at its external endpoint: in the
  # data-center mode, its proxy.
  local external=$port
  if dc_mode; then external=$((port + 3)); fi
  start "$name" FABRIC_CFG_PATH="$NET/config" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
    CORE_PEER_ID="$host" CORE_PEER_ADDRESS="127.0.0.1:$port" CORE_PEER_LISTENADDRESS="127.0.0.1:$port" \
    CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$((port + 1))" CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$((port + 1))" \
    CORE_PEER_GOSSIP_BOOTSTRAP="127.0.0.1:$other" CORE_PEER_GOSSIP_EXTERNALENDPOINT="127.0.0.1:$external" \
    CORE_PEER_LOCALMSPID="$(msp_id "$org")" CORE_PEER_MSPCONFIGPATH="$dir/msp" \
    CORE_PEER_TLS_ENABLED=true CORE_PEER_TLS_CERT_FILE="$dir/tls/server.crt" CORE_PEER_TLS_KEY_FILE="$dir/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="$dir/tls/ca.crt" CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$((port + 2))" \
    CORE_PEER_FILESYSTEMPATH="$NET/data/$name" CORE_LEDGER_SNAPSHOTS_ROOTDIR="$NET/data/$name/snapshots" \
    CORE_VM_ENDPOINT="" CORE_METRICS_PROVIDER=prometheus \
    -- peer node start
}

# as ORG ROLE [PEER]: sets the peer CLI environment in this shell.
as() {
  local org=$1 role=$2 peer=${3:-$1-peer0} host
  host=$(peer_host "$peer")
  local user
  user="$(tr '[:lower:]' '[:upper:]' <<<"${role:0:1}")${role:1}"
  export FABRIC_CFG_PATH=$NET/config FABRIC_LOGGING_SPEC=${CLI_LOG_SPEC:-error}
  export CORE_PEER_TLS_ENABLED=true CORE_PEER_LOCALMSPID
  CORE_PEER_LOCALMSPID=$(msp_id "$org")
  export CORE_PEER_ADDRESS="127.0.0.1:$(peer_port "$peer")"
  export CORE_PEER_TLS_ROOTCERT_FILE="$(org_dir "${peer%-*}")/peers/$host/tls/ca.crt"
  export CORE_PEER_MSPCONFIGPATH="$(org_dir "$org")/users/$user@$org.example.com/msp"
  [[ -d $CORE_PEER_MSPCONFIGPATH ]] || die "no identity $role for $org (roles: admin publisher invalidator auditor)"
}

join_channel() {
  [[ -f $NET/.joined ]] && return
  local i
  for i in 0 1 2; do
    osnadmin channel join --channelID "$CHANNEL" --config-block "$NET/$CHANNEL.block" -o "127.0.0.1:$(orderer_admin "$i")" \
      --ca-file "$ORDERER_CA" \
      --client-cert "$CRYPTO/ordererOrganizations/example.com/users/Admin@example.com/tls/client.crt" \
      --client-key "$CRYPTO/ordererOrganizations/example.com/users/Admin@example.com/tls/client.key" >/dev/null
  done
  for p in "${PEERS[@]}"; do
    (as "${p%-*}" admin "$p" && retry 30 peer channel join -b "$NET/$CHANNEL.block") || die "$p could not join $CHANNEL"
  done
  touch "$NET/.joined"
}

# retry N CMD...: runs CMD until it succeeds, at most N times a second apart
# (raft needs a few seconds to elect a leader after a start).
retry() {
  local n=$1; shift
  local out
  for i in $(seq 1 "$n"); do
    if out=$("$@" 2>&1); then
      [[ -n $out ]] && echo "$out"
      return 0
    fi
    [[ $i == "$n" ]] && { echo "$out" >&2; return 1; }
    sleep 1
  done
}

# metric URL NAME: the value of a Prometheus metric with label channel=cachet.
metric() {
  curl -fsS --max-time 2 "$1" 2>/dev/null | awk -v m="$2" '$1 ~ "^"m"[{]" && $1 ~ /channel="cachet"/ {print $2; exit}'
}

# wait_ready: a raft leader exists and every peer knows the other two through
# gossip (Org2's gateway needs Org1's peers to gather the owner's
# endorsement). After a full restart raft needs up to ~20 s.
wait_ready() {
  local i p ok
  for _ in $(seq 1 600); do
    ok=1
    leader=0
    for i in 0 1 2; do
      [[ $(metric "http://127.0.0.1:$(orderer_ops "$i")/metrics" consensus_etcdraft_is_leader) == 1 ]] && leader=1
    done
    [[ $leader == 1 ]] || ok=0
    for p in "${PEERS[@]}"; do
      [[ $(metric "http://127.0.0.1:$(($(peer_port "$p") + 2))/metrics" gossip_membership_total_peers_known) -ge 2 ]] 2>/dev/null || ok=0
    done
    [[ $ok == 1 ]] && return 0
    sleep 0.1
  done
  die "not ready after 60 s (raft leader: $leader; see $NET/logs)"
}

# start_dcproxy writes bench/dcproxy's configuration (the proxies of the
# data-center mode, the one-way delay CACHET_DC_DELAY) and starts it.
start_dcproxy() {
  running dcproxy && return
  go build -o "$BIN/dcproxy" "$ROOT/bench/dcproxy"
  local i p proxies=() sep=
  for i in 0 1 2; do
    proxies+=("$(orderer_cluster_proxy "$i") $(orderer_cluster "$i") orderer$i" "$(orderer_proxy "$i") $(orderer_port "$i") orderer$i")
  done
  for p in "${PEERS[@]}"; do proxies+=("$(($(peer_port "$p") + 3)) $(peer_port "$p") $p"); done
  {
    printf '{\n  "control": "127.0.0.1:%s",\n  "delay": "%s",\n  "pidDir": "%s",\n' "$DC_CONTROL" "$DC_DELAY" "$NET/pids"
    printf '  "dcs": {"dc1": ["orderer0", "org1-peer0", "org1-peer1"], "dc2": ["orderer1", "org2-peer0"], "dc3": ["orderer2"]},\n  "proxies": [\n'
    for p in "${proxies[@]}"; do
      read -r l t n <<<"$p"
      printf '%s    {"listen": "127.0.0.1:%s", "target": "127.0.0.1:%s", "node": "%s"}' "$sep" "$l" "$t" "$n"
      sep=$',\n'
    done
    printf '\n  ]\n}\n'
  } > "$NET/dcproxy.json"
  start dcproxy -- "$BIN/dcproxy" --config "$NET/dcproxy.json"
  wait_port dcproxy "$DC_CONTROL"
}

# cmd_dc: the emulated data centers' links, through dcproxy's control endpoint.
cmd_dc() {
  [[ -f $NET/dc-mode ]] || die "$NET is not in the data-center mode (CACHET_DC_LINKS=1 network.sh up on a clean folder)"
  local url=http://127.0.0.1:$DC_CONTROL
  case ${1:-} in
  status) curl -fsS "$url/status" ;;
  cut) [[ $# -eq 2 ]] || die "usage: network.sh dc cut dc1|dc2|dc3"; curl -fsS -X POST "$url/cut?dc=$2" ;;
  heal) curl -fsS -X POST "$url/heal?dc=${2:-}" ;;
  delay) [[ $# -eq 2 ]] || die "usage: network.sh dc delay 30ms"; curl -fsS -X POST "$url/delay?d=$2" ;;
  *) die "usage: network.sh dc status|cut DC|heal [DC]|delay D" ;;
  esac
}

cmd_up() {
  "$ROOT/scripts/install-fabric.sh"
  generate
  if dc_mode; then start_dcproxy; fi
  local i
  for i in 0 1 2; do start_orderer "$i"; done
  for i in 0 1 2; do wait_port "orderer$i" "$(orderer_admin "$i")"; done
  for p in "${PEERS[@]}"; do start_peer "$p"; done
  for p in "${PEERS[@]}"; do wait_port "$p" "$(peer_port "$p")"; done
  join_channel
  wait_ready
  if [[ -f $NET/chaincode.id ]]; then start_chaincode "$(cat "$NET/chaincode.id")"; fi
  if [[ -f $NET/baseline.id ]]; then start_baseline "$(cat "$NET/baseline.id")"; fi
  say "up: orderers on 127.0.0.1:$(orderer_port 0)-$(orderer_port 2), peers on $(peer_port org1-peer0), $(peer_port org1-peer1), $(peer_port org2-peer0); logs in $NET/logs"
}

cmd_down() {
  local p
  for p in chaincode baseline "${PEERS[@]}" orderer0 orderer1 orderer2 dcproxy; do stop "$p"; done
  if [[ ${1:-} == --clean ]]; then rm -rf "$NET"; fi
  say "down"
}

# ---- chaincode -----------------------------------------------------------------

start_chaincode() {
  go build -o "$BIN/cachet-chaincode" "$ROOT/cmd/cachet-chaincode"
  start chaincode CHAINCODE_SERVER_ADDRESS="127.0.0.1:$CC_PORT" CHAINCODE_ID="$1" -- "$BIN/cachet-chaincode"
  wait_port chaincode "$CC_PORT"
}

start_baseline() {
  go build -o "$BIN/cachet-baseline-chaincode" "$ROOT/cmd/cachet-baseline-chaincode"
  start baseline CHAINCODE_SERVER_ADDRESS="127.0.0.1:$BASELINE_PORT" CHAINCODE_ID="$1" -- "$BIN/cachet-baseline-chaincode"
  wait_port baseline "$BASELINE_PORT"
}

committed_sequence() {
  (as org1 admin && peer lifecycle chaincode querycommitted -C "$CHANNEL" -n "$1" -O json 2>/dev/null) |
    sed -n 's/.*"sequence": *\([0-9]*\).*/\1/p' | head -n1 || true
}

# deploy NAME PROCESS PORT PROBE: packages chaincode NAME as a service on
# PORT, installs it on every peer, (re)starts its process with start_PROCESS,
# approves and commits it for both orgs (again: sequence+1), and waits until
# every peer answers the query PROBE (JSON args) without an error.
deploy() {
  local name=$1 proc=$2 port=$3 probe=$4 seq label dir pkg pkgid
  running org1-peer0 || die "the network is not up (make network-up)"
  seq=$(committed_sequence "$name")
  seq=$((${seq:-0} + 1))
  label=${name}_$seq
  dir=$NET/package/$label
  rm -rf "$dir" && mkdir -p "$dir/src"
  printf '{"address":"127.0.0.1:%s","dial_timeout":"10s","tls_required":false}\n' "$port" > "$dir/src/connection.json"
  printf '{"type":"ccaas","label":"%s"}\n' "$label" > "$dir/metadata.json"
  tar -C "$dir/src" -czf "$dir/code.tar.gz" connection.json
  pkg=$dir/$label.tgz
  tar -C "$dir" -czf "$pkg" metadata.json code.tar.gz
  pkgid=$(FABRIC_CFG_PATH=$NET/config peer lifecycle chaincode calculatepackageid "$pkg")
  say "deploying $pkgid (sequence $seq)"
  for p in "${PEERS[@]}"; do
    (as "${p%-*}" admin "$p" && peer lifecycle chaincode install "$pkg" >/dev/null 2>&1 ||
      peer lifecycle chaincode queryinstalled 2>/dev/null | grep -q "$pkgid") || die "install on $p failed"
  done
  stop "$proc"
  "start_$proc" "$pkgid"
  echo "$pkgid" > "$NET/$proc.id"
  local orderer=(-o "127.0.0.1:$(orderer_port 0)" --tls --cafile "$ORDERER_CA")
  for org in org1 org2; do
    (as "$org" admin && retry 30 peer lifecycle chaincode approveformyorg "${orderer[@]}" -C "$CHANNEL" -n "$name" \
      --version "$seq" --sequence "$seq" --package-id "$pkgid" --signature-policy "$CC_POLICY" --waitForEvent >/dev/null) ||
      die "approve for $org failed"
  done
  (as org1 admin && retry 30 peer lifecycle chaincode commit "${orderer[@]}" -C "$CHANNEL" -n "$name" \
    --version "$seq" --sequence "$seq" --signature-policy "$CC_POLICY" --waitForEvent \
    --peerAddresses "127.0.0.1:$(peer_port org1-peer0)" --tlsRootCertFiles "$(org_dir org1)/peers/peer0.org1.example.com/tls/ca.crt" \
    --peerAddresses "127.0.0.1:$(peer_port org2-peer0)" --tlsRootCertFiles "$(org_dir org2)/peers/peer0.org2.example.com/tls/ca.crt" >/dev/null) ||
    die "commit failed"
  # Ready when every peer's chaincode answers the probe.
  for p in "${PEERS[@]}"; do
    (as "${p%-*}" auditor "$p" && for _ in $(seq 1 60); do
      if out=$(peer chaincode query -C "$CHANNEL" -n "$name" -c "$probe" 2>&1); then exit 0; fi
      [[ $out == *NOT_FOUND* ]] && exit 0
      sleep 0.5
    done; echo "$out" >&2; exit 1) || die "$p does not reach the chaincode $name"
  done
  say "deployed $name sequence $seq on channel $CHANNEL"
}

cmd_deploy() { deploy "$CC_NAME" chaincode "$CC_PORT" '{"Args":["Get","cachet:readiness-probe"]}'; }
cmd_deploy_baseline() { deploy "$BASELINE_NAME" baseline "$BASELINE_PORT" '{"Args":["Put","baseline:readiness-probe"]}'; }

cmd_env() {
  [[ $# -eq 2 || $# -eq 3 ]] || die "usage: network.sh env ORG ROLE [PEER]"
  as "$@"
  local v
  for v in FABRIC_CFG_PATH FABRIC_LOGGING_SPEC CORE_PEER_TLS_ENABLED CORE_PEER_LOCALMSPID CORE_PEER_ADDRESS CORE_PEER_TLS_ROOTCERT_FILE CORE_PEER_MSPCONFIGPATH; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'export PATH=%q:$PATH\n' "$BIN/fabric"
  printf 'export ORDERER_ADDRESS=127.0.0.1:%s ORDERER_CA=%q\n' "$(orderer_port 0)" "$ORDERER_CA"
}

# cmd_profile ORG ROLE: the gateway package's Config as JSON, the org's own
# peers first so failover stays inside the org while it can.
cmd_profile() {
  [[ $# -eq 2 ]] || die "usage: network.sh profile ORG ROLE"
  as "$1" "$2"
  local peers=() p
  for p in "${PEERS[@]}"; do [[ ${p%-*} == "$1" ]] && peers+=("$p"); done
  for p in "${PEERS[@]}"; do [[ ${p%-*} != "$1" ]] && peers+=("$p"); done
  printf '{\n  "channel": "%s",\n  "chaincode": "%s",\n  "mspId": "%s",\n  "mspDir": "%s",\n  "peers": [\n' \
    "$CHANNEL" "$CC_NAME" "$CORE_PEER_LOCALMSPID" "$CORE_PEER_MSPCONFIGPATH"
  local sep=""
  for p in "${peers[@]}"; do
    printf '%s    {"endpoint": "127.0.0.1:%s", "tlsRootCert": "%s"}' "$sep" "$(peer_port "$p")" \
      "$(org_dir "${p%-*}")/peers/$(peer_host "$p")/tls/ca.crt"
    sep=$',\n'
  done
  printf '\n  ]\n}\n'
}

# cmd_start_node NAME: starts one node of an existing network and waits until
# it listens; the rest of the network is left as it is. An orderer catches up
# through raft, a peer by pulling the missing blocks.
cmd_start_node() {
  [[ $# -eq 1 ]] || die "usage: network.sh start-node NAME"
  [[ -f $NET/.joined ]] || die "no network in $NET (network.sh up first)"
  case $1 in
  orderer[0-2]) start_orderer "${1#orderer}" && wait_port "$1" "$(orderer_port "${1#orderer}")" ;;
  org1-peer0 | org1-peer1 | org2-peer0) start_peer "$1" && wait_port "$1" "$(peer_port "$1")" ;;
  *) die "unknown node $1 (orderer0, orderer1, orderer2, ${PEERS[*]})" ;;
  esac
  say "$1 running (pid $(cat "$(pidfile "$1")"))"
}

cmd_status() {
  local p
  for p in $([[ -f $NET/dc-mode ]] && echo dcproxy) orderer0 orderer1 orderer2 "${PEERS[@]}" chaincode $([[ -f $NET/baseline.id ]] && echo baseline); do
    if running "$p"; then echo "$p running (pid $(cat "$(pidfile "$p")"))"; else echo "$p stopped"; fi
  done
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
deploy) cmd_deploy ;;
deploy-baseline) cmd_deploy_baseline ;;
env) shift; cmd_env "$@" ;;
profile) shift; cmd_profile "$@" ;;
start-node) shift; cmd_start_node "$@" ;;
status) cmd_status ;;
dc) shift; cmd_dc "$@" ;;
*) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
