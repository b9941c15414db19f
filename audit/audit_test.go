package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// fakeLedger serves the blocks of the recorded receipts (testdata/receipt:
// an Org1 publish in block 4, Org2's invalidation refused at commit in
// block 5, Org2's invalidation endorsed by Org1 in block 6); other blocks
// below its height are empty.
type fakeLedger struct {
	blocks    map[uint64]*common.Block
	byTx      map[string]uint64
	history   []ledger.HistoryItem
	receipts  map[string]*receipt.Receipt
	purges    []ledger.Generation
	purgesErr error
	height    uint64
	fetched   []uint64
	err       error
}

const key = "https://shop.example/receipt/item?id=7"

func recorded(t *testing.T) *fakeLedger {
	t.Helper()
	l, err := loadRecorded()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func loadRecorded() (*fakeLedger, error) {
	l := &fakeLedger{blocks: map[uint64]*common.Block{}, byTx: map[string]uint64{}, receipts: map[string]*receipt.Receipt{}}
	for _, name := range []string{"publish.json", "refused.json", "invalidate.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "receipt", name))
		if err != nil {
			return nil, err
		}
		r, err := receipt.Decode(b)
		if err != nil {
			return nil, err
		}
		l.blocks[r.Block.Number] = &common.Block{
			Header:   &common.BlockHeader{Number: r.Block.Number, PreviousHash: r.Block.PreviousHash, DataHash: r.Block.DataHash},
			Data:     &common.BlockData{Data: r.Block.Data},
			Metadata: &common.BlockMetadata{Metadata: r.Block.Metadata},
		}
		l.byTx[r.TxID] = r.Block.Number
		r.KeyPolicies = nil // Receipt attaches them
		l.receipts[r.TxID] = r
		if name != "refused.json" {
			l.history = append(l.history, ledger.HistoryItem{TxID: r.TxID})
		}
		l.height = max(l.height, r.Block.Number+1)
	}
	return l, nil
}

func (l *fakeLedger) History(context.Context, string) ([]ledger.HistoryItem, error) {
	return l.history, l.err
}

func (l *fakeLedger) BlockByTxID(_ context.Context, txID string) (*common.Block, error) {
	n, ok := l.byTx[txID]
	if !ok {
		return nil, fmt.Errorf("no transaction %s", txID)
	}
	return l.blocks[n], nil
}

func (l *fakeLedger) BlockByNumber(_ context.Context, n uint64) (*common.Block, error) {
	l.fetched = append(l.fetched, n)
	if n >= l.height {
		return nil, fmt.Errorf("no block %d", n)
	}
	if b, ok := l.blocks[n]; ok {
		return b, nil
	}
	return &common.Block{Header: &common.BlockHeader{Number: n}}, nil
}

func (l *fakeLedger) Receipt(_ context.Context, txID string) (*receipt.Receipt, error) {
	r, ok := l.receipts[txID]
	if !ok {
		return nil, fmt.Errorf("no transaction %s", txID)
	}
	c := *r
	return &c, nil
}

func (l *fakeLedger) Height(context.Context) (uint64, error) { return l.height, nil }

func u64(v uint64) *uint64 { return &v }

func TestTrailOfRecordedBlocks(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		want  []string // op/validation per record
		fetch int      // blocks scanned
	}{
		{"committed only", Options{}, []string{"publish/VALID", "invalidate/VALID"}, 0},
		{"with invalid", Options{IncludeInvalid: true}, []string{"publish/VALID", "invalidate/ENDORSEMENT_POLICY_FAILURE", "invalidate/VALID"}, 3},
		{"scan starts after the refusal", Options{IncludeInvalid: true, FromBlock: u64(6)}, []string{"publish/VALID", "invalidate/VALID"}, 1},
		{"scan bounded before the refusal", Options{IncludeInvalid: true, MaxBlocks: 1}, []string{"publish/VALID", "invalidate/VALID"}, 1},
		{"scan from block 0", Options{IncludeInvalid: true, FromBlock: u64(0)}, []string{"publish/VALID", "invalidate/ENDORSEMENT_POLICY_FAILURE", "invalidate/VALID"}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := recorded(t)
			recs, err := Trail(context.Background(), l, key, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("%s/%s", r.Op, r.Validation))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("trail %v, want %v", got, tt.want)
			}
			if len(l.fetched) != tt.fetch {
				t.Errorf("scanned blocks %v, want %d of them", l.fetched, tt.fetch)
			}
		})
	}
}

