package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// TestDevRunsAnalytics starts `cachet dev` with only the analytics daemon,
// produces live transitions and reads (reads first, as the two topics may
// deliver them), and checks that `cachet analytics top` on the dev broker
// shows the hot key first.
func TestDevRunsAnalytics(t *testing.T) {
	ctx, out := startDev(t, "--port", "0", "--push-listen", "", "--origin-listen", "", "--analytics-engine", "auto", "--analytics-interval", "200ms")
	re := regexp.MustCompile(`embedded broker on (127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "analytics: started") {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatalf("no broker address or analytics start line: %q", out.String())
	}
	p, err := kafka.NewProducer(kafka.Config{Brokers: addr})
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
	const hot, calm = "https://shop.example/dev-hot", "https://shop.example/dev-calm"
	t0 := time.Now().Add(-10 * time.Minute)
	for i := 1; i <= 60; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		rd, _ := record.Read{Kind: record.ReadHit, Key: hot, Client: fmt.Sprint("c", i%5), At: at}.Marshal()
		send(record.TopicReads, hot, rd)
	}
	for i := 1; i <= 60; i++ {
		tr, _ := record.Transition{TxID: fmt.Sprint("h", i), Key: hot, Version: uint64(i), State: record.StateValid,
			Timestamp: t0.Add(time.Duration(i) * 10 * time.Second), Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 600}.Marshal()
		send(record.TopicTransitions, hot, tr)
	}
	tr, _ := record.Transition{TxID: "c1", Key: calm, Version: 1, State: record.StateValid, Timestamp: t0, Owner: "Org1MSP", MaxAge: 60}.Marshal()
	send(record.TopicTransitions, calm, tr)
	if left := p.Flush(30 * time.Second); left != 0 {
		t.Fatalf("%d records not delivered", left)
	}
	var top string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		var b strings.Builder
		if err := runAnalytics(ctx, []string{"top", "--brokers", addr, "-n", "2", "--wait", "1s"}, &b); err != nil {
			t.Fatalf("analytics top: %v", err)
		}
		top = b.String()
		lines := strings.Split(strings.TrimSpace(top), "\n")
		if len(lines) == 3 && strings.HasPrefix(lines[1], hot) && strings.Contains(lines[1], "invalidate-early") {
			return
		}
	}
	t.Errorf("analytics top on the dev broker:\n%s\nwant the hot key first, advised invalidate-early", top)
}

// startDev runs `cachet dev` with args until the test ends (stopping it
// then, and failing the test if it errs or does not stop within a minute)
// and returns a context that lives as long and the command's output.
func startDev(t *testing.T, args ...string) (context.Context, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- cachet(ctx, append([]string{"dev"}, args...), out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("cachet dev: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("cachet dev did not stop")
		}
	})
	return ctx, out
}
