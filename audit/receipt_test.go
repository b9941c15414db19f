package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachetsync/cachet/receipt"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

func trust(t *testing.T) receipt.Trust {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "receipt", "config.block"))
	if err != nil {
		t.Fatal(err)
	}
	var blk common.Block
	if err := proto.Unmarshal(b, &blk); err != nil {
		t.Fatal(err)
	}
	cfg, err := receipt.ParseConfigBlock(&blk)
	if err != nil {
		t.Fatal(err)
	}
	return receipt.Trust{Config: cfg}
}

// The receipts Receipt makes verify offline without the chaincode's
// policy: the publish sets its own, the invalidations carry the publish's
// receipt as the source of Org1's key-level policy.
func TestReceiptAttachesPolicySource(t *testing.T) {
	l := recorded(t)
	pub := l.history[0].TxID
	tests := []struct {
		name    string
		version uint64
		txID    string
		sources int
		check   receipt.Check // "" proven
	}{
		{"publish", 1, "", 0, ""},
		{"invalidation", 2, "", 1, ""},
		{"refused", 0, "a77f6814d5d4ac0494b5775a2bdf285971417e5f7be385550bf5a50b642a8696", 1, receipt.CheckValidationFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			txID := tt.txID
			if txID == "" {
				var err error
				if txID, err = Resolve(ctx, l, key, tt.version, Options{}); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Receipt(ctx, l, txID, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.KeyPolicies) != tt.sources || (tt.sources > 0 && r.KeyPolicies[0].Receipt.TxID != pub) {
				t.Fatalf("policy sources %+v, want %d naming %s", r.KeyPolicies, tt.sources, pub)
			}
			_, err = receipt.Verify(r, trust(t))
			var ce *receipt.CheckError
			if tt.check == "" && err != nil || tt.check != "" && (!errors.As(err, &ce) || ce.Check != tt.check) {
				t.Errorf("verify: %v, want check %q", err, tt.check)
			}
		})
	}
}

func TestResolveUnknownVersion(t *testing.T) {
	_, err := Resolve(context.Background(), recorded(t), key, 9, Options{})
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Version != 9 {
		t.Fatalf("got %v, want a *NotFoundError of version 9", err)
	}
}
