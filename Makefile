# Cachet. `make demo` brings the system up on embedded defaults; `make test` runs
# every test, installing what it needs. Component targets live in mk/*.mk.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export GOFLAGS ?= -buildvcs=false
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# Components append their targets to these lists in mk/*.mk.
TEST_TARGETS := lint test-go
BENCH_TARGETS := bench-go

# The commit `cachet --version` prints: with -buildvcs=false the build
# records none, so the link sets it.
CACHET_LDFLAGS := -X main.commit=$(shell git rev-parse HEAD 2>/dev/null)

.PHONY: help test bench lint test-go bench-go fmt tools cachet
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

include $(sort $(wildcard mk/*.mk))

test: $(TEST_TARGETS) ## run every test (installs what it needs)
bench: $(BENCH_TARGETS) ## run every benchmark and print the figures

$(BIN)/staticcheck: tools/lint/go.mod tools/lint/go.sum
	cd tools/lint && go build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

tools: $(BIN)/staticcheck ## build pinned developer tools into .bin/

cachet: ## build .bin/cachet, its commit recorded for `cachet --version`
	go build -ldflags "$(CACHET_LDFLAGS)" -o $(BIN)/cachet ./cmd/cachet

lint: $(BIN)/staticcheck ## gofmt, go vet, staticcheck, the ledger clients' dependencies, the Kafka package boundary
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	staticcheck ./...
	scripts/check-ledger-deps.sh
	scripts/check-kafka-boundary.sh
	cd deploy && go vet ./... && staticcheck ./...

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

test-go: ## Go unit tests, race detector on (deploy/ is its own module: test-deploy)
	go test -race -count=1 ./...

bench-go: ## Go micro-benchmarks
	go test -run '^$$' -bench . -benchmem ./cachekey/... ./record/... ./chaincode/...
