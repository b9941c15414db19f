// Package purgeapi is Cachet's HTTP purge API for applications that hold no
// Fabric identity. A daemon holds an org's identity and submits through a
// Ledger (GatewayLedger adapts the gateway package); callers present scoped
// API tokens (TokenStore) and are rate-limited per token.
//
// Every request is validated in full (JSON shape, canonical keys, scope,
// rate) before anything is submitted, so a refused request changes nothing.
// The routes, request and answer shapes and the refusal codes are written
// down in openapi.json, served at /v1/openapi.json; README.md is the
// operator's guide.
package purgeapi
