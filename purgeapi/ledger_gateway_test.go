package purgeapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// fakeGateway stands in for *gateway.Client.
type fakeGateway struct {
	transient map[string][]byte
	keys      []string
	reason    string
	tags      []string
	err       error
	pages     int // InvalidateTag pages per tag
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

func (f *fakeGateway) InvalidateTag(_ context.Context, tag, _ string, _ int32, progress func(gateway.TagProgress)) (int, error) {
	f.tags = append(f.tags, tag)
	total := 0
	for i := 0; i < f.pages; i++ {
		total += 10
		progress(gateway.TagProgress{Committed: gateway.Committed{TxID: fmt.Sprintf("%s-%d", tag, i), Block: uint64(len(f.tags)*10 + i)}, Invalidated: 10, Total: total})
	}
	return total, f.err
}

func (f *fakeGateway) Get(context.Context, string) (gateway.Entry, error) {
	return gateway.Entry{}, f.err
}
func (f *fakeGateway) History(context.Context, string) ([]gateway.HistoryItem, error) {
	return nil, f.err
}

func TestGatewayLedgerInvalidateKeys(t *testing.T) {
	f := &fakeGateway{}
	g := &GatewayLedger{c: f}
	res, err := g.InvalidateKeys(context.Background(), []string{"img:a", "img:b"}, SubmitOptions{Reason: "r", IdempotencyKey: "k1", TokenID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.TxID != "tx1" || res.Block != 9 || len(res.Entries) != 1 || res.Entries[0].Version != 4 || len(res.Missing) != 1 || res.Invalidated != 1 {
		t.Errorf("result %+v", res)
	}
	if f.reason != "r" || string(f.transient[ledger.TransientIdempotencyKey]) != "k1" || string(f.transient[TransientTokenID]) != "t1" {
		t.Errorf("sent reason %q transient %q", f.reason, f.transient)
	}
}

func TestGatewayLedgerPurgeTagsCollectsPages(t *testing.T) {
	f := &fakeGateway{pages: 2}
	g := &GatewayLedger{c: f}
	res, err := g.PurgeTags(context.Background(), []string{"a", "b"}, SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transactions) != 4 || res.TxID != "b-1" || res.Block != 21 || res.Invalidated != 40 {
		t.Errorf("result %+v", res)
	}
}

// What the gateway cannot do yet is refused before anything is sent.
func TestGatewayLedgerNotSupported(t *testing.T) {
	f := &fakeGateway{}
	g := &GatewayLedger{c: f}
	ctx := context.Background()
	soft := SubmitOptions{Soft: true}
	for name, call := range map[string]func() error{
		"soft keys":  func() error { _, err := g.InvalidateKeys(ctx, []string{"img:a"}, soft); return err },
		"soft tags":  func() error { _, err := g.PurgeTags(ctx, []string{"a"}, soft); return err },
		"prefixes":   func() error { _, err := g.PurgePrefixes(ctx, []string{"https://a/"}, SubmitOptions{}); return err },
		"hosts":      func() error { _, err := g.PurgeHosts(ctx, []string{"a"}, SubmitOptions{}); return err },
		"everything": func() error { _, err := g.PurgeOrigin(ctx, "https://a", SubmitOptions{}); return err },
		"tx status":  func() error { _, err := g.TxStatus(ctx, "x"); return err },
	} {
		if err := call(); !errors.Is(err, ErrLedgerNotSupported) {
			t.Errorf("%s: %v, want not supported", name, err)
		}
	}
	if f.keys != nil || f.tags != nil {
		t.Errorf("sent %v %v", f.keys, f.tags)
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
