package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// TestAnalyticsEndToEnd produces generated transitions and reads to a real
// Kafka-protocol broker over TCP, runs `cachet analytics run` in process,
// and checks the advice records it publishes.
func TestAnalyticsEndToEnd(t *testing.T) {
	broker, err := embedded.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	brokers := broker.Addr()

	p, err := kafka.NewProducer(kafka.Config{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reports := make(chan kafka.Delivery, 1024)
	go func() {
		for d := range reports {
			if d.Err != nil {
				t.Errorf("delivery: %v", d.Err)
			}
		}
	}()
	send := func(topic, key string, v []byte) {
		if err := p.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(key), Value: v}, reports); err != nil {
			t.Fatal(err)
		}
	}
	const hot, shared, cold = "https://shop.example/cart", "https://shop.example/price", "https://shop.example/about"
	t0 := time.Now().Add(-20 * time.Minute)
	for i := 1; i <= 120; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Second) // hot: one write every 10 s
		tr, _ := record.Transition{TxID: fmt.Sprint("h", i), Key: hot, Version: uint64(i), State: record.StateValid,
			Timestamp: at, Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 600}.Marshal()
		send(record.TopicTransitions, hot, tr)
		org := []string{"Org1MSP", "Org2MSP"}[i%2] // shared: two orgs, one write each 2 s
		tr, _ = record.Transition{TxID: fmt.Sprint("s", i), Key: shared, Version: uint64(i), State: record.StateValid,
			Timestamp: time.Now().Add(-time.Duration(240-2*i) * time.Second), Owner: "Org1MSP", Actor: org, MaxAge: 60}.Marshal()
		send(record.TopicTransitions, shared, tr)
	}
	tr, _ := record.Transition{TxID: "c1", Key: cold, Version: 1, State: record.StateValid, Timestamp: t0,
		Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 3600}.Marshal()
	send(record.TopicTransitions, cold, tr)
	send(record.TopicTransitions, "junk", []byte(`{"v":1,"key":`)) // malformed
	if left := p.Flush(30 * time.Second); left != 0 {
		t.Fatalf("%d records not delivered", left)
	}
	// The two topics are consumed independently; reads that arrive before
	// their key's writes are tracked too (TestDevRunsAnalytics sends them
	// first). Here the reads go out once the daemon has advised on the hot
	// key, so that its advice settles on the writes and the reads together.
	sendReads := func() {
		for i := 1; i <= 120; i++ {
			rd, _ := record.Read{Kind: record.ReadHit, Key: hot, Client: fmt.Sprint("c", i%7), At: t0.Add(time.Duration(i) * 10 * time.Second)}.Marshal()
			send(record.TopicReads, hot, rd)
		}
		send(record.TopicReads, "junk", []byte(`{"v":1,"kind":"hit","key":"x","at":"1970-01-01T00:00:00Z"}`)) // absurd time
		if left := p.Flush(30 * time.Second); left != 0 {
			t.Fatalf("%d read records not delivered", left)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var out strings.Builder
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = runAnalytics(ctx, []string{"run", "--brokers", brokers, "--engine", "auto", "--interval", "200ms", "--group", "e2e"}, &out)
	}()
	defer func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("analytics run: %v", runErr)
		}
		if !strings.Contains(out.String(), "engine cpu") && !strings.Contains(out.String(), "engine cuda") {
			t.Errorf("run did not report its engine: %q", out.String())
		}
	}()

	c, err := kafka.NewConsumer(kafka.Config{Brokers: brokers}, "e2e-check", "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicAdvice}, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]record.Advice{}
	deadline := time.Now().Add(90 * time.Second)
	done := func() bool { // advice is republished as more records arrive: wait for the settled state
		h, s := got[hot], got[shared]
		return h.Action == record.ActionInvalidateEarly && s.Action == record.ActionBatch && got[cold].Key != ""
	}
	readsSent := false
	for time.Now().Before(deadline) && !done() {
		if !readsSent && got[hot].Key != "" {
			sendReads()
			readsSent = true
		}
		m, ok := c.Poll(200 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		a, err := record.DecodeAdvice(m.Value)
		if err != nil {
			t.Fatalf("advice record does not decode: %v", err)
		}
		got[a.Key] = a
	}
	if a := got[hot]; a.Action != record.ActionInvalidateEarly || a.RecommendedMaxAge == 0 || a.RecommendedMaxAge >= 600 {
		t.Errorf("hot key advice %+v: want invalidate-early and a max-age under its 600 s", a)
	}
	if a := got[shared]; !(a.ConflictRisk > 0) || a.Action != record.ActionBatch {
		t.Errorf("key written by two orgs: %+v, want conflict risk > 0 and batch", a)
	}
	if a := got[cold]; a.Key == "" || a.ConflictRisk != 0 {
		t.Errorf("cold key advice %+v: want advice with no conflict risk", a)
	}
	if _, ok := got["x"]; ok {
		t.Error("advice for a key only seen in a bad read")
	}
	var top strings.Builder
	if err := runAnalytics(ctx, []string{"top", "--brokers", brokers, "--by", "conflict", "-n", "1", "--wait", "2s"}, &top); err != nil {
		t.Fatalf("analytics top: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(top.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], shared) {
		t.Errorf("top by conflict:\n%s\nwant a header and the shared key", top.String())
	}

	// The ledger refuses a third of the writes of a key that clients of
	// one org race: the closed form, which counts collisions between orgs
	// only, sees no risk, but cachet.conflicts teaches the conflict model,
	// and the key's advice carries the fitted risk.
	const raced = "https://shop.example/raced"
	t1 := time.Now().Add(-2 * time.Minute)
	for i := 1; i <= 300; i++ {
		at, org := t1.Add(time.Duration(i)*200*time.Millisecond), "Org1MSP"
		if i%3 == 0 {
			cf, _ := record.Conflict{TxID: fmt.Sprint("r", i), Timestamp: at, Code: record.CodeMVCCReadConflict, Keys: []string{raced}, Creator: org}.Marshal()
			send(record.TopicConflicts, raced, cf)
			continue
		}
		tr, _ := record.Transition{TxID: fmt.Sprint("r", i), Key: raced, Version: uint64(i), State: record.StateValid,
			Timestamp: at, Owner: "Org1MSP", Actor: org, MaxAge: 60}.Marshal()
		send(record.TopicTransitions, raced, tr)
	}
	if left := p.Flush(30 * time.Second); left != 0 {
		t.Fatalf("%d records not delivered", left)
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && !(got[raced].ConflictRisk > 0.15 && got[raced].Action == record.ActionBatch); {
		if m, ok := c.Poll(200 * time.Millisecond).(*kafka.Message); ok {
			if a, err := record.DecodeAdvice(m.Value); err == nil {
				got[a.Key] = a
			}
		}
	}
	if a := got[raced]; !(a.ConflictRisk > 0.15) || a.Action != record.ActionBatch {
		t.Errorf("raced key advice %+v: want batch with the fitted conflict risk", a)
	}
}
