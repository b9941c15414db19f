package purgeapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
)

// fakeGateway stands in for *gateway.Client.
type fakeGateway struct {
	transient map[string][]byte
	keys      []string
	reason    string
	soft      []string                 // InvalidateSoft keys
	scopes    []gateway.PurgeRequest   // PurgeScope requests
	sent      []map[string][]byte      // transient maps of InvalidateSoft and PurgeScope, in order
	err       error                    // PurgeScope fails from its second call on
	blocks    map[string]*common.Block // BlockByTxID answers; a missing one is an evaluation error
	blockErr  error                    // BlockByTxID fails with it when set
}

func (f *fakeGateway) InvalidateBatch(_ context.Context, keys []string, reason string, opts ...gateway.InvalidateOption) (ledger.BatchResult, gateway.Committed, error) {
	f.keys, f.reason, f.transient = keys, reason, map[string][]byte{}
	for _, o := range opts {
		o(f.transient)
	}
	if f.err != nil {
		return ledger.BatchResult{}, gateway.Committed{}, f.err
	}
	return ledger.BatchResult{Invalidated: []ledger.Summary{{Key: keys[0], Version: 4, State: "INVALIDATED"}}, Missing: keys[1:]},
		gateway.Committed{TxID: "tx1", Block: 9, Attempts: 1}, nil
}

func (f *fakeGateway) InvalidateBatchSoft(_ context.Context, keys []string, reason string, opts ...gateway.InvalidateOption) (ledger.BatchResult, gateway.Committed, error) {
	f.soft, f.reason = keys, reason
	f.sent = append(f.sent, apply(opts))
	if f.err != nil {
		return ledger.BatchResult{}, gateway.Committed{}, f.err
	}
	var r ledger.BatchResult
	for i, k := range keys {
		if k == "img:missing" {
			r.Missing = append(r.Missing, k)
			continue
		}
		r.Invalidated = append(r.Invalidated, ledger.Summary{Key: k, Version: uint64(i + 2), State: "STALE"})
	}
	return r, gateway.Committed{TxID: "soft-1", Block: 12}, nil
}

func (f *fakeGateway) PurgeScope(_ context.Context, req gateway.PurgeRequest, opts ...gateway.InvalidateOption) (gateway.Generation, gateway.Committed, error) {
	f.scopes = append(f.scopes, req)
	f.sent = append(f.sent, apply(opts))
	if f.err != nil && len(f.scopes) > 1 {
		return gateway.Generation{}, gateway.Committed{}, f.err
	}
	n := len(f.scopes)
	g := gateway.Generation{Purge: ledger.Purge{Scope: req.Scope, Owner: "Org1MSP", Generation: uint64(n + 1), Soft: req.Soft}}
	return g, gateway.Committed{TxID: fmt.Sprintf("scope-%d", n), Block: uint64(10 + n)}, nil
}

func apply(opts []gateway.InvalidateOption) map[string][]byte {
	t := map[string][]byte{}
	for _, o := range opts {
		o(t)
	}
	return t
}

func (f *fakeGateway) Get(context.Context, string) (gateway.Entry, error) {
	return gateway.Entry{}, f.err
}
func (f *fakeGateway) History(context.Context, string) ([]gateway.HistoryItem, error) {
	return nil, f.err
}
func (f *fakeGateway) ScopePurges(context.Context, string) ([]ledger.Generation, error) {
	return nil, f.err
}
func (f *fakeGateway) BlockByTxID(_ context.Context, id string) (*common.Block, error) {
	if f.blockErr != nil {
		return nil, f.blockErr
	}
	if b, ok := f.blocks[id]; ok {
		return b, nil
	}
	return nil, &gateway.Error{Code: gateway.CodeInvalidArgument, Stage: gateway.StageEvaluate, Message: "no such transaction ID"}
}
func (f *fakeGateway) BlockByNumber(context.Context, uint64) (*common.Block, error) {
	return nil, errors.New("not recorded")
}
func (f *fakeGateway) Height(context.Context) (uint64, error) { return 0, f.err }
func (f *fakeGateway) Chaincode() string                      { return "cachet" }

