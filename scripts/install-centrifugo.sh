#!/usr/bin/env bash
# Builds Centrifugo from the pinned tools module in tools/centrifugo into
# .bin/centrifugo (the push benchmark's reference server). A second run
# reuses the build unless tools/centrifugo/go.sum changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.bin/centrifugo"
stamp="$root/.bin/.centrifugo-built-from"
want=$(sha256sum "$root/tools/centrifugo/go.mod" "$root/tools/centrifugo/go.sum" | sha256sum | cut -c1-16)
if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
mkdir -p "$root/.bin"
cd "$root/tools/centrifugo"
echo "building Centrifugo into $out (first run: a few minutes)" >&2
go build -trimpath -o "$out.tmp" github.com/centrifugal/centrifugo/v6
mv "$out.tmp" "$out"
echo "$want" > "$stamp"
