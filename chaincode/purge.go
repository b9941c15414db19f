package chaincode

import (
	"encoding/json"
	"fmt"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// PurgeScope purges every entry a scope covers in one write: the scope's
// generation record gets the next generation, and every entry of owner
// that the scope covers and that was written under an older generation is
// INVALIDATED from then on (STALE if soft and the entry was VALID), until
// it is written again. kind is tag, prefix, host or origin; owner ""
// means the caller's org, and any other org is refused, since an org
// purges only what it owns. A tag's scope belongs to (org, tag); prefix,
// host and origin scopes need the caller's org to claim the host. The
// owner org must endorse (state-based endorsement on the record). An
// idempotency key in the transient map makes a replay answer the first
// result.
func (c *Contract) PurgeScope(ctx contractapi.TransactionContextInterface, kind, value, owner string, soft bool, reason string) (*ledger.Generation, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require("PurgeScope", RolePublisher, RoleAdmin); err != nil {
		return nil, err
	}
	scope, err := parseScope(kind, value)
	if err != nil {
		return nil, err
	}
	if owner == "" {
		owner = t.caller.msp
	}
	if owner != t.caller.msp {
		return nil, refuse(ledger.CodeForbidden, "PurgeScope of %s: the scope belongs to %s, the client is from %s", scope, owner, t.caller.msp)
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	var first ledger.Generation
	if done, err := t.replayed(ledger.TxPurgeScope, &first); done || err != nil {
		return &first, err
	}
	if host := scopeHost(scope); host != "" {
		claim, err := t.claim(host)
		if err != nil {
			return nil, err
		}
		switch {
		case claim == nil:
			return nil, refuse(ledger.CodeForbidden, "PurgeScope of %s: host %s is not claimed; an admin of %s claims it with ClaimHost first", scope, host, owner)
		case claim.Owner != owner:
			return nil, refuse(ledger.CodeHostClaimed, "PurgeScope of %s: host %s is claimed by %s, the client is from %s", scope, host, claim.Owner, owner)
		}
	}
	key := generationKey(owner, scope)
	b, err := t.stub.GetState(key)
	if err != nil {
		return nil, err
	}
	old, err := decodeGeneration(key, b)
	if err != nil {
		return nil, err
	}
	g := &ledger.Generation{Purge: ledger.Purge{Scope: scope, Owner: owner, Generation: 1, Soft: soft, Reason: reason}, TxID: t.event.TxID, Timestamp: t.now}
	if old != nil {
		g.Generation = old.Generation + 1
	}
	if b, err = json.Marshal(g); err != nil {
		return nil, err
	}
	if err := t.stub.PutState(key, b); err != nil {
		return nil, err
	}
	if old == nil {
		if err := t.requireOwnerEndorsement(key, owner); err != nil {
			return nil, err
		}
	}
	t.event.Purges = []ledger.Generation{*g}
	if err := t.remember(ledger.TxPurgeScope, g); err != nil {
		return nil, err
	}
	return g, t.emit()
}

// ClaimHost claims host for the caller's org: from then on only that org
// publishes URL keys on it (any scheme or port), and only it purges the
// host's prefix, host and origin scopes. It needs an admin (role admin or
// Fabric's admin NodeOU). Claiming a host the org already claims answers
// the claim and writes nothing; one another org claims is HOST_CLAIMED.
func (c *Contract) ClaimHost(ctx contractapi.TransactionContextInterface, host string) (*ledger.HostClaim, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.requireAdmin("ClaimHost"); err != nil {
		return nil, err
	}
	if host, err = cachekey.ParseHost(host); err != nil {
		return nil, invalid(err, "host")
	}
	claim, err := t.claim(host)
	switch {
	case err != nil:
		return nil, err
	case claim != nil && claim.Owner != t.caller.msp:
		return nil, refuse(ledger.CodeHostClaimed, "host %s is claimed by %s", host, claim.Owner)
	case claim != nil:
		return claim, t.emit()
	}
	claim = &ledger.HostClaim{Host: host, Owner: t.caller.msp, Claimed: true, TxID: t.event.TxID, Timestamp: t.now}
	b, err := json.Marshal(claim)
	if err != nil {
		return nil, err
	}
	if err := t.stub.PutState(claimKey(host), b); err != nil {
		return nil, err
	}
	if err := t.requireOwnerEndorsement(claimKey(host), claim.Owner); err != nil {
		return nil, err
	}
	return claim, t.emit()
}

// ReleaseHost ends the caller's org's claim on host; an admin of that org
// must ask. The generations of its scopes stay: a later claim by the same
// org continues them.
func (c *Contract) ReleaseHost(ctx contractapi.TransactionContextInterface, host string) (*ledger.HostClaim, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.requireAdmin("ReleaseHost"); err != nil {
		return nil, err
	}
	if host, err = cachekey.ParseHost(host); err != nil {
		return nil, invalid(err, "host")
	}
	claim, err := t.claim(host)
	switch {
	case err != nil:
		return nil, err
	case claim == nil:
		return nil, refuse(ledger.CodeNotFound, "host %s is not claimed", host)
	case claim.Owner != t.caller.msp:
		return nil, refuse(ledger.CodeHostClaimed, "host %s is claimed by %s, the client is from %s", host, claim.Owner, t.caller.msp)
	}
	if err := t.stub.DelState(claimKey(host)); err != nil {
		return nil, err
	}
	claim = &ledger.HostClaim{Host: host, Owner: claim.Owner, TxID: t.event.TxID, Timestamp: t.now}
	return claim, t.emit()
}

func (t *txn) claim(host string) (*ledger.HostClaim, error) {
	b, err := t.stub.GetState(claimKey(host))
	if err != nil || b == nil {
		return nil, err
	}
	var c ledger.HostClaim
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("claim of host %s does not parse: %w", host, err)
	}
	return &c, nil
}

// requireUnclaimed refuses to publish key when another org than owner
// claims its host.
func (t *txn) requireUnclaimed(key, owner string) error {
	host := hostOf(key)
	if host == "" {
		return nil
	}
	claim, err := t.claim(host)
	if err != nil {
		return err
	}
	if claim != nil && claim.Owner != owner {
		return refuse(ledger.CodeHostClaimed, "Publish of %s: host %s is claimed by %s, the key's org is %s", key, host, claim.Owner, owner)
	}
	return nil
}
