//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	pb "github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// TestConflictsReachKafkaOnce races invalidations of one key from both
// orgs (MVCC read conflicts) and has Org2 invalidate Org1's key with
// Org2's endorsement alone (an endorsement policy failure), with the relay
// running as `cachet dev` runs it: every invalid transaction of those
// blocks, as the ledger's own validation flags list them, is on
// cachet.conflicts exactly once, keyed by the key, with its validation
// code, creator and position.
func TestConflictsReachKafkaOnce(t *testing.T) {
	ctx := ctxT(t)
	pub, aud := client(t, "org1", "publisher"), client(t, "org1", "auditor")
	writers := []*gateway.Client{client(t, "org1", "invalidator"), client(t, "org2", "invalidator")}
	hot := fmt.Sprintf("https://shop.example/conflict-%d", time.Now().UnixNano())
	_, done, err := pub.Publish(ctx, gateway.PublishRequest{Key: hot, MaxAge: 60})
	if err != nil {
		t.Fatal(err)
	}
	start := done.Block + 1
	stack := startDevStack(t, start, "")

	// Race until the ledger holds an MVCC conflict (the first round almost
	// always does; the gateway retries the losers, each a transaction).
	var want map[string]gateway.Transaction
	var last uint64
	for round := 0; ; round++ {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() { writers[i%2].Invalidate(ctx, hot, fmt.Sprintf("race %d", round), 0) })
		}
		wg.Wait()
		if _, done, err = pub.Publish(ctx, gateway.PublishRequest{Key: hot + "-mark", MaxAge: 60}); err != nil {
			t.Fatal(err)
		}
		last = done.Block
		if want = refusedBetween(t, ctx, aud, start, last); codes(want)[record.CodeMVCCReadConflict] > 0 {
			break
		}
		if round == 4 {
			t.Fatalf("no MVCC conflict in 5 rounds of 16 concurrent writers: %v", codes(want))
		}
	}
	if out, err := invoke(t, "org2", "invalidator", nil, "Invalidate", hot, "org2 alone", "0"); err == nil || !strings.Contains(out, "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("org2-only invalidation: %v\n%s", err, out)
	}
	if _, done, err = pub.Publish(ctx, gateway.PublishRequest{Key: hot + "-end", MaxAge: 60}); err != nil {
		t.Fatal(err)
	}
	want = refusedBetween(t, ctx, aud, start, done.Block)
	if n := codes(want); n[record.CodeEndorsementPolicyFailure] != 1 || n[record.CodeMVCCReadConflict] == 0 {
		t.Fatalf("refused transactions on the ledger by code: %v, want MVCC conflicts and one endorsement policy failure", n)
	}

	c, err := kafka.NewConsumer(kafka.Config{Brokers: stack.brokers, ClientID: "conflicts-e2e-check"}, fmt.Sprint("conflicts-e2e-check-", time.Now().UnixNano()), "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicConflicts}, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var quietUntil time.Time
	for deadline := time.Now().Add(time.Minute); quietUntil.IsZero() || time.Now().Before(quietUntil); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d conflicts reached %s", len(seen), len(want), record.TopicConflicts)
		}
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		got, err := record.DecodeConflict(m.Value)
		if err != nil {
			t.Fatalf("record at %s[%d]@%d: %v", m.Topic, m.Partition, m.Offset, err)
		}
		if got.Block > done.Block {
			continue // after the blocks checked
		}
		seen[got.TxID]++
		tx, ok := want[got.TxID]
		switch {
		case !ok:
			t.Errorf("conflict record of %s, not a refused transaction of blocks %d..%d", got.TxID, start, done.Block)
		case got.Code != tx.Code.String() || !slices.Equal(got.Keys, []string{hot}) || got.Position != tx.Position ||
			string(m.Key) != hot || string(m.Header(record.HeaderBlock)) != fmt.Sprint(tx.Position.Block) || got.Timestamp.IsZero():
			t.Errorf("record %+v keyed %q, want %s of %s at %s", got, m.Key, tx.Code, hot, tx.Position)
		case got.Code == record.CodeEndorsementPolicyFailure && got.Creator != "Org2MSP",
			got.Creator != "Org1MSP" && got.Creator != "Org2MSP":
			t.Errorf("%s by %q", got.Code, got.Creator)
		}
		if len(seen) == len(want) && quietUntil.IsZero() {
			quietUntil = time.Now().Add(2 * time.Second) // then wait for repeats
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s (%s) read %d times, want once", id, want[id].Code, seen[id])
		}
	}
	t.Logf("%d refused transactions (%v) on %s once each", len(want), codes(want), record.TopicConflicts)
}

// refusedBetween returns the invalid transactions in blocks from..to (all
// of the contract's), by transaction ID, as the blocks' validation flags
// mark them.
func refusedBetween(t testing.TB, ctx context.Context, cl *gateway.Client, from, to uint64) map[string]gateway.Transaction {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	blocks, err := cl.Blocks(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]gateway.Transaction{}
	for b := range blocks {
		txs, err := gateway.ParseBlock(b, "cachet")
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			if tx.Code != pb.TxValidationCode_VALID {
				out[tx.TxID] = tx
			}
		}
		if b.GetHeader().GetNumber() >= to {
			return out
		}
	}
	t.Fatalf("block stream ended before block %d", to)
	return nil
}

// codes counts transactions by validation code.
func codes(txs map[string]gateway.Transaction) map[string]int {
	n := map[string]int{}
	for _, tx := range txs {
		n[tx.Code.String()]++
	}
	return n
}
