# The native Fabric network (network/network.sh) and its end-to-end test.
.PHONY: fabric network-up network-down network-clean deploy test-network vet-e2e bench-network bench-e2e bench-purge bench-conflict-advice bench-multidc soak

fabric: ## build the pinned Fabric binaries into .bin/fabric (once)
	scripts/install-fabric.sh

network-up: fabric ## start 3 orderers and 3 peers on 127.0.0.1 (ports from CACHET_PORT_BASE, default 27000)
	network/network.sh up

deploy: ## deploy the contract as a service (again: upgrade, sequence+1)
	network/network.sh deploy

network-down: ## stop this network's processes (keeps its data)
	network/network.sh down

network-clean: ## stop the network and delete its data and crypto material
	network/network.sh down --clean

vet-e2e: $(BIN)/staticcheck
	go vet -tags e2e ./e2e/...
	staticcheck -tags e2e ./e2e/...
	go vet -tags 'e2e record' ./e2e/...

test-network: fabric sdk chromium vet-e2e ## end-to-end tests on a real network (own folder and ports), browser included
	go test -tags e2e -count=1 -timeout 25m -v ./e2e/... 2>&1 | grep -Ev '^\s*$$|^=== (RUN|PAUSE|CONT)'

TEST_TARGETS += test-network

bench-network: fabric ## invalidation throughput on a real network: single, coalesced, batched (sequential and concurrent), against a trivial put contract (ratios in one run)
	go test -tags e2e -run '^$$' -bench InvalidationPaths -benchtime 1x -timeout 15m ./e2e/...

BENCH_TARGETS += bench-network

bench-e2e: fabric sdk chromium ## submit → browser eviction on the whole chain (1,000 invalidations, headless Chromium): p50/p99 and time per hop, from the traces
	go test -tags e2e -run '^$$' -bench SubmitToEviction -benchtime 1x -timeout 20m ./e2e/... 2>&1 | grep -v 'dbus'

BENCH_TARGETS += bench-e2e

bench-purge: fabric ## scope purges on a real network: a tag and a prefix over 5,000 keys vs single invalidations, batch sizes 50-500, the HTTP API vs the gateway
	go test -tags e2e -run '^$$' -bench ScopePurge -benchtime 1x -timeout 40m ./e2e/... 2>&1 | grep -v 'dbus'

BENCH_TARGETS += bench-purge

bench-conflict-advice: fabric ## writers that follow analytics' advice against writers that don't, same contended load on a real network: MVCC conflicts and committed invalidations per second
	go test -tags e2e -run '^$$' -bench ConflictAdvice -benchtime 1x -timeout 20m ./e2e/... 2>&1 | grep -v 'dbus'

BENCH_TARGETS += bench-conflict-advice

# Invalidations per distance of bench-multidc's browser runs (4 a second).
MULTIDC_EVICTIONS ?= 200

bench-multidc: fabric sdk chromium ## three emulated data centers 0, 30 and 80 ms apart (one way): submit→commit, submit→Kafka and submit→browser eviction p50/p99 per distance, ratios to 0 ms
	go test -tags e2e -run '^$$' -bench MultiDC -benchtime 1x -timeout 20m ./e2e/... 2>&1 | grep -v 'dbus'
	@mkdir -p .run && rm -f .run/multidc-evictions.txt && for d in 0 30 80; do \
	  out=$$(CACHET_E2E_DC_DELAY=$${d}ms CACHET_E2E_EVICTIONS=$(MULTIDC_EVICTIONS) go test -tags e2e -run '^$$' -bench SubmitToEviction -benchtime 1x -timeout 20m ./e2e/... 2>&1) || \
	    { echo "$$out" | grep -v dbus | tail -40; exit 1; }; \
	  echo "$$out" | sed -n "s/^e2e_p\(50\|99\)_ms: /multidc_$${d}ms_eviction_p\1_ms: /p; s/^commit_p50_ms: /multidc_$${d}ms_eviction_run_commit_p50_ms: /p" >> .run/multidc-evictions.txt; \
	done
	@awk '{print} $$1 == "multidc_0ms_eviction_p50_ms:" {base = $$2} $$1 ~ /ms_eviction_p50_ms:$$/ && $$1 != "multidc_0ms_eviction_p50_ms:" {n = $$1; sub(/_eviction_p50_ms:$$/, "", n); printf "%s_vs_0ms_eviction_p50_ratio: %.2f\n", n, $$2 / base}' .run/multidc-evictions.txt
	@echo "multidc_evictions_per_distance: $(MULTIDC_EVICTIONS) (headless Chromium, 4 a second, each distance on a network of its own)"

BENCH_TARGETS += bench-multidc

.PHONY: record-receipts
record-receipts: fabric ## record testdata/receipt/ again: receipts of a publish, a cross-org invalidation and a refused one, with their config block
	go test -tags 'e2e record' -count=1 -timeout 10m -v -run '^TestRecordReceipts$$' ./e2e/... 2>&1 | grep -Ev '^\s*$$|^=== (RUN|PAUSE|CONT)'

# Not in `make test` or `make bench`: an hour by default.
soak: fabric ## mixed traffic for 1 h with random kill -9 of an orderer, a peer, the relay, push and the broker: lost, duplicated, worst recovery (SOAK_FLAGS='--duration 3m')
	scripts/soak.sh $(SOAK_FLAGS)
