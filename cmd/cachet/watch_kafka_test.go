package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// TestWatchKafka prints committed transitions, scope purges and conflicts
// once each: a repeated record and an older version of a key (generation
// of a scope) are dropped.
func TestWatchKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := testBroker(t, 1)
	p := testProducer(t, b)
	topic := record.TopicTransitions
	reports := make(chan kafka.Delivery, 8)
	for _, v := range []uint64{1, 2, 2, 1, 3} { // a repeat of 2, then 1 again
		val, _ := record.Transition{Channel: "cachet", Position: record.Position{Block: 10 + v, TxIndex: 0}, TxID: "tx", Key: "img:w",
			Version: v, State: record.StateInvalidated, Owner: "Org1MSP", Actor: "Org2MSP", Reason: "why"}.Marshal()
		p.Produce(&kafka.Message{Topic: topic, Partition: 0, Key: []byte("img:w"), Value: val}, reports)
	}
	for _, gen := range []uint64{1, 1, 2} {
		val, _ := record.Generation{V: record.Version, Channel: "cachet", Position: record.Position{Block: 20 + gen}, TxID: "tp", Actor: "Org1MSP",
			Purge: record.Purge{Scope: record.Scope{Kind: record.ScopeTag, Value: "catalog"}, Owner: "Org1MSP", Generation: gen, Soft: true}}.Marshal()
		p.Produce(&kafka.Message{Topic: record.TopicPurges, Partition: 0, Key: []byte("tag:catalog"), Value: val}, reports)
	}
	for range 2 { // a repeat
		val, _ := record.Conflict{Channel: "cachet", Position: record.Position{Block: 12, TxIndex: 1}, TxID: "lost", Code: record.CodeMVCCReadConflict,
			Timestamp: time.Date(2026, 11, 25, 6, 41, 0, 0, time.UTC), Keys: []string{"img:w"}, Creator: "Org2MSP"}.Marshal()
		p.Produce(&kafka.Message{Topic: record.TopicConflicts, Partition: 0, Key: []byte("img:w"), Value: val}, reports)
	}
	for range 10 {
		if d := <-reports; d.Err != nil {
			t.Fatal(d.Err)
		}
	}
	var out syncBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cachet(wctx, []string{"watch", "--kafka", "--brokers", b.Addr(), "--from-beginning"}, &out)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "v3") || !strings.Contains(out.String(), "generation 2") || !strings.Contains(out.String(), "CONFLICT"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %q", out.String())
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var lines, purges, conflicts []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		switch {
		case strings.Contains(l, "PURGE"):
			purges = append(purges, l)
		case strings.Contains(l, "CONFLICT"):
			conflicts = append(conflicts, l)
		default:
			lines = append(lines, l)
		}
	}
	if len(conflicts) != 1 || conflicts[0] != "12:1     CONFLICT    img:w  MVCC_READ_CONFLICT  by Org2MSP  tx lost" {
		t.Fatalf("printed conflicts:\n%s", out.String())
	}
	if len(purges) != 2 || !strings.Contains(purges[0], "tag:catalog  generation 1  soft=true  owner Org1MSP") ||
		!strings.HasPrefix(purges[1], "22:0 ") {
		t.Fatalf("printed purges:\n%s", out.String())
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "11:0 ") || !strings.Contains(lines[1], "img:w  v2  owner Org1MSP  by Org2MSP  why") ||
		!strings.Contains(lines[2], "INVALIDATED") {
		t.Fatalf("printed:\n%s", out.String())
	}
}

func TestDevRelayNeedsAReadableProfile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out syncBuffer
	err := cachet(ctx, []string{"dev", "--port", "0", "--push-listen", "", "--origin-listen", "", "--relay-profile", t.TempDir() + "/missing.json"}, &out)
	if err == nil || !strings.Contains(err.Error(), "relay") {
		t.Fatalf("err = %v, want the relay service's failure; output %q", err, out.String())
	}
}
