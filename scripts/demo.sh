#!/usr/bin/env bash
# make demo: the whole chain on its embedded defaults. A Fabric network with the
# contract deployed; `cachet dev` running an embedded Kafka broker with the relay,
# analytics, push server, HTTP purge API and a demo origin in process; then a
# short session: publish, invalidate one key, purge a tag in one transaction, a
# cross-org invalidation and a refused cross-org write, a prefix purge through
# the HTTP API with a scoped token, what arrived on Kafka and over WebSocket,
# and analytics' advice. Everything keeps
# running afterwards: `scripts/demo.sh stop` (make demo-down) stops it, and
# --down (make demo DEMO_DOWN=1) stops it at the end of the session.
set -euo pipefail
down=false
[[ ${1:-} == --down ]] && down=true
root=$(cd "$(dirname "$0")/.." && pwd)
net=$root/network/network.sh
run=${CACHET_DEMO_DIR:-$root/.run/demo}
cachet=$root/.bin/cachet
origin=http://127.0.0.1:8080
api=http://127.0.0.1:8088
export CACHET_BROKERS=127.0.0.1:9092 CACHET_PUSH_SECRET=cachet-dev-secret

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
stop_dev() {
  if [[ -f $run/dev.pid ]] && kill -0 "$(cat "$run/dev.pid")" 2>/dev/null; then
    kill "$(cat "$run/dev.pid")" && while kill -0 "$(cat "$run/dev.pid")" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$run/dev.pid"
}
wait_for() { # wait_for FILE PATTERN SECONDS
  for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:"; tail -n 20 "$1"; return 1
}

if [[ ${1:-} == stop ]]; then
  stop_dev
  "$net" down
  exit 0
fi

mkdir -p "$run"
step "Starting the network (3 raft orderers, Org1 with 2 peers, Org2 with 1 peer, TLS)"
"$net" up
if [[ ! -f ${CACHET_NET_DIR:-$root/.run/network}/chaincode.id ]]; then
  step "Deploying the cache-state contract as a service"
  "$net" deploy
fi
for who in "org1 publisher" "org1 invalidator" "org1 auditor" "org1 admin" "org2 publisher" "org2 invalidator"; do
  "$net" profile $who >"$run/${who/ /-}.json"
done
as() { echo --config "$run/$1.json"; }

step "Starting cachet dev: embedded Kafka, relay, analytics, push server, HTTP purge API (as Org1's publisher) and a demo origin"
stop_dev
"$cachet" dev --port 9092 --data-dir "$run/kafka" --relay-profile "$run/org1-auditor.json" \
  --push-listen 127.0.0.1:8090 --push-allowed-origins "$origin" --origin-listen 127.0.0.1:8080 \
  --api-profile "$run/org1-publisher.json" --api-listen "${api#http://}" --api-tokens "$run/api-tokens.json" --log-level info \
  >"$run/dev.log" 2>&1 &
echo $! >"$run/dev.pid"
wait_for "$run/dev.log" 'push: listening' 60
wait_for "$run/dev.log" 'relay: leading' 60
wait_for "$run/dev.log" 'api: purge API on' 60
grep -E '^(kafka|relay|push|analytics|origin|api):' "$run/dev.log" | head -n 12

step "Watching the stream twice: from Kafka (what the relay wrote) and over WebSocket (what browsers get)"
"$cachet" watch --kafka --brokers "$CACHET_BROKERS" >"$run/watch-kafka.log" 2>&1 &
wk=$!
"$cachet" watch --push --url ws://127.0.0.1:8090/ws --channels "origin:$origin,tag:catalog" >"$run/watch-push.log" 2>&1 &
wp=$!
trap 'kill $wk $wp 2>/dev/null || true' EXIT
sleep 1

step "Org1's publisher publishes the demo origin's six items, tagged 'catalog' (HTTP://… is stored canonical: http://…)"
pids=()
for i in 1 2 3 4 5 6; do
  "$cachet" publish $(as org1-publisher) --tag catalog --max-age 300 --etag "\"v$i\"" "HTTP://127.0.0.1:8080/items/$i" >/dev/null &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
"$cachet" get $(as org1-auditor) "$origin/items/1"

step "Org1's invalidator invalidates one page (its version goes up by one)"
"$cachet" invalidate $(as org1-invalidator) --reason "price change" "$origin/items/1"

step "Purging everything tagged 'catalog' in one transaction: a new generation of the tag, however many entries carry it"
"$cachet" purge $(as org1-publisher) --tag catalog --reason "catalog rebuild"
"$cachet" get $(as org1-auditor) "$origin/items/4"

step "Org2's invalidator invalidates an Org1 page: the gateway gathers Org1's endorsement, as the key's policy demands"
"$cachet" publish $(as org1-publisher) --tag catalog --max-age 300 --etag '"v2"' "$origin/items/2" >/dev/null
"$cachet" invalidate $(as org2-invalidator) --reason "partner price feed" "$origin/items/2"

step "Org2's publisher tries to take the Org1 page over by republishing it"
if "$cachet" publish $(as org2-publisher) --tag catalog --max-age 300 --etag '"org2"' "$origin/items/2"; then
  echo "unexpected: Org2 republished an Org1 entry"; exit 1
else
  echo "refused (exit status $?): the ledger did not change"
fi

step "An application without a Fabric identity purges through the HTTP API: Org1's admin claims the host, a token may purge one prefix"
"$cachet" claim-host $(as org1-admin) 127.0.0.1
"$cachet" publish $(as org1-publisher) --tag catalog --max-age 300 --etag '"v5b"' "$origin/items/5" >/dev/null
token=$("$cachet" api token create --tokens "$run/api-tokens.json" --scope "prefix:$origin/items/" --expires 1h --rate 10/s --name demo --json |
  sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
echo "POST $api/v1/purge {\"prefixes\":[\"$origin/items/\"]}"
curl -sS -X POST "$api/v1/purge" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"prefixes\":[\"$origin/items/\"],\"reason\":\"deploy\"}"
echo
echo "The same token on another prefix:"
curl -sS -X POST "$api/v1/purge" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "{\"prefixes\":[\"$origin/\"]}" -w ' (HTTP %{http_code})'
echo
"$cachet" history $(as org1-auditor) "$origin/items/5"

sleep 2
step "What the relay wrote to Kafka (cachet watch --kafka)"
cat "$run/watch-kafka.log"
step "What a browser subscribed to $origin received over WebSocket (cachet watch --push)"
cat "$run/watch-push.log"

step "Analytics' riskiest keys so far (cachet analytics top)"
"$cachet" analytics top --brokers "$CACHET_BROKERS" --wait 5s --n 5 || true

if $down; then
  step "Stopping cachet dev and the network (data stays under .run/; 'make network-clean' deletes the network's)"
  stop_dev
  "$net" down
else
  step "Done. Everything keeps running."
  cat <<EOF
  Open $origin/ in a browser and press "fetch" on a few items: the first fetch
  comes from the origin, the next ones from the Cachet Service Worker's cache.
  Then evict one on the ledger and watch it go from the page, with its latency:

    .bin/cachet invalidate --config $run/org1-invalidator.json $origin/items/3

  Logs: $run/dev.log. Stop everything: make demo-down.
EOF
fi
