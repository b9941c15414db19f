# Relay (ledger → Kafka): its end-to-end tests run in test-network with the
# rest of the e2e suite; the soak size there is CACHET_RELAY_SOAK (10,000).
.PHONY: bench-relay record-relay-blocks

bench-relay: ## relay replay of a recorded block stream: records/s vs the ledger's commit rate and a plain producer
	go test -run '^$$' -bench RelayReplay -benchtime 1x -count 1 ./relay/ 2>&1 | grep -Ev '^%[0-9]'

record-relay-blocks: fabric ## record testdata/relay/ again: blocks committed under load on a real network
	CACHET_RECORD_BLOCKS=1 go test -tags e2e -count=1 -timeout 15m -v -run '^TestRecordRelayBlocks$$' ./e2e/... 2>&1 | grep -Ev '^\s*$$|^=== (RUN|PAUSE|CONT)'

BENCH_TARGETS += bench-relay
