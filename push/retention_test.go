package push_test

import (
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cachetsync/cachet/push"
)

// TestConsumerPastRetention: when records are deleted before the push
// server read them (retention outran a lagging consumer), it does not skip
// them silently: every subscriber gets reset (retention), delivery goes on
// from the first record still kept, and a resume from before the gap is
// reset too. The broker holds the server's fetch while the records go.
func TestConsumerPastRetention(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.AdviceTopic = "-" }) // its only fetching consumer is the main one
	pr := newProducer(t, b)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	pr.sendMany(keysFor("a", 3))
	oldPos := c.collect(3)[2].Pos

	cl := b.Cluster()
	var hold atomic.Bool
	hold.Store(true)
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	cl.ControlKey(kmsg.Fetch.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		if hold.Load() {
			select {
			case held <- struct{}{}:
			default:
			}
			cl.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	<-held // the server's next fetch (for offset 3) waits
	sent := pr.sendMany(keysFor("b", 10))
	deleteRecordsBefore(t, b, 0, 8) // offsets 3..7 go unread
	hold.Store(false)
	close(release)

	m := c.next()
	if m.T != "reset" || m.Reason != push.ResetRetention {
		t.Fatalf("got %+v, want reset (retention)", m)
	}
	if p, err := push.ParsePosition(m.Pos); err != nil || p.Offsets[0] != 8 {
		t.Fatalf("reset position %q, want offset 8 (the first record kept)", m.Pos)
	}
	sameSet(t, "after the reset", c.collect(5), trKeys(sent[5:]))
	if n := metricValue(t, srv, "cachet_push_retention_resets_total"); n != 1 {
		t.Fatalf("retention resets = %v, want 1", n)
	}
	// The replay window no longer vouches for the gap.
	r := subscribe(t, srv.url, oldPos, shopCh)
	if w := r.next(); w.T != "welcome" || w.Resumed {
		t.Fatalf("got %+v, want a welcome that is not resumed", w)
	}
	if m := r.next(); m.T != "reset" || m.Reason != push.ResetRetention {
		t.Fatalf("resume from before the gap: got %+v, want reset (retention)", m)
	}
}
