# Relay (ledger → Kafka): its end-to-end tests run in test-network with the
# rest of the e2e suite, where the kill -9 soak commits 5,000 transitions;
# test-relay-soak runs it alone with the full 10,000 (about 3 minutes on two
# cores, plus the network's start).
.PHONY: bench-relay record-relay-blocks test-relay-soak

test-relay-soak: fabric ## kill -9 the relay 20 times while 10,000 transitions commit; exactly once after
	CACHET_RELAY_SOAK=10000 go test -tags e2e -count=1 -timeout 20m -v -run '^TestRelaySurvivesKill9$$' ./e2e/... 2>&1 | grep -Ev '^\s*$$|^=== (RUN|PAUSE|CONT)'

bench-relay: ## relay replay of a recorded block stream: records/s vs the ledger's commit rate and a plain producer
	go test -run '^$$' -bench RelayReplay -benchtime 1x -count 1 ./relay/ 2>&1 | grep -Ev '^%[0-9]'

record-relay-blocks: fabric ## record testdata/relay/ again: blocks committed under load on a real network
	go test -tags 'e2e record' -count=1 -timeout 15m -v -run '^TestRecordRelayBlocks$$' ./e2e/... 2>&1 | grep -Ev '^\s*$$|^=== (RUN|PAUSE|CONT)'

BENCH_TARGETS += bench-relay
