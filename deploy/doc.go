// Package deploy holds Cachet's production layout for Kubernetes: the
// image (Dockerfile), a kustomize base and the dev and prod overlays. It has
// no code; its tests build every overlay with kustomize's own library and
// check the result against the Kubernetes API types and the real cachet and
// cachet-chaincode flag sets (see README.md).
package deploy
