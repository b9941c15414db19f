package purgeapi

import (
	"context"
	"errors"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// TransientTokenID is the transient-map key GatewayLedger puts the API
// token's ID under, beside the idempotency key.
const TransientTokenID = "token-id"

// gatewayClient is the part of *gateway.Client the adapter uses.
type gatewayClient interface {
	InvalidateBatch(ctx context.Context, keys []string, reason string, opts ...gateway.InvalidateOption) (ledger.BatchResult, gateway.Committed, error)
	InvalidateTag(ctx context.Context, tag, reason string, pageSize int32, progress func(gateway.TagProgress)) (int, error)
	Get(ctx context.Context, key string) (gateway.Entry, error)
	History(ctx context.Context, key string) ([]gateway.HistoryItem, error)
}

// GatewayLedger is a Ledger over a gateway client, with what the gateway
// package offers today: key invalidation (hard), tag purges by paging
// through the tag index, Get and History. Soft invalidation, prefix, host
// and origin purges, and transaction status answer a *LedgerError with
// LedgerNotSupported until the gateway has calls for them (generation-based
// scope purges are being added there); each is one method to fill in here.
type GatewayLedger struct {
	c gatewayClient
	// TagPageSize is the page size of a tag purge (0: the contract's default).
	TagPageSize int32
}

// NewGatewayLedger adapts c.
func NewGatewayLedger(c *gateway.Client) *GatewayLedger { return &GatewayLedger{c: c} }

var _ Ledger = (*GatewayLedger)(nil)

// InvalidateKeys submits one InvalidateBatch transaction.
func (g *GatewayLedger) InvalidateKeys(ctx context.Context, keys []string, opts SubmitOptions) (PurgeResult, error) {
	if opts.Soft {
		return PurgeResult{}, notSupported("InvalidateKeys", "soft invalidations")
	}
	r, done, err := g.c.InvalidateBatch(ctx, keys, opts.Reason, transient(opts)...)
	if err != nil {
		return PurgeResult{}, fromGateway("InvalidateKeys", err)
	}
	return PurgeResult{TxID: done.TxID, Block: done.Block, Entries: r.Invalidated, Missing: r.Missing, Invalidated: len(r.Invalidated)}, nil
}

// PurgeTags runs the gateway's paged InvalidateTag for each tag in turn: a
// tag purge is as many transactions as pages, and a failure part-way leaves
// the earlier pages committed (invalidation is idempotent in effect, so the
// caller may repeat the whole request). Generation-based tag purges in the
// gateway will make this one transaction.
func (g *GatewayLedger) PurgeTags(ctx context.Context, tags []string, opts SubmitOptions) (PurgeResult, error) {
	if opts.Soft {
		return PurgeResult{}, notSupported("PurgeTags", "soft invalidations")
	}
	var res PurgeResult
	for _, tag := range tags {
		n, err := g.c.InvalidateTag(ctx, tag, opts.Reason, g.TagPageSize, func(p gateway.TagProgress) {
			res.Transactions = append(res.Transactions, Committed{TxID: p.TxID, Block: p.Block})
		})
		res.Invalidated += n
		if err != nil {
			return res, fromGateway("PurgeTags", err)
		}
	}
	if n := len(res.Transactions); n > 0 {
		res.TxID, res.Block = res.Transactions[n-1].TxID, res.Transactions[n-1].Block
	}
	return res, nil
}

// PurgePrefixes is not supported by the gateway client yet.
func (g *GatewayLedger) PurgePrefixes(context.Context, []string, SubmitOptions) (PurgeResult, error) {
	return PurgeResult{}, notSupported("PurgePrefixes", "prefix purges")
}

// PurgeHosts is not supported by the gateway client yet.
func (g *GatewayLedger) PurgeHosts(context.Context, []string, SubmitOptions) (PurgeResult, error) {
	return PurgeResult{}, notSupported("PurgeHosts", "host purges")
}

// PurgeOrigin is not supported by the gateway client yet.
func (g *GatewayLedger) PurgeOrigin(context.Context, string, SubmitOptions) (PurgeResult, error) {
	return PurgeResult{}, notSupported("PurgeOrigin", "origin purges")
}

// Get evaluates the contract's Get.
func (g *GatewayLedger) Get(ctx context.Context, key string) (Entry, error) {
	e, err := g.c.Get(ctx, key)
	return e, fromGateway("Get", err)
}

// History evaluates the contract's History.
func (g *GatewayLedger) History(ctx context.Context, key string) ([]HistoryItem, error) {
	h, err := g.c.History(ctx, key)
	return h, fromGateway("History", err)
}

// TxStatus is not supported by the gateway client yet (it has no
// transaction-status query).
func (g *GatewayLedger) TxStatus(context.Context, string) (TxStatus, error) {
	return TxStatus{}, notSupported("TxStatus", "transaction status")
}

func transient(opts SubmitOptions) []gateway.InvalidateOption {
	var out []gateway.InvalidateOption
	if opts.IdempotencyKey != "" {
		out = append(out, gateway.WithIdempotencyKey(opts.IdempotencyKey))
	}
	if opts.TokenID != "" {
		id := []byte(opts.TokenID)
		out = append(out, func(t map[string][]byte) { t[TransientTokenID] = id })
	}
	return out
}

func notSupported(op, what string) error {
	return &LedgerError{Code: LedgerNotSupported, Op: op, Message: what + " are not supported by this ledger client"}
}

// fromGateway classifies a gateway error; nil stays nil.
func fromGateway(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		if errors.Is(err, context.DeadlineExceeded) {
			return &LedgerError{Code: LedgerTimeout, Op: op, Message: err.Error(), Err: err}
		}
		return &LedgerError{Code: LedgerFailed, Op: op, Message: err.Error(), Err: err}
	}
	code := LedgerFailed
	switch ge.Code {
	case gateway.CodeNotFound:
		code = LedgerNotFound
	case gateway.CodeUnavailable:
		code = LedgerUnavailable
	case gateway.CodeTimeout:
		code = LedgerTimeout
	case gateway.CodeConflict, gateway.CodeEndorsementMismatch, gateway.CodeStaleVersion:
		code = LedgerConflict
	case gateway.CodeForbidden, gateway.CodeUnauthorized, gateway.CodeEndorsementPolicy:
		code = LedgerForbidden
	case gateway.CodeInvalidArgument, gateway.CodeLimitExceeded, gateway.CodeBadTransition:
		code = LedgerRefused
	}
	return &LedgerError{Code: code, Op: op, TxID: ge.TxID, Message: ge.Message, Err: err}
}
