# Reference pages generated from the code.
.PHONY: docs
docs: ## regenerate docs/configuration.md from cachet's command tree
	go run ./cmd/cachet docs config > docs/configuration.md
