#!/usr/bin/env bash
# make demo: bring up the Fabric network with the contract deployed and run a
# short session as Org1's and Org2's users with the peer CLI. The network keeps
# running afterwards; with --down (make demo DEMO_DOWN=1) it is stopped at the end.
set -euo pipefail
down=false
[[ ${1:-} == --down ]] && down=true
root=$(cd "$(dirname "$0")/.." && pwd)
net=$root/network/network.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as() { eval "$("$net" env "$@")"; }
pretty() { python3 -m json.tool 2>/dev/null || cat; }
invoke() {
  FABRIC_LOGGING_SPEC=info peer chaincode invoke -o "$ORDERER_ADDRESS" --tls --cafile "$ORDERER_CA" -C cachet -n cachet --waitForEvent -c "$1" "${@:2}" 2>&1 |
    sed -n 's/.*payload:"\(.*\)"$/\1/p' | sed 's/\\"/"/g; s/\\\\/\\/g' | pretty
}
query() { peer chaincode query -C cachet -n cachet -c "$1" | pretty; }

step "Starting the network (3 raft orderers, Org1 with 2 peers, Org2 with 1 peer, TLS)"
"$net" up
if [[ ! -f ${CACHET_NET_DIR:-$root/.run/network}/chaincode.id ]]; then
  step "Deploying the cache-state contract as a service"
  "$net" deploy
fi

step "Org1's publisher publishes two pages tagged 'catalog' (keys are canonicalized)"
as org1 publisher
invoke '{"Args":["Publish","HTTPS://Shop.Example:443/catalog/shoes?size=42&color=red","\"v1\"","300","[\"catalog\"]","0"]}'
invoke '{"Args":["Publish","https://shop.example/catalog/hats","\"v1\"","300","[\"catalog\"]","0"]}' >/dev/null

step "Anyone in the channel reads the entry"
as org1 auditor
query '{"Args":["Get","https://shop.example/catalog/shoes?color=red&size=42"]}'

step "Org1's invalidator invalidates it (its version goes up by one)"
as org1 invalidator
invoke '{"Args":["Invalidate","https://shop.example/catalog/shoes?color=red&size=42","price change","0"]}'

step "Invalidating everything tagged 'catalog', one bounded page per transaction"
invoke '{"Args":["InvalidateTag","catalog","","100","catalog rebuild"]}'

step "Org2's invalidator asks to invalidate an Org1 page, endorsed by Org2's peer alone"
as org1 publisher
invoke '{"Args":["Publish","https://shop.example/catalog/hats","\"v2\"","300","[\"catalog\"]","0"]}' >/dev/null
as org2 invalidator
if out=$(peer chaincode invoke -o "$ORDERER_ADDRESS" --tls --cafile "$ORDERER_CA" -C cachet -n cachet --waitForEvent \
  -c '{"Args":["Invalidate","https://shop.example/catalog/hats","org2 alone","0"]}' 2>&1); then
  echo "unexpected: the transaction committed"; exit 1
else
  echo "refused at commit: $(grep -o 'ENDORSEMENT_POLICY_FAILURE' <<<"$out" | head -n1) (the key's owner, Org1, must endorse)"
fi

step "The ledger's history of the shoes page"
as org1 auditor
query '{"Args":["History","https://shop.example/catalog/shoes?color=red&size=42"]}'

if $down; then
  step "Stopping the network (its data stays under ${CACHET_NET_DIR:-.run/network}; 'make network-clean' deletes it)"
  "$net" down
else
  step "Done. The network keeps running: 'make network-down' stops it, 'make network-clean' deletes it."
fi
