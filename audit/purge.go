package audit

import (
	"context"
	"errors"

	"github.com/cachetsync/cachet/ledger"
	cachetrecord "github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// PurgeLedger lists the scope purges that covered a key and reads blocks.
// *gateway.Client implements it.
type PurgeLedger interface {
	ScopePurges(ctx context.Context, key string) ([]ledger.Generation, error)
	BlockByTxID(ctx context.Context, txID string) (*common.Block, error)
}

// CoveringPurges is an Options.ScopePurges that returns every scope purge
// that covered the key while it had an entry (the contract lists them),
// each read from the block that holds it, as a record whose State is what
// the purge made of the key: INVALIDATED, or STALE for a soft one.
func CoveringPurges(l PurgeLedger, chaincode string) func(ctx context.Context, key string) ([]Record, error) {
	if chaincode == "" {
		chaincode = "cachet"
	}
	return func(ctx context.Context, key string) ([]Record, error) {
		gens, err := l.ScopePurges(ctx, key)
		if err != nil {
			return nil, err
		}
		recs := make([]Record, 0, len(gens))
		for _, g := range gens {
			b, err := l.BlockByTxID(ctx, g.TxID)
			if err != nil {
				return nil, &Error{TxID: g.TxID, Err: err}
			}
			r, ok, err := find(b, g.TxID, key, chaincode)
			if err != nil || !ok {
				return nil, &Error{TxID: g.TxID, Err: errors.Join(err, errors.New("not in the block the peer names"))}
			}
			r.Op, r.Owner, r.Reason, r.Scope, r.Version = ledger.OpPurge, g.Owner, g.Reason, g.Scope.String(), 0
			r.State = string(cachetrecord.StateInvalidated)
			if g.Soft {
				r.State = string(cachetrecord.StateStale)
			}
			recs = append(recs, r)
		}
		return recs, nil
	}
}