func TestTrailRecordFields(t *testing.T) {
	recs, err := Trail(context.Background(), recorded(t), key, Options{IncludeInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	pub, ref, inv := recs[0], recs[1], recs[2]
	if pub.Block != 4 || pub.Submitter.Org != "Org1MSP" || pub.Submitter.Role != "publisher" || pub.Version != 1 || pub.State != "VALID" || pub.Owner != "Org1MSP" {
		t.Errorf("publish record %+v", pub)
	}
	if pub.Policy.Source != "chaincode" || pub.Policy.Sets != "'Org1MSP.peer'" {
		t.Errorf("publish policy %+v, want the chaincode's, setting 'Org1MSP.peer'", pub.Policy)
	}
	for _, r := range []Record{ref, inv} {
		if r.Policy.Source != "key-level" || r.Policy.Rule != "'Org1MSP.peer'" || r.Policy.SetBy != pub.TxID {
			t.Errorf("%s policy %+v, want Org1's key-level policy set by %s", r.TxID, r.Policy, pub.TxID)
		}
		if r.Submitter.Org != "Org2MSP" || r.Submitter.Role != "invalidator" || r.Op != ledger.OpInvalidate {
			t.Errorf("record %+v, want Org2's invalidator invalidating", r)
		}
	}
	if ref.Valid || ref.Block != 5 || len(ref.Endorsers) != 1 || ref.Endorsers[0].Org != "Org2MSP" || ref.Reason != "org2 alone" {
		t.Errorf("refused record %+v, want invalid, endorsed by Org2 alone", ref)
	}
	if !inv.Valid || inv.Version != 2 || inv.State != "INVALIDATED" || inv.Reason != "partner correction" || len(inv.Endorsers) == 0 || inv.Endorsers[0].Org != "Org1MSP" {
		t.Errorf("invalidation record %+v", inv)
	}
	if !pub.Timestamp.Before(ref.Timestamp) || !ref.Timestamp.Before(inv.Timestamp) {
		t.Errorf("timestamps out of order: %v %v %v", pub.Timestamp, ref.Timestamp, inv.Timestamp)
	}
}

func TestTrailScopePurgesMerged(t *testing.T) {
	purge := Record{Block: 5, TxIndex: 1, TxID: "purge", Scope: "tag:receipt", Op: ledger.OpPurge, Valid: true}
	recs, err := Trail(context.Background(), recorded(t), key, Options{
		ScopePurges: func(context.Context, string) ([]Record, error) { return []Record{purge}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[1].TxID != "purge" || recs[1].Policy != (Policy{}) {
		t.Fatalf("trail %+v, want the scope purge second, with no policy", recs)
	}
}

func TestTrailErrors(t *testing.T) {
	l := recorded(t)
	l.err = errors.New("peer down")
	if _, err := Trail(context.Background(), l, key, Options{}); !errors.Is(err, l.err) {
		t.Errorf("history failure: got %v", err)
	}
	l = recorded(t)
	l.history = append(l.history, ledger.HistoryItem{TxID: "unknown"})
	_, err := Trail(context.Background(), l, key, Options{})
	var ae *Error
	if !errors.As(err, &ae) || ae.TxID != "unknown" {
		t.Errorf("missing block: got %v, want an *audit.Error naming the transaction", err)
	}
}

func (l *fakeLedger) ScopePurges(_ context.Context, k string) ([]ledger.Generation, error) {
	if l.purgesErr != nil {
		return nil, l.purgesErr
	}
	return l.purges, nil
}

// Each purge the contract lists is read from its block; the recorded
// invalidation's block stands in for a purge's.
func TestCoveringPurges(t *testing.T) {
	l := recorded(t)
	stand := l.history[1].TxID
	g := ledger.Generation{Purge: ledger.Purge{Scope: ledger.Scope{Kind: ledger.ScopeTag, Value: "receipt"}, Owner: "Org1MSP", Generation: 1, Reason: "reset"}, TxID: stand}
	soft := g
	soft.Generation, soft.Soft = 2, true
	tests := []struct {
		name   string
		purges []ledger.Generation
		want   int
	}{
		{"none", nil, 0},
		{"hard", []ledger.Generation{g}, 1},
		{"hard then soft", []ledger.Generation{g, soft}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.purges = tt.purges
			recs, err := Trail(context.Background(), l, key, Options{ScopePurges: CoveringPurges(l, "")})
			if err != nil {
				t.Fatal(err)
			}
			var purges []Record
			for _, r := range recs {
				if r.Scope != "" {
					purges = append(purges, r)
				}
			}
			if len(purges) != tt.want {
				t.Fatalf("%d scope purge records, want %d", len(purges), tt.want)
			}
			for i, p := range purges {
				if p.Scope != "tag:receipt" || p.Op != ledger.OpPurge || p.Reason != "reset" || p.Block != 6 || p.Submitter.Org != "Org2MSP" || p.Policy != (Policy{}) {
					t.Errorf("purge record %+v", p)
				}
				if want := []string{"INVALIDATED", "STALE"}[i]; p.State != want {
					t.Errorf("purge %d state %s, want %s", i, p.State, want)
				}
			}
		})
	}
	l.purges, l.purgesErr = nil, errors.New("peer down")
	if _, err := Trail(context.Background(), l, key, Options{ScopePurges: CoveringPurges(l, "")}); !errors.Is(err, l.purgesErr) {
		t.Errorf("a failed listing: %v", err)
	}
}
