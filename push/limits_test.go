package push_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cachetsync/cachet/push"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestAbuseClosed(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.MaxFrameBytes = 1024; c.FramesPerSecond = 5; c.MaxChannels = 3 })
	t.Run("oversized frame", func(t *testing.T) {
		c := subscribe(t, srv.url, "", shopCh)
		c.next()
		c.sendJSON(map[string]any{"t": "ping", "pad": strings.Repeat("x", 4096)})
		if got := c.closeCode(); got != websocket.StatusMessageTooBig {
			t.Fatalf("close %d, want 1009", got)
		}
	})
	t.Run("frame rate", func(t *testing.T) {
		c := subscribe(t, srv.url, "", shopCh)
		c.next()
		for range 100 {
			c.sendJSON(map[string]any{"t": "ping"})
		}
		if got := c.closeCode(); got != websocket.StatusCode(push.CodeRateLimited) {
			t.Fatalf("close %d, want %d", got, push.CodeRateLimited)
		}
	})
	t.Run("too many channels", func(t *testing.T) {
		chs := []string{"tag:a", "tag:b", "tag:c", "tag:d"}
		c := subscribe(t, srv.url, "", chs...)
		if got := c.closeCode(); got != websocket.StatusCode(push.CodeTooManyChannels) {
			t.Fatalf("close %d, want %d", got, push.CodeTooManyChannels)
		}
	})
	t.Run("unknown frame", func(t *testing.T) {
		c := subscribe(t, srv.url, "", shopCh)
		c.next()
		c.sendJSON(map[string]any{"t": "subscribe-everything"})
		if got := c.closeCode(); got != websocket.StatusCode(push.CodeProtocol) {
			t.Fatalf("close %d, want %d", got, push.CodeProtocol)
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		h := hello(token(t, []string{shopCh}, nil), "", shopCh)
		h["v"] = 2
		c := dialWS(t, srv.url, h)
		if got := c.closeCode(); got != websocket.StatusCode(push.CodeUnsupportedVersion) {
			t.Fatalf("close %d, want %d", got, push.CodeUnsupportedVersion)
		}
	})
}

func TestConnectionLimitPerIP(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.MaxConnsPerIP = 2 })
	for range 2 {
		subscribe(t, srv.url, "", shopCh).next()
	}
	c, resp, err := websocket.Dial(context.Background(), srv.url+"/ws", nil)
	if c != nil {
		c.CloseNow()
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v %v, want 429", resp, err)
	}
}

// TestSlowConsumerDropped: a client that stops reading is disconnected,
// with or without batches, while another one on the same channel receives
// every transition.
func TestSlowConsumerDropped(t *testing.T) {
	b := startBroker(t, 1)
	// The margins let a client that reads keep up on a loaded machine (race
	// detector, parallel packages); one that never reads exhausts them anyway.
	srv := startServer(t, b, func(c *push.Config) { c.SendBuffer = 64; c.SlowDeadline = 2 * time.Second })
	fast := subscribe(t, srv.url, "", shopCh)
	fast.next()
	// The slow clients send hello, one of them asking for batches, and
	// never read.
	ctx := context.Background()
	for _, batch := range []bool{false, true} {
		slow, _, err := websocket.Dial(ctx, srv.url+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.CloseNow()
		h := hello(token(t, []string{shopCh}, nil), "", shopCh)
		h["batch"] = batch
		(&client{t: t, c: slow}).sendJSON(h)
	}
	pr := newProducer(t, b)
	big := strings.Repeat("t", 60)
	var sent []string
	for i := 0; metricValue(t, srv, `cachet_push_drops_total{reason="slow-consumer"}`) < 2; i++ {
		if i > 400 {
			t.Fatal("slow consumer never dropped")
		}
		batch := keysFor("slow"+big, 50)
		for j := range batch {
			batch[j] += "/" + strings.Repeat("p", 2000) + "/" + string(rune('a'+i%26))
		}
		sent = append(sent, trKeys(pr.sendMany(batch))...)
	}
	sameSet(t, "fast client", fast.collect(len(sent)), sent)
}
