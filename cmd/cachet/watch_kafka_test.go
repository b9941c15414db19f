package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// TestWatchKafka prints committed transitions once each: a repeated record
// and an older version of a key are dropped.
func TestWatchKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := testBroker(t, 1)
	p := testProducer(t, b)
	topic := record.TopicTransitions
	reports := make(chan kafka.Delivery, 5)
	for _, v := range []uint64{1, 2, 2, 1, 3} { // a repeat of 2, then 1 again
		val, _ := record.Transition{Channel: "cachet", Position: record.Position{Block: 10 + v, TxIndex: 0}, TxID: "tx", Key: "img:w",
			Version: v, State: record.StateInvalidated, Owner: "Org1MSP", Actor: "Org2MSP", Reason: "why"}.Marshal()
		p.Produce(&kafka.Message{Topic: topic, Partition: 0, Key: []byte("img:w"), Value: val}, reports)
	}
	for range 5 {
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
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "v3"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %q", out.String())
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
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
