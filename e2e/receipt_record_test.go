//go:build e2e && record

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	pb "github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/receipt"
)

// TestRecordReceipts records the receipts package's fixtures
// (testdata/receipt/, or CACHET_RECEIPT_DIR): an Org1 publish, Org2's
// invalidation of that key endorsed by both orgs (valid), Org2's
// invalidation endorsed by Org2 alone (refused at commit with
// ENDORSEMENT_POLICY_FAILURE), and the channel configuration block they
// were made under. It builds only with the record build tag.
func TestRecordReceipts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub, inv, aud := client(t, "org1", "publisher"), client(t, "org2", "invalidator"), client(t, "org1", "auditor")
	key := "https://shop.example/receipt/item?id=7"
	e, published, err := pub.Publish(ctx, gateway.PublishRequest{Key: key, ETag: `"r1"`, MaxAge: 300, Tags: []string{"receipt"}})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	height, err := aud.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Endorsed by Org2's peer alone, an invalidation fails Org1's
	// key-level policy at commit but lands in a block.
	if out, err := invoke(t, "org2", "invalidator", nil, "Invalidate", e.Key, "org2 alone", "0"); err == nil || !strings.Contains(out, "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("org2-only invalidation: %v\n%s", err, out)
	}
	refusedID := findRefused(t, ctx, aud, height)

	// Then Org2 invalidates Org1's key: the gateway gathers Org1's endorsement.
	_, invalidated, err := inv.Invalidate(ctx, e.Key, "partner correction", 1)
	if err != nil {
		t.Fatalf("cross-org invalidate: %v", err)
	}

	pubR := receiptOf(t, ctx, aud, published.TxID)
	invR := receiptOf(t, ctx, aud, invalidated.TxID)
	refR := receiptOf(t, ctx, aud, refusedID)
	for _, r := range []*receipt.Receipt{invR, refR} {
		r.KeyPolicies = []receipt.KeyPolicySource{{Key: e.Key, Receipt: pubR}}
	}
	cfg, err := aud.ConfigBlock(ctx, &common.Block{Metadata: &common.BlockMetadata{Metadata: invR.Block.Metadata}})
	if err != nil {
		t.Fatal(err)
	}
	cfgBytes, err := proto.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CACHET_RECEIPT_DIR")
	if dir == "" {
		dir = filepath.Join(root, "testdata", "receipt")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"config.block": cfgBytes}
	for name, r := range map[string]*receipt.Receipt{"publish.json": pubR, "invalidate.json": invR, "refused.json": refR} {
		b, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		files[name] = append(b, '\n')
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
	}
}

func receiptOf(t *testing.T, ctx context.Context, cl *gateway.Client, txID string) *receipt.Receipt {
	t.Helper()
	r, err := cl.Receipt(ctx, txID)
	if err != nil {
		t.Fatalf("receipt of %s: %v", txID, err)
	}
	return r
}

// findRefused returns the ID of the first transaction from block start on
// that failed its endorsement policy.
func findRefused(t *testing.T, ctx context.Context, cl *gateway.Client, start uint64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	blocks, err := cl.Blocks(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	for b := range blocks {
		txs, err := gateway.ParseBlock(b, "cachet")
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			if tx.Code == pb.TxValidationCode_ENDORSEMENT_POLICY_FAILURE {
				return tx.TxID
			}
		}
	}
	t.Fatalf("no transaction failing its endorsement policy from block %d on", start)
	return ""
}
