# Push server (cachet push) and the Kafka plumbing it shares with the daemons.
.PHONY: test-push test-pushload bench-push bench-push-scale bench-push-fanout centrifugo

# test-go already runs the push and kafka tests with -race; this adds a
# short fuzzing pass over the client frame parser.
test-push: ## fuzz the push frame parser briefly
	go test -count=1 -run '^$$' -fuzz '^FuzzParseClientFrame$$' -fuzztime 10s ./push/

centrifugo: ## build the pinned Centrifugo (tools/centrifugo) into .bin/centrifugo (once)
	scripts/install-centrifugo.sh

test-pushload: centrifugo ## the push benchmark's load generator and Centrifugo config, both servers, small
	go vet -tags centrifugo ./bench/pushload/
	go test -tags centrifugo -count=1 -timeout 5m ./bench/pushload/

# About 3 minutes: 10,000 connections per server, both servers in turn.
bench-push: centrifugo ## cachet push vs Centrifugo: deliveries/s, p50/p99 from Kafka produce, memory per idle connection
	go build -ldflags "$(CACHET_LDFLAGS)" -o $(BIN)/cachet ./cmd/cachet
	go build -o $(BIN)/pushload ./bench/pushload
	$(BIN)/pushload --push-bin $(BIN)/cachet --centrifugo-bin $(BIN)/centrifugo $(PUSHLOAD_FLAGS)

# About 3 minutes: 50,000 connections on 3 push instances (see push/SCALING.md).
# Not in `make bench`: it needs 127.0.0.2-7 and about 2 GB of memory.
bench-push-scale: ## 50,000 WebSocket connections on 3 push instances, one- and many-channel fan-out, per-client loss check
	go build -ldflags "$(CACHET_LDFLAGS)" -o $(BIN)/cachet ./cmd/cachet
	go build -o $(BIN)/pushload ./bench/pushload
	$(BIN)/pushload scale --push-bin $(BIN)/cachet $(PUSHLOAD_SCALE_FLAGS)

bench-push-fanout: ## in-process fan-out deliveries/s to 100, 1000 and 4000 WebSocket subscribers
	go test -run '^$$' -bench 'FanOut' -benchtime 3x -count 1 ./push/ 2>&1 | grep -Ev '^%[0-9]'

TEST_TARGETS += test-push test-pushload
BENCH_TARGETS += bench-push
