# Operations: Prometheus alert rules and their unit tests, the Grafana
# dashboards' and rules' PromQL checked against what the daemons export,
# and the CI workflow. promtool and actionlint build from pinned tools
# modules (promtool: about 4 min cold on 2 cores).
.PHONY: test-ops test-rules test-monitoring test-workflows

RULE_FILES := $(filter-out %_test.yaml,$(wildcard deploy/monitoring/rules/*.yaml))
WORKFLOWS := $(wildcard .github/workflows/*.yml)

$(BIN)/promtool: tools/promtool/go.mod tools/promtool/go.sum
	cd tools/promtool && go build -o $@ github.com/prometheus/prometheus/cmd/promtool

$(BIN)/actionlint: tools/actionlint/go.mod tools/actionlint/go.sum
	cd tools/actionlint && go build -o $@ github.com/rhysd/actionlint/cmd/actionlint

tools: $(BIN)/promtool $(BIN)/actionlint

test-rules: $(BIN)/promtool ## promtool check rules and the rules' unit tests (deploy/monitoring/rules)
	promtool check rules $(RULE_FILES)
	promtool test rules deploy/monitoring/rules/*_test.yaml

test-monitoring: ## dashboards' and rules' PromQL against the metrics cachet exports; PrometheusRule in step with rules/
	cd deploy/monitoring && go test -count=1 ./...

test-workflows: $(BIN)/actionlint ## actionlint on .github/workflows
	actionlint $(WORKFLOWS)

test-ops: test-rules test-monitoring test-workflows ## every operations check above

TEST_TARGETS += test-ops
