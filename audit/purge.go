package audit

import (
	"context"
	"errors"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// EntryLedger reads an entry with its effective state. *gateway.Client
// implements it.
type EntryLedger interface {
	Get(ctx context.Context, key string) (ledger.Entry, error)
	BlockByTxID(ctx context.Context, txID string) (*common.Block, error)
}

// CurrentPurge is an Options.ScopePurges that returns the scope purge
// deciding the key's effective state now (the contract's answer names it),
// read from the block that holds it: none when no purge covers the key's
// last write or the key has no entry (notFound reports Get's error for a
// missing key).
func CurrentPurge(l EntryLedger, chaincode string, notFound func(error) bool) func(ctx context.Context, key string) ([]Record, error) {
	if chaincode == "" {
		chaincode = "cachet"
	}
	return func(ctx context.Context, key string) ([]Record, error) {
		e, err := l.Get(ctx, key)
		if err != nil && notFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Effective == nil || e.Effective.Purge == nil {
			return nil, nil
		}
		g := e.Effective.Purge
		b, err := l.BlockByTxID(ctx, g.TxID)
		if err != nil {
			return nil, &Error{TxID: g.TxID, Err: err}
		}
		r, ok, err := find(b, g.TxID, key, chaincode)
		if err != nil || !ok {
			return nil, &Error{TxID: g.TxID, Err: errors.Join(err, errors.New("not in the block the peer names"))}
		}
		r.Op, r.Owner, r.Reason, r.Scope, r.State = ledger.OpPurge, g.Owner, g.Reason, g.Scope.String(), string(e.Effective.State)
		r.Version = 0
		return []Record{r}, nil
	}
}
