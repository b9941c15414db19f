#!/usr/bin/env bash
# Builds Fabric's peer, orderer, configtxgen, cryptogen and osnadmin from the
# pinned tools module in tools/fabric into .bin/fabric/. A second run reuses
# the build unless tools/fabric/go.sum changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.bin/fabric"
stamp="$out/.built-from"
want=$(cat "$root/tools/fabric/go.mod" "$root/tools/fabric/go.sum" | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
mkdir -p "$out"
cd "$root/tools/fabric"
echo "building Fabric binaries into $out (first run: several minutes)" >&2
for cmd in peer orderer configtxgen cryptogen osnadmin; do
  go build -trimpath -o "$out/$cmd" "github.com/hyperledger/fabric/cmd/$cmd"
done
echo "$want" > "$stamp"
