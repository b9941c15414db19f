package gateway

import (
	"context"
	"strconv"

	"github.com/cachetsync/cachet/ledger"
)

// Scope, Generation, Effective and HostClaim are the contract's, defined in
// ledger.
type (
	Scope      = ledger.Scope
	Generation = ledger.Generation
	Effective  = ledger.Effective
	HostClaim  = ledger.HostClaim
)

// PurgeRequest is what PurgeScope sends.
type PurgeRequest struct {
	// Scope is what to purge: {ledger.ScopeTag, "catalog"},
	// {ledger.ScopePrefix, "https://shop.example/p/"} (a URL ending in '/',
	// no query), {ledger.ScopeHost, "shop.example"} (any scheme or port) or
	// {ledger.ScopeOrigin, "https://shop.example"}.
	Scope Scope
	// Owner is the org the scope belongs to, "" for the caller's; the
	// contract refuses any other org with CodeForbidden.
	Owner string
	// Soft makes covered VALID entries STALE instead of INVALIDATED.
	Soft   bool
	Reason string // at most ledger.MaxReasonBytes
}

// PurgeScope purges every entry the scope covers in one transaction of one
// write, however many entries that is: the scope's generation record gets
// the next generation, and from then on Get, GetMany, History and the
// listings answer each covered entry of the owner with Effective naming
// this purge, until the entry is published or invalidated again. A tag
// scope belongs to (caller's org, tag); prefix, host and origin scopes need
// the caller's org to claim the host (ClaimHost): an unclaimed host is
// CodeForbidden, another org's claim CodeHostClaimed. The caller needs the
// publisher or admin role. WithIdempotencyKey makes a replay answer the
// first generation.
func (c *Client) PurgeScope(ctx context.Context, req PurgeRequest, opts ...InvalidateOption) (Generation, Committed, error) {
	var g Generation
	done, err := c.submitJSON(ctx, &g, transientOf(opts), ledger.TxPurgeScope,
		string(req.Scope.Kind), req.Scope.Value, req.Owner, strconv.FormatBool(req.Soft), req.Reason)
	return g, done, err
}

// ClaimHost claims host (a host name, no port) for the caller's org: from
// then on only that org publishes URL keys on it, under any scheme or
// port (others get CodeHostClaimed), and only it purges the host's prefix,
// host and origin scopes. The caller must be an admin of its org (a
// cachet.role of admin, or Fabric's admin NodeOU). Claiming a host the org
// already claims answers the claim; another org's claim is CodeHostClaimed.
func (c *Client) ClaimHost(ctx context.Context, host string) (HostClaim, Committed, error) {
	var h HostClaim
	done, err := c.submitJSON(ctx, &h, nil, ledger.TxClaimHost, host)
	return h, done, err
}

// ReleaseHost ends the caller's org's claim on host (Claimed is false in
// the answer). The scopes' generations stay; purges already made keep
// covering the entries they covered. An unclaimed host is CodeNotFound,
// another org's claim CodeHostClaimed.
func (c *Client) ReleaseHost(ctx context.Context, host string) (HostClaim, Committed, error) {
	var h HostClaim
	done, err := c.submitJSON(ctx, &h, nil, ledger.TxReleaseHost, host)
	return h, done, err
}
