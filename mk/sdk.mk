# Browser SDK (sdk/): TypeScript bundles built with esbuild, unit tests under
# node's test runner, browser tests in Debian's Chromium via playwright-core
# against a real `cachet push` on an embedded broker.
.PHONY: sdk sdk-deps chromium sdk-cachet test-sdk sdk-screenshot sdk-ledger-check

SDK_STAMP := sdk/node_modules/.cachet-npm-ci
CHROMIUM_BIN := /usr/bin/chromium

$(SDK_STAMP): sdk/package.json sdk/package-lock.json
	cd sdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

sdk-deps: $(SDK_STAMP) ## install the SDK's pinned npm packages (npm ci, once per lockfile)

chromium: ## install Debian's chromium for the browser tests (once)
	@if [ -x $(CHROMIUM_BIN) ]; then $(CHROMIUM_BIN) --version; else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

sdk: sdk-deps ## type-check and bundle the SDK into sdk/dist (page client, Service Worker)
	cd sdk && npx --no-install tsc -p tsconfig.json && npx --no-install tsc -p tsconfig.sw.json && npx --no-install tsc -p tsconfig.node.json
	cd sdk && node build.mjs --size --e2e

# The browser tests run the real daemons: cachet dev (embedded broker,
# push, demo origin), cachet push and cachet produce (which writes advice
# records as analytics would), built from this tree.
sdk-cachet:
	go build -ldflags "$(CACHET_LDFLAGS)" -o $(BIN)/cachet ./cmd/cachet

test-sdk: sdk chromium sdk-cachet ## SDK: size budget, golden vectors under node, browser tests in Chromium
	cd sdk && node --test --test-reporter=spec dist/test/
	cd sdk && CACHET_BIN=$(BIN)/cachet node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec dist/e2e/

sdk-screenshot: sdk chromium sdk-cachet ## SDK: run the demo page's browser test and save its screenshot to docs/demo.png
	mkdir -p docs
	cd sdk && CACHET_BIN=$(BIN)/cachet CACHET_DEMO_SCREENSHOT=$(CURDIR)/docs/demo.png node --test --test-timeout=180000 dist/e2e/demo.e2e.test.mjs

# The demo page against a real ledger: a Fabric network of its own (folder
# and ports from SDK_LEDGER_PORT_BASE), the relay, push and the demo origin in
# cachet dev; `cachet publish` and `cachet invalidate` reach the browser.
# Not part of `make test` (the network takes about a minute to come up).
SDK_LEDGER_PORT_BASE ?= 34000
sdk-ledger-check: fabric sdk chromium sdk-cachet ## SDK: cachet invalidate on a real network evicts the demo page's item in Chromium
	export CACHET_PORT_BASE=$(SDK_LEDGER_PORT_BASE) CACHET_NET_DIR=$(CURDIR)/.run/sdk-ledger-$(SDK_LEDGER_PORT_BASE); \
	network/network.sh up && network/network.sh deploy && \
	(cd sdk && CACHET_BIN=$(BIN)/cachet node --test --test-timeout=300000 --test-reporter=spec dist/e2e/ledger.chain.mjs); \
	rc=$$?; network/network.sh down --clean; exit $$rc

TEST_TARGETS += test-sdk
