package purgeapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// TransientTokenID is the transient-map key GatewayLedger puts the API
// token's ID under (gateway.WithTokenID), beside the idempotency key; the
// contract records it in the event.
const TransientTokenID = ledger.TransientTokenID

// gatewayClient is the part of *gateway.Client the adapter uses.
type gatewayClient interface {
	InvalidateBatch(ctx context.Context, keys []string, reason string, opts ...gateway.InvalidateOption) (ledger.BatchResult, gateway.Committed, error)
	InvalidateBatchSoft(ctx context.Context, keys []string, reason string, opts ...gateway.InvalidateOption) (ledger.BatchResult, gateway.Committed, error)
	PurgeScope(ctx context.Context, req gateway.PurgeRequest, opts ...gateway.InvalidateOption) (gateway.Generation, gateway.Committed, error)
	Get(ctx context.Context, key string) (gateway.Entry, error)
	audit.Ledger
	audit.PurgeLedger
	Chaincode() string
}

// GatewayLedger is a Ledger over a gateway client. Key invalidations are
// one InvalidateBatch (or InvalidateBatchSoft) transaction. Tags, prefixes,
// hosts and an origin are one PurgeScope transaction per scope, of the
// daemon's org. History is the key's audit trail read from the blocks, and
// a transaction's status is read from the block that holds it.
type GatewayLedger struct {
	c gatewayClient
}

// NewGatewayLedger adapts c.
func NewGatewayLedger(c *gateway.Client) *GatewayLedger { return &GatewayLedger{c: c} }

var _ Ledger = (*GatewayLedger)(nil)

// InvalidateKeys submits one InvalidateBatch transaction, or when soft one
// InvalidateBatchSoft transaction.
func (g *GatewayLedger) InvalidateKeys(ctx context.Context, keys []string, opts SubmitOptions) (PurgeResult, error) {
	batch := g.c.InvalidateBatch
	if opts.Soft {
		batch = g.c.InvalidateBatchSoft
	}
	r, done, err := batch(ctx, keys, opts.Reason, transient(opts, opts.IdempotencyKey)...)
	if err != nil {
		return PurgeResult{}, fromGateway("InvalidateKeys", err)
	}
	n := len(r.Invalidated)
	return PurgeResult{TxID: done.TxID, Block: done.Block, Entries: r.Invalidated, Missing: r.Missing, Invalidated: &n}, nil
}

// perKey derives the idempotency key of the i-th transaction of a request
// that takes one per key, so a replay of the request replays each.
func perKey(idem string, i int) string {
	if idem == "" || i == 0 {
		return idem
	}
	sum := sha256.Sum256([]byte(idem + "\x00" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// PurgeTags submits one PurgeScope transaction per tag.
func (g *GatewayLedger) PurgeTags(ctx context.Context, tags []string, opts SubmitOptions) (PurgeResult, error) {
	return g.purgeScopes(ctx, "PurgeTags", ledger.ScopeTag, tags, opts)
}

// PurgePrefixes submits one PurgeScope transaction per prefix.
func (g *GatewayLedger) PurgePrefixes(ctx context.Context, prefixes []string, opts SubmitOptions) (PurgeResult, error) {
	return g.purgeScopes(ctx, "PurgePrefixes", ledger.ScopePrefix, prefixes, opts)
}

// PurgeHosts submits one PurgeScope transaction per host.
func (g *GatewayLedger) PurgeHosts(ctx context.Context, hosts []string, opts SubmitOptions) (PurgeResult, error) {
	return g.purgeScopes(ctx, "PurgeHosts", ledger.ScopeHost, hosts, opts)
}

// PurgeOrigin submits one PurgeScope transaction for the origin.
func (g *GatewayLedger) PurgeOrigin(ctx context.Context, origin string, opts SubmitOptions) (PurgeResult, error) {
	return g.purgeScopes(ctx, "PurgeOrigin", ledger.ScopeOrigin, []string{origin}, opts)
}

// purgeScopes submits one PurgeScope per value, in order; a failure
// part-way leaves the earlier scopes purged (listed in the result), and the
// request may be sent again.
func (g *GatewayLedger) purgeScopes(ctx context.Context, op string, kind ledger.ScopeKind, values []string, opts SubmitOptions) (PurgeResult, error) {
	var res PurgeResult
	for i, v := range values {
		gen, done, err := g.c.PurgeScope(ctx, gateway.PurgeRequest{
			Scope: ledger.Scope{Kind: kind, Value: v}, Soft: opts.Soft, Reason: opts.Reason,
		}, transient(opts, perKey(opts.IdempotencyKey, i))...)
		if err != nil {
			last(&res)
			return res, fromGateway(op, err)
		}
		res.Transactions = append(res.Transactions, Committed{TxID: done.TxID, Block: done.Block})
		res.Scopes = append(res.Scopes, ScopeGeneration{Kind: string(gen.Kind), Value: gen.Value, Generation: gen.Generation})
	}
	last(&res)
	return res, nil
}

// last sets TxID and Block to the last transaction's, and drops
// Transactions when there was only one.
func last(res *PurgeResult) {
	n := len(res.Transactions)
	if n == 0 {
		return
	}
	res.TxID, res.Block = res.Transactions[n-1].TxID, res.Transactions[n-1].Block
	if n == 1 {
		res.Transactions = nil
	}
}

// Get evaluates the contract's Get.
func (g *GatewayLedger) Get(ctx context.Context, key string) (Entry, error) {
	e, err := g.c.Get(ctx, key)
	return e, fromGateway("Get", err)
}

// History reads key's audit trail from the blocks (audit.Trail), with
// every scope purge that covered it.
func (g *GatewayLedger) History(ctx context.Context, key string) ([]HistoryRecord, error) {
	recs, err := audit.Trail(ctx, g.c, key, audit.Options{Chaincode: g.c.Chaincode(), ScopePurges: audit.CoveringPurges(g.c, g.c.Chaincode())})
	return recs, fromGateway("History", err)
}

// TxStatus reads the block holding txID and its validation code there. A
// transaction no peer has in a block is unknown: the ledger cannot tell one
// still being ordered from one never sent.
func (g *GatewayLedger) TxStatus(ctx context.Context, txID string) (TxStatus, error) {
	b, err := g.c.BlockByTxID(ctx, txID)
	if err != nil {
		var ge *gateway.Error
		if errors.As(err, &ge) && ge.Code == gateway.CodeUnavailable || errors.Is(err, context.DeadlineExceeded) {
			return TxStatus{}, fromGateway("TxStatus", err)
		}
		return TxStatus{TxID: txID, State: TxUnknown}, nil
	}
	code, ok := audit.ValidationCode(b, txID)
	if !ok {
		return TxStatus{}, &LedgerError{Code: LedgerFailed, Op: "TxStatus", Message: "the block the peer names does not hold " + txID}
	}
	st := TxStatus{TxID: txID, State: TxCommitted, Block: b.GetHeader().GetNumber(), ValidationCode: code}
	if code != "VALID" {
		st.State = TxInvalid
	}
	return st, nil
}

func transient(opts SubmitOptions, idem string) []gateway.InvalidateOption {
	var out []gateway.InvalidateOption
	if idem != "" {
		out = append(out, gateway.WithIdempotencyKey(idem))
	}
	if opts.TokenID != "" {
		out = append(out, gateway.WithTokenID(opts.TokenID))
	}
	return out
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
