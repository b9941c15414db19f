#!/usr/bin/env bash
# Keeps Kafka one package's business:
#   1. only kafka/ imports the Kafka client library (confluent-kafka-go);
#   2. the daemons (push, relay, analytics) never link the embedded broker
#      (franz-go's kfake): only `cachet dev` and tests do.
# Run by `make lint`; exits 1 naming each offending package.
set -euo pipefail
cd "$(dirname "$0")/.."

client=github.com/confluentinc/confluent-kafka-go
kfake=github.com/twmb/franz-go/pkg/kfake
fail=0

# Every Go file, whatever its build tags (e2e tests included).
offenders=$(git ls-files -co --exclude-standard '*.go' | grep -v '^kafka/' |
	xargs grep -l "\"$client/" 2>/dev/null || true)
if [ -n "$offenders" ]; then
	echo "kafka boundary: only package kafka may import $client; these packages do:" >&2
	for f in $offenders; do
		echo "  ./$(dirname "$f") ($f)" >&2
	done
	fail=1
fi

daemons=(./push ./relay ./analytics/...)
if go list -deps "${daemons[@]}" | grep -qx "$kfake"; then
	echo "kafka boundary: ${daemons[*]} must not link $kfake (use kafka/embedded from cmd or tests only); imported by:" >&2
	go list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' "${daemons[@]}" |
		awk -v k="$kfake" '{for (i = 2; i <= NF; i++) if ($i == k) print "  " $1}' >&2
	fail=1
fi

exit $fail
