//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/ledger"
	pushclient "github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/record"
)

// TestScopePurgeReachesPush purges a tag through the gateway with the relay
// and push running as `cachet dev` runs them: the relay writes one record
// to cachet.purges (not one per key), and a WebSocket client of the tag
// channel and one of the origin channel each get exactly one purge frame
// naming the committed generation and transaction.
func TestScopePurgeReachesPush(t *testing.T) {
	ctx := ctxT(t)
	admin, pub := client(t, "org1", "admin"), client(t, "org1", "publisher")
	suffix := time.Now().UnixNano()
	host, tag := fmt.Sprintf("purge-stream-%d.example", suffix), fmt.Sprintf("purge-stream-%d", suffix)
	if _, _, err := admin.ClaimHost(ctx, host); err != nil {
		t.Fatalf("claim %s: %v", host, err)
	}
	site := "https://" + host
	var last gateway.Committed
	for i := range 5 {
		var err error
		if _, last, err = pub.Publish(ctx, gateway.PublishRequest{Key: fmt.Sprintf("%s/p/%d", site, i), MaxAge: 60, Tags: []string{tag}}); err != nil {
			t.Fatal(err)
		}
	}
	stack := startDevStack(t, last.Block+1, "")
	byTag := subscribe(t, ctx, stack.push, "tag:"+tag)
	byOrigin := subscribe(t, ctx, stack.push, "origin:"+site)

	purge, done, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopeTag, Value: tag}, Reason: "e2e stream"})
	if err != nil || purge.Generation < 1 || purge.TxID != done.TxID {
		t.Fatalf("purge tag: %+v %+v %v", purge, done, err)
	}
	for name, frames := range map[string]<-chan pushclient.Frame{"tag channel": byTag, "origin channel": byOrigin} {
		var got []*record.Generation
		quiet := time.After(30 * time.Second)
	collect:
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("%s: connection closed", name)
				}
				if f.Purge != nil {
					got = append(got, f.Purge)
					if f.Pos == "" {
						t.Errorf("%s: purge frame without a position", name)
					}
					quiet = time.After(2 * time.Second) // then wait for repeats
				}
			case <-quiet:
				break collect
			}
		}
		if len(got) != 1 || got[0].TxID != done.TxID || got[0].Generation != purge.Generation ||
			got[0].Scope != (record.Scope{Kind: record.ScopeTag, Value: tag}) || got[0].Owner != "Org1MSP" || got[0].Block != done.Block {
			t.Fatalf("%s: got %d purge frames %+v, want one of tx %s generation %d", name, len(got), got, done.TxID, purge.Generation)
		}
	}

	c, err := kafka.NewConsumer(kafka.Config{Brokers: stack.brokers, ClientID: "purge-e2e-check"}, fmt.Sprint("purge-e2e-check-", suffix), "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicPurges}, nil); err != nil {
		t.Fatal(err)
	}
	var records int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		g, err := record.DecodeGeneration(m.Value)
		if err != nil {
			t.Fatalf("record at %s[%d]@%d: %v", m.Topic, m.Partition, m.Offset, err)
		}
		if g.TxID == done.TxID {
			records++
			if string(m.Key) != "tag:"+tag || string(m.Header(record.HeaderBlock)) != fmt.Sprint(done.Block) {
				t.Errorf("record key %q block header %q, want tag:%s and %d", m.Key, m.Header(record.HeaderBlock), tag, done.Block)
			}
		}
	}
	if records != 1 {
		t.Fatalf("%d records of tx %s on %s, want 1", records, done.TxID, record.TopicPurges)
	}
}
