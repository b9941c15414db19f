package advice

import (
	"context"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/record"
)

// Invalidator writes one invalidation as its own transaction;
// *gateway.Client is one.
type Invalidator interface {
	Invalidate(ctx context.Context, key, reason string, expectedVersion uint64, opts ...gateway.InvalidateOption) (gateway.Entry, gateway.Committed, error)
}

// Router invalidates keys the way their advice says: through Coalescer
// when the key's newest advice says to batch it, through Client otherwise
// (no advice, or any other action).
type Router struct {
	Advice    *Table
	Client    Invalidator
	Coalescer *gateway.Coalescer
}

// Batched reports whether an invalidation of key (canonical) goes through
// the coalescer.
func (r *Router) Batched(key string) bool {
	a, ok := r.Advice.Get(key)
	return ok && a.Action == record.ActionBatch
}

// Invalidate invalidates key with reason and waits for the transaction
// that carries it to commit. A malformed key fails with a *cachekey.Error
// before anything is sent.
func (r *Router) Invalidate(ctx context.Context, key, reason string) (gateway.InvalidateResult, error) {
	canon, err := cachekey.Canonical(key)
	if err != nil {
		return gateway.InvalidateResult{}, err
	}
	if r.Batched(canon) {
		return r.Coalescer.Invalidate(ctx, canon, reason)
	}
	e, done, err := r.Client.Invalidate(ctx, canon, reason, 0)
	if err != nil {
		return gateway.InvalidateResult{}, err
	}
	return gateway.InvalidateResult{
		Key:       canon,
		KeyResult: gateway.KeyResult{Status: gateway.KeyInvalidated, Version: e.Version},
		TxID:      done.TxID, Block: done.Block,
	}, nil
}