func TestGatewayLedgerInvalidateKeys(t *testing.T) {
	f := &fakeGateway{}
	g := &GatewayLedger{c: f}
	res, err := g.InvalidateKeys(context.Background(), []string{"img:a", "img:b"}, SubmitOptions{Reason: "r", IdempotencyKey: "k1", TokenID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.TxID != "tx1" || res.Block != 9 || len(res.Entries) != 1 || res.Entries[0].Version != 4 || len(res.Missing) != 1 || res.Invalidated == nil || *res.Invalidated != 1 {
		t.Errorf("result %+v", res)
	}
	if f.reason != "r" || string(f.transient[ledger.TransientIdempotencyKey]) != "k1" || string(f.transient[TransientTokenID]) != "t1" {
		t.Errorf("sent reason %q transient %q", f.reason, f.transient)
	}
}

// Each scope is one PurgeScope transaction of the daemon's org, carrying
// soft, the reason, the token ID and an idempotency key of its own.
func TestGatewayLedgerScopePurges(t *testing.T) {
	ctx := context.Background()
	opts := SubmitOptions{Soft: true, Reason: "deploy", IdempotencyKey: "k1", TokenID: "t1"}
	for _, tc := range []struct {
		name string
		kind ledger.ScopeKind
		call func(g *GatewayLedger) (PurgeResult, error)
		want []string
	}{
		{"tags", ledger.ScopeTag, func(g *GatewayLedger) (PurgeResult, error) { return g.PurgeTags(ctx, []string{"a", "b"}, opts) }, []string{"a", "b"}},
		{"prefixes", ledger.ScopePrefix, func(g *GatewayLedger) (PurgeResult, error) {
			return g.PurgePrefixes(ctx, []string{"https://a/x/"}, opts)
		}, []string{"https://a/x/"}},
		{"hosts", ledger.ScopeHost, func(g *GatewayLedger) (PurgeResult, error) { return g.PurgeHosts(ctx, []string{"a", "b"}, opts) }, []string{"a", "b"}},
		{"origin", ledger.ScopeOrigin, func(g *GatewayLedger) (PurgeResult, error) { return g.PurgeOrigin(ctx, "https://a", opts) }, []string{"https://a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGateway{}
			res, err := tc.call(&GatewayLedger{c: f})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.scopes) != len(tc.want) || len(res.Scopes) != len(tc.want) {
				t.Fatalf("sent %+v, answered %+v", f.scopes, res)
			}
			n := len(tc.want)
			if res.TxID != fmt.Sprintf("scope-%d", n) || res.Block != uint64(10+n) || (n > 1) != (len(res.Transactions) == n) {
				t.Errorf("result %+v", res)
			}
			keys := map[string]bool{}
			for i, req := range f.scopes {
				if req.Scope != (ledger.Scope{Kind: tc.kind, Value: tc.want[i]}) || req.Owner != "" || !req.Soft || req.Reason != "deploy" {
					t.Errorf("request %d: %+v", i, req)
				}
				if res.Scopes[i].Kind != string(tc.kind) || res.Scopes[i].Value != tc.want[i] || res.Scopes[i].Generation != uint64(i+2) {
					t.Errorf("scope %d: %+v", i, res.Scopes[i])
				}
				if string(f.sent[i][TransientTokenID]) != "t1" {
					t.Errorf("request %d token ID %q", i, f.sent[i][TransientTokenID])
				}
				keys[string(f.sent[i][ledger.TransientIdempotencyKey])] = true
			}
			if !keys["k1"] || len(keys) != n {
				t.Errorf("idempotency keys %v: want k1 first and one per scope", keys)
			}
		})
	}
}

// A failure on the second scope answers the first one's commit beside the error.
func TestGatewayLedgerScopePurgeFailsPartWay(t *testing.T) {
	f := &fakeGateway{err: &gateway.Error{Code: gateway.CodeForbidden}}
	res, err := (&GatewayLedger{c: f}).PurgeHosts(context.Background(), []string{"a", "b"}, SubmitOptions{})
	var le *LedgerError
	if !errors.As(err, &le) || le.Code != LedgerForbidden {
		t.Fatalf("error %v, want forbidden", err)
	}
	if len(res.Scopes) != 1 || res.TxID != "scope-1" {
		t.Errorf("result %+v, want the first scope's commit", res)
	}
}

// Soft key purges are one InvalidateBatchSoft transaction; a key without an
// entry is missing.
func TestGatewayLedgerSoftKeys(t *testing.T) {
	f := &fakeGateway{}
	res, err := (&GatewayLedger{c: f}).InvalidateKeys(context.Background(), []string{"img:a", "img:missing", "img:b"},
		SubmitOptions{Soft: true, Reason: "r", IdempotencyKey: "k1", TokenID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if f.keys != nil || len(f.soft) != 3 || len(f.sent) != 1 {
		t.Fatalf("batch %v, soft %v in %d transactions", f.keys, f.soft, len(f.sent))
	}
	if res.Invalidated == nil || *res.Invalidated != 2 || len(res.Entries) != 2 || res.Entries[1].State != "STALE" || len(res.Missing) != 1 || res.Missing[0] != "img:missing" ||
		res.TxID != "soft-1" || res.Block != 12 {
		t.Errorf("result %+v", res)
	}
	if string(f.sent[0][ledger.TransientIdempotencyKey]) != "k1" || string(f.sent[0][TransientTokenID]) != "t1" {
		t.Errorf("transient maps %q", f.sent)
	}
}

// Transaction status is read from the block holding the transaction: the
// recorded receipts' blocks hold a valid publish and a transaction refused
// at commit.
func TestGatewayLedgerTxStatus(t *testing.T) {
	f := &fakeGateway{blocks: map[string]*common.Block{}}
	ids := map[string]string{}
	for _, name := range []string{"publish.json", "refused.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "receipt", name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := receipt.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = r.TxID
		f.blocks[r.TxID] = &common.Block{Header: &common.BlockHeader{Number: r.Block.Number, PreviousHash: r.Block.PreviousHash, DataHash: r.Block.DataHash},
			Data: &common.BlockData{Data: r.Block.Data}, Metadata: &common.BlockMetadata{Metadata: r.Block.Metadata}}
	}
	g := &GatewayLedger{c: f}
	ctx := context.Background()
	if st, err := g.TxStatus(ctx, ids["publish.json"]); err != nil || st.State != TxCommitted || st.ValidationCode != "VALID" || st.Block == 0 {
		t.Errorf("publish: %+v, %v", st, err)
	}
	if st, err := g.TxStatus(ctx, ids["refused.json"]); err != nil || st.State != TxInvalid || st.ValidationCode != "ENDORSEMENT_POLICY_FAILURE" {
		t.Errorf("refused: %+v, %v", st, err)
	}
	if st, err := g.TxStatus(ctx, "0000"); err != nil || st.State != TxUnknown {
		t.Errorf("unknown: %+v, %v", st, err)
	}
	f.blocks["other"] = f.blocks[ids["publish.json"]]
	if _, err := g.TxStatus(ctx, "other"); err == nil {
		t.Error("a block that does not hold the transaction gave a status")
	}
	f.blockErr = &gateway.Error{Code: gateway.CodeUnavailable, Stage: gateway.StageEvaluate}
	var le *LedgerError
	if _, err := g.TxStatus(ctx, ids["publish.json"]); !errors.As(err, &le) || le.Code != LedgerUnavailable {
		t.Errorf("no peer: %v, want unavailable", err)
	}
}

func TestGatewayErrorsClassified(t *testing.T) {
	cases := map[error]LedgerCode{
		&gateway.Error{Code: gateway.CodeUnavailable, Stage: gateway.StageEndorse}:                LedgerUnavailable,
		&gateway.Error{Code: gateway.CodeNotFound, Stage: gateway.StageEvaluate}:                  LedgerNotFound,
		&gateway.Error{Code: gateway.CodeTimeout, Stage: gateway.StageCommit, TxID: "t"}:          LedgerTimeout,
		&gateway.Error{Code: gateway.CodeConflict, Stage: gateway.StageCommit}:                    LedgerConflict,
		&gateway.Error{Code: gateway.CodeEndorsementPolicy, Stage: gateway.StageCommit}:           LedgerForbidden,
		&gateway.Error{Code: gateway.CodeInvalidArgument, Stage: gateway.StageEndorse}:            LedgerRefused,
		&gateway.Error{Code: gateway.CodeInvalidTx, Stage: gateway.StageCommit}:                   LedgerFailed,
		fmt.Errorf("wrapped: %w", &gateway.Error{Code: gateway.CodeUnavailable, Stage: "submit"}): LedgerUnavailable,
		context.DeadlineExceeded: LedgerTimeout,
		errors.New("other"):      LedgerFailed,
	}
	for in, want := range cases {
		_, err := (&GatewayLedger{c: &fakeGateway{err: in}}).InvalidateKeys(context.Background(), []string{"img:a"}, SubmitOptions{})
		var le *LedgerError
		if !errors.As(err, &le) || le.Code != want {
			t.Errorf("%v: %v, want %s", in, err, want)
			continue
		}
		if !errors.Is(err, in) {
			t.Errorf("%v: the gateway's error is not wrapped", in)
		}
	}
	_, err := (&GatewayLedger{c: &fakeGateway{err: &gateway.Error{Code: gateway.CodeNotFound}}}).Get(context.Background(), "img:a")
	if !errors.Is(err, ErrLedgerNotFound) {
		t.Errorf("Get: %v", err)
	}
}
