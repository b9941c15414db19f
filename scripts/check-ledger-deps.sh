#!/usr/bin/env bash
# Checks that the ledger's clients (the gateway, the relay and the receipt verifier) build without
# the contract's runtime: no fabric-contract-api-go, no chaincode shim, no
# gojsonschema among their dependencies. The types they share with the
# contract live in ledger/, which imports none of these.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(./gateway ./relay ./ledger ./record ./receipt)
forbidden='^github\.com/hyperledger/fabric-contract-api-go/|^github\.com/hyperledger/fabric-chaincode-go/v2/shim($|/)|^github\.com/xeipuuv/gojsonschema($|/)'
bad=$(go list -deps "${pkgs[@]}" | grep -E "$forbidden" || true)
if [[ -n "$bad" ]]; then
  echo "the contract's runtime reaches ${pkgs[*]}:" >&2
  echo "$bad" >&2
  # where each path in enters: the packages outside the list that import one
  go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' "${pkgs[@]}" | while read -r pkg imports; do
    [[ "$pkg" =~ $forbidden ]] && continue
    for imp in $imports; do
      [[ "$imp" =~ $forbidden ]] && echo "  $pkg imports $imp" >&2
    done
  done
  exit 1
fi
