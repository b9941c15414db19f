# Analytics: staleness/conflict scoring (CPU default, CUDA behind the `cuda` tag).
.PHONY: test-analytics bench-analytics cuda-toolkit cuda-check analytics-ptx analytics-simulate

ANALYTICS_PKGS := ./analytics/...
CUDA_DIR := analytics/score/kernels
# nvcc flags are pinned: the committed PTX must be reproducible byte for byte.
# -fmad=false keeps a*b+c unfused so the GPU rounds like the Go scorer.
NVCC_FLAGS := -ptx -arch=sm_80 -fmad=false -O3
CUDA_SOURCES := /etc/apt/sources.list.d/cachet-cuda.sources

# test-go already runs the analytics unit and end-to-end tests with -race;
# this adds a short fuzzing pass over the record-to-features path and the
# full-size simulations (advice vs adaptive TTL), too slow under -race.
test-analytics: ## fuzz the analytics record-to-features path briefly; quality goal on full-size workloads (no -race)
	go test -count=1 -run '^$$' -fuzz '^FuzzIngest$$' -fuzztime 10s ./analytics/model/
	go test -count=1 -run '^TestAdviceBeatsAdaptiveTTL$$' -v ./analytics/sim/

bench-analytics: ## analytics CPU scoring: bytes scored/s vs memcpy of the same arrays (2M keys), keys/s, ns/key; features (posterior means) ns/key; conflict prediction vs baselines (Brier ratio, precision at top-k) on the recorded and a generated contended stream; stale reads vs adaptive TTL on the recorded ledger stream
	go test -run '^$$' -bench 'ScoreVsMemcpy|ScoreCPU|Memcpy' -benchtime 20x -count 1 ./analytics/score/
	go test -run '^$$' -bench 'Features' -benchtime 5x -count 1 ./analytics/model/
	go run ./cmd/cachet analytics conflicts --transitions testdata/analytics/contention_transitions.jsonl --conflicts testdata/analytics/contention_conflicts.jsonl
	go run ./cmd/cachet analytics conflicts
	go run ./cmd/cachet analytics simulate --replay testdata/analytics/recorded_transitions.jsonl

cuda-toolkit: ## install Debian's CUDA toolkit (non-free) once
	@if command -v nvcc >/dev/null && [ -f /usr/include/cuda.h ]; then echo "cuda toolkit present: $$(nvcc --version | tail -1)"; else \
	  if [ ! -f $(CUDA_SOURCES) ]; then printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' 'Components: contrib non-free' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > $(CUDA_SOURCES); fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit; fi

analytics-ptx: cuda-toolkit ## regenerate the committed PTX from the CUDA C kernels
	nvcc $(NVCC_FLAGS) -o $(CUDA_DIR)/score.ptx $(CUDA_DIR)/score.cu

cuda-check: cuda-toolkit ## CUDA path: vet and build with -tags cuda, PTX freshness, no-device tests
	go vet -tags cuda $(ANALYTICS_PKGS) ./cmd/cachet/
	go build -tags cuda ./...
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  nvcc $(NVCC_FLAGS) -o $$tmp/score.ptx $(CUDA_DIR)/score.cu; \
	  if ! diff -u $(CUDA_DIR)/score.ptx $$tmp/score.ptx >$$tmp/diff; then head -40 $$tmp/diff; echo "score.ptx is stale: run make analytics-ptx"; exit 1; fi; \
	  echo "score.ptx is fresh"
	go test -tags cuda -count=1 -timeout 5m $(ANALYTICS_PKGS)

analytics-simulate: ## cache-policy simulation table (fixed TTL, adaptive TTL, Cachet advice, the model alone)
	go run ./cmd/cachet analytics simulate

TEST_TARGETS += test-analytics
BENCH_TARGETS += bench-analytics
