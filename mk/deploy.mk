# Kubernetes layout (deploy/, its own Go module, so the root module requires
# neither kustomize nor the Kubernetes API types): its tests build the
# overlays with kustomize's library and check them against the API types
# and cachet's own flag sets.
# They start no goroutines of their own, so they run without the race
# detector: building kustomize and the Kubernetes API types with -race
# costs minutes on a cold cache and finds nothing here.
.PHONY: test-deploy

test-deploy: ## check the Kubernetes manifests, overlays and Dockerfile (about 20 s)
	cd deploy && go test -count=1 ./...

TEST_TARGETS += test-deploy

