# Push server (cachet push) and the Kafka plumbing it shares with the daemons.
.PHONY: test-push bench-push

# test-go already runs the push and kafka tests with -race; this adds a
# short fuzzing pass over the client frame parser.
test-push: ## fuzz the push frame parser briefly
	go test -count=1 -run '^$$' -fuzz '^FuzzParseClientFrame$$' -fuzztime 10s ./push/

bench-push: ## push fan-out deliveries/s to 100, 1000 and 4000 WebSocket subscribers on loopback
	go test -run '^$$' -bench 'FanOut' -benchtime 3x -count 1 ./push/ 2>&1 | grep -Ev '^%[0-9]'

TEST_TARGETS += test-push
BENCH_TARGETS += bench-push
