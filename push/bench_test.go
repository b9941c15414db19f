package push_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cachetsync/cachet/push"
)

// BenchmarkFanOut measures deliveries per second from one Kafka topic to N
// WebSocket subscribers of one channel on loopback: the clock runs from the
// first record produced until every subscriber has read every transition.
// Each iteration produces 200 transitions.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchFanOut(b, n, 200) })
	}
}

func benchFanOut(b *testing.B, subscribers, perIter int) {
	br := startBroker(b, 6)
	srv := startServer(b, br, func(c *push.Config) {
		c.MaxConnsPerIP = subscribers + 10
		c.SendBuffer = 4096
		c.SlowDeadline = time.Minute
	})
	tok := token(b, []string{shopCh}, nil)
	var received atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	marker := []byte(`"t":"transition"`)
	for i := 0; i < subscribers; i++ {
		c, _, err := websocket.Dial(ctx, srv.url+"/ws", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		cl := &client{t: b, c: c}
		cl.sendJSON(hello(tok, "", shopCh))
		if _, data, err := c.Read(ctx); err != nil || !bytes.Contains(data, []byte(`"welcome"`)) {
			b.Fatalf("subscriber %d: %s %v", i, data, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				if bytes.Contains(data, marker) {
					received.Add(1)
				}
			}
		}()
	}
	pr := newProducer(b, br)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		pr.sendMany(keysFor(fmt.Sprintf("bench%d", i), perIter))
	}
	want := int64(b.N * perIter * subscribers)
	for received.Load() < want {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("received %d of %d deliveries", received.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/el.Seconds(), "deliveries/s")
	b.ReportMetric(0, "ns/op")
	cancel()
}
