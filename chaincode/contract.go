// Package chaincode is Cachet's cache-state contract: the only writer of
// cache entries on the ledger. Every transaction validates its arguments,
// checks the caller's organization and role, moves entries between VALID,
// STALE and INVALIDATED (every invalidation is a new version, of an
// INVALIDATED entry too) and purges them, with strictly increasing
// versions, and emits exactly one chaincode event listing all of its
// transitions. Scope purges (a tag, a path prefix, a host, an origin) are
// one write of the scope's next generation; queries combine an entry's own
// state with the generations covering it.
//
// The contract is deterministic: times come from the transaction header, no
// map order reaches the ledger or an event, and nothing random or external
// is read.
package chaincode

import (
	"errors"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Contract is the cache-state contract.
type Contract struct {
	contractapi.Contract
}

// Publish creates key or republishes it: version+1, state VALID. The first
// publisher's org owns the key; only that org may republish or purge it, and
// its peers must endorse every change (state-based endorsement).
// expectedVersion 0 skips the version check.
func (c *Contract) Publish(ctx contractapi.TransactionContextInterface, key, etag string, maxAge uint32, tags []string, expectedVersion uint64) (*ledger.Entry, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require("Publish", RolePublisher); err != nil {
		return nil, err
	}
	key, err = canonicalKey(key)
	if err != nil {
		return nil, err
	}
	if tags, err = checkTags(tags); err != nil {
		return nil, err
	}
	switch {
	case len(etag) > ledger.MaxETagBytes:
		return nil, refuse(ledger.CodeLimitExceeded, "etag is %d bytes, limit %d", len(etag), ledger.MaxETagBytes)
	case maxAge > ledger.MaxMaxAge:
		return nil, refuse(ledger.CodeLimitExceeded, "maxAge %d s exceeds %d s", maxAge, ledger.MaxMaxAge)
	}
	old, err := t.get(key)
	if err != nil {
		return nil, err
	}
	var version uint64
	owner, revived := t.caller.msp, false
	switch {
	case old != nil:
		version, owner = old.Version, old.Owner
	default:
		ts, err := t.tombstone(key)
		if err != nil {
			return nil, err
		}
		if ts != nil {
			version, owner, revived = ts.Version, ts.Owner, true
		}
	}
	if err := t.caller.requireOwner("Publish", key, owner); err != nil {
		return nil, err
	}
	if err := checkVersion(key, version, expectedVersion); err != nil {
		return nil, err
	}
	if err := t.requireUnclaimed(key, owner); err != nil {
		return nil, err
	}
	if revived { // the tombstone's policy makes the owner endorse this
		if err := t.stub.DelState(indexKey(tombstones, "", key)); err != nil {
			return nil, err
		}
	}
	e := &ledger.Entry{Key: key, Version: version + 1, State: record.StateValid, ETag: etag, MaxAge: maxAge, Tags: tags, Owner: owner}
	cov, err := t.coverage([]*ledger.Entry{e})
	if err != nil {
		return nil, err
	}
	stamp(e, cov[0])
	if err := t.put(e, old); err != nil {
		return nil, err
	}
	t.record(ledger.OpPublish, e, "")
	return e, t.emit()
}

// Invalidate moves key to INVALIDATED with version+1, whatever its state: a
// browser may have refilled its copy since the last invalidation, so an
// INVALIDATED entry gets a new version too. Any org's publisher or
// invalidator may ask; the owner org must endorse. expectedVersion (0 skips
// the check) and an idempotency key in the transient map guard against
// replays.
func (c *Contract) Invalidate(ctx contractapi.TransactionContextInterface, key, reason string, expectedVersion uint64) (*ledger.Entry, error) {
	return invalidateOne(ctx, ledger.TxInvalidate, key, reason, expectedVersion, false)
}

// InvalidateSoft is Invalidate, softly: the entry becomes STALE, which a
// browser may serve once more while it revalidates, never after a
// revalidation succeeded. An entry that is INVALIDATED (by its own state or
// a hard scope purge) stays INVALIDATED, with a new version.
func (c *Contract) InvalidateSoft(ctx contractapi.TransactionContextInterface, key, reason string, expectedVersion uint64) (*ledger.Entry, error) {
	return invalidateOne(ctx, ledger.TxInvalidateSoft, key, reason, expectedVersion, true)
}

func invalidateOne(ctx contractapi.TransactionContextInterface, name, key, reason string, expectedVersion uint64, soft bool) (*ledger.Entry, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require(name, RolePublisher, RoleInvalidator); err != nil {
		return nil, err
	}
	if key, err = canonicalKey(key); err != nil {
		return nil, err
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	var first ledger.Entry
	if done, err := t.replayed(name, &first); done || err != nil {
		return &first, err
	}
	e, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, refuse(ledger.CodeNotFound, "no entry for %s", key)
	}
	if err := checkVersion(key, e.Version, expectedVersion); err != nil {
		return nil, err
	}
	if err := t.invalidate([]*ledger.Entry{e}, reason, soft); err != nil {
		return nil, err
	}
	if err := t.remember(name, e); err != nil {
		return nil, err
	}
	return e, t.emit()
}

// invalidate gives every entry (nil ones skipped) a new version,
// INVALIDATED, or STALE when soft and the entry's effective state is not
// INVALIDATED. A soft invalidation reads the generations covering the
// entries (in one round trip) to know that state, and stamps the entries
// with them. A hard one reads none and keeps the stamps: the entry is
// INVALIDATED whatever purged it, and the hot path stays one read.
func (t *txn) invalidate(entries []*ledger.Entry, reason string, soft bool) error {
	var cov [][]*ledger.Generation
	if soft {
		var err error
		if cov, err = t.coverage(entries); err != nil {
			return err
		}
	}
	for i, e := range entries {
		if e == nil {
			continue
		}
		old := *e
		e.Version++
		e.State = record.StateInvalidated
		if soft {
			if effective(&old, cov[i]).State != record.StateInvalidated {
				e.State = record.StateStale
			}
			stamp(e, cov[i])
		}
		if err := t.put(e, &old); err != nil {
			return err
		}
		t.record(ledger.OpInvalidate, e, reason)
	}
	return nil
}

// InvalidateBatch invalidates up to ledger.MaxBatchKeys keys in one
// transaction; every key with an entry gets a new version, an INVALIDATED
// one too. Duplicates (after canonicalization) count once; keys without an
// entry are reported missing, so one stale key does not sink a batch. A
// malformed key refuses the whole batch. An idempotency key in the transient
// map makes a replay answer the first result.
func (c *Contract) InvalidateBatch(ctx contractapi.TransactionContextInterface, keys []string, reason string) (*ledger.BatchResult, error) {
	return invalidateBatch(ctx, ledger.TxInvalidateBatch, keys, reason, false)
}

// InvalidateBatchSoft is InvalidateBatch, softly: each entry becomes STALE
// (INVALIDATED ones stay INVALIDATED), as InvalidateSoft does for one key.
func (c *Contract) InvalidateBatchSoft(ctx contractapi.TransactionContextInterface, keys []string, reason string) (*ledger.BatchResult, error) {
	return invalidateBatch(ctx, ledger.TxInvalidateBatchSoft, keys, reason, true)
}

func invalidateBatch(ctx contractapi.TransactionContextInterface, name string, keys []string, reason string, soft bool) (*ledger.BatchResult, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require(name, RolePublisher, RoleInvalidator); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, refuse(ledger.CodeInvalidArgument, "%s needs at least one key", name)
	}
	if len(keys) > ledger.MaxBatchKeys {
		return nil, refuse(ledger.CodeLimitExceeded, "batch of %d keys, limit %d", len(keys), ledger.MaxBatchKeys)
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	canon := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		ck, err := canonicalKey(k)
		if err != nil {
			var ce *ledger.Error
			errors.As(err, &ce)
			ce.Message = "key " + itoa(i) + ": " + ce.Message
			return nil, ce
		}
		if !seen[ck] {
			seen[ck] = true
			canon = append(canon, ck)
		}
	}
	var first ledger.BatchResult
	if done, err := t.replayed(name, &first); done || err != nil {
		return &first, err
	}
	entries, err := t.getMany(canon)
	if err != nil {
		return nil, err
	}
	if err := t.invalidate(entries, reason, soft); err != nil {
		return nil, err
	}
	res := &ledger.BatchResult{}
	for i, key := range canon {
		if e := entries[i]; e != nil {
			res.Invalidated = append(res.Invalidated, ledger.Summary{Key: e.Key, Version: e.Version, State: e.State})
		} else {
			res.Missing = append(res.Missing, key)
		}
	}
	if err := t.remember(name, res); err != nil {
		return nil, err
	}
	return res, t.emit()
}

