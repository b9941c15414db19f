# Kubernetes layout (deploy/): its tests build the overlays with kustomize's
# library and check them against the API types and cachet's own flag sets.
# make test runs them already through test-go (go test ./...), so
# test-deploy is not added to TEST_TARGETS: it is for running them alone.
.PHONY: test-deploy

test-deploy: ## check the Kubernetes manifests, overlays and Dockerfile (about 20 s)
	go test -count=1 ./deploy/

