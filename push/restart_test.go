package push_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cachetsync/cachet/push"
)

// TestRestartWhileProducing closes the push server while transitions keep
// coming, starts a new instance, and checks that the client, resuming from
// its last position, receives every transition exactly once.
func TestRestartWhileProducing(t *testing.T) {
	b := startBroker(t, 3)
	pr := newProducer(t, b)
	const total, batch = 300, 10
	var mu sync.Mutex
	var sent []string
	release := make(chan struct{}, total/batch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total/batch; i++ {
			<-release
			trs := pr.sendMany(keysFor(fmt.Sprintf("r%d", i), batch))
			mu.Lock()
			sent = append(sent, trKeys(trs)...)
			mu.Unlock()
		}
	}()
	srv := startServer(t, b, func(c *push.Config) { c.Window = 32 })
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	seen := map[string]int{}
	var pos string
	receive := func(n int) {
		for _, m := range c.collect(n) {
			seen[fmt.Sprintf("%s@%d", m.Key, m.Version)]++
			pos = m.Pos
		}
	}
	for i := 0; i < 10; i++ { // 100 transitions through the first instance
		release <- struct{}{}
		receive(batch)
	}
	for i := 0; i < 10; i++ { // 100 more produced while it goes down
		release <- struct{}{}
	}
	srv.stop()
	if code := c.closeCode(); code != websocket.StatusCode(push.CodeShutdown) {
		t.Fatalf("close %d, want %d (shutdown)", code, push.CodeShutdown)
	}
	time.Sleep(100 * time.Millisecond)
	srv2 := startServer(t, b, func(c *push.Config) { c.Window = 32 })
	c = subscribe(t, srv2.url, pos, shopCh)
	if w := c.next(); w.T != "welcome" || !w.Resumed {
		t.Fatalf("got %+v, want resumed welcome", w)
	}
	for i := 0; i < 10; i++ { // the rest, live
		release <- struct{}{}
	}
	<-done
	receive(total - 100)
	mu.Lock()
	defer mu.Unlock()
	for _, k := range sent {
		if seen[k] != 1 {
			t.Errorf("%s delivered %d times, want once", k, seen[k])
		}
	}
	if len(seen) != total {
		t.Fatalf("received %d distinct transitions, want %d", len(seen), total)
	}
}