// InvalidateTag invalidates one page (pageSize keys, default ledger.DefaultPage,
// at most ledger.MaxPageSize) of the keys carrying tag, so one transaction stays
// bounded; every entry on the page gets a new version, an INVALIDATED one
// too. Call again with the returned bookmark until it is empty.
func (c *Contract) InvalidateTag(ctx contractapi.TransactionContextInterface, tag, bookmark string, pageSize int32, reason string) (*ledger.TagPage, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require("InvalidateTag", RolePublisher, RoleInvalidator); err != nil {
		return nil, err
	}
	if err := cachekey.Tag(tag); err != nil {
		return nil, invalid(err, "tag")
	}
	size, err := pageSizeOf(pageSize)
	if err != nil {
		return nil, err
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	keys, next, err := scanIndex(t.stub, indexTag, tag, bookmark, size)
	if err != nil {
		return nil, err
	}
	entries, err := t.getMany(keys)
	if err != nil {
		return nil, err
	}
	if err := t.invalidate(entries, reason, false); err != nil {
		return nil, err
	}
	page := &ledger.TagPage{Bookmark: next}
	for i, key := range keys {
		if entries[i] != nil {
			page.Keys = append(page.Keys, key)
		}
	}
	page.Invalidated = len(page.Keys)
	return page, t.emit()
}

// Purge deletes key's state (its history stays). Only the owner org's
// publishers may purge. A later Publish continues the version sequence.
func (c *Contract) Purge(ctx contractapi.TransactionContextInterface, key string, expectedVersion uint64) (*ledger.Entry, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.caller.require("Purge", RolePublisher); err != nil {
		return nil, err
	}
	if key, err = canonicalKey(key); err != nil {
		return nil, err
	}
	e, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, refuse(ledger.CodeNotFound, "no entry for %s", key)
	}
	if err := t.caller.requireOwner("Purge", key, e.Owner); err != nil {
		return nil, err
	}
	if err := checkVersion(key, e.Version, expectedVersion); err != nil {
		return nil, err
	}
	if err := t.purge(e); err != nil {
		return nil, err
	}
	e.State = record.StatePurged
	e.UpdatedAt, e.TxID = t.now, t.event.TxID
	t.record(ledger.OpPurge, e, "")
	return e, t.emit()
}
