package push_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/cachetsync/cachet/push"
)

// raws returns the frames as received, one per line.
func raws(ms []msg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Raw)
	}
	return out
}

// sameFrames fails unless a client with batches and one without received
// the same frames, byte for byte, in the same order.
func sameFrames(t *testing.T, what string, plain, batched []msg) {
	t.Helper()
	p, b := raws(plain), raws(batched)
	if !slices.Equal(p, b) {
		for i := range min(len(p), len(b)) {
			if p[i] != b[i] {
				t.Fatalf("%s: frame %d differs:\nplain   %s\nbatched %s", what, i, p[i], b[i])
			}
		}
		t.Fatalf("%s: %d frames plain, %d batched", what, len(p), len(b))
	}
}

// TestBatchLiveSameFrames: while 1,000 transitions flow, a client that
// asked for batches receives exactly the frames of one that did not, in
// the same order with the same positions; so does advice. Without the
// capability every message is one frame (the test client fails on a
// message that is not one JSON value).
func TestBatchLiveSameFrames(t *testing.T) {
	b := startBroker(t, 3)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	plain := subscribe(t, srv.url, "", shopCh)
	batched := subscribeBatch(t, srv.url, "", shopCh)
	plain.next()
	batched.next()

	sent := pr.sendMany(keysFor("live", 1000))
	got := plain.collect(len(sent))
	sameSet(t, "plain", got, trKeys(sent))
	sameFrames(t, "live", got, batched.collect(len(sent)))

	// Advice and transitions are two topics: either may come first, but
	// both clients get them in the server's one order.
	pr.sendAdvice(advice("https://shop.example/live/7", 30), nil)
	last := pr.send("https://shop.example/last")
	two := []msg{plain.next(), plain.next()}
	seen := map[string]string{two[0].T: two[0].Key, two[1].T: two[1].Key}
	if seen["advice"] != "https://shop.example/live/7" || seen["transition"] != last.Key {
		t.Fatalf("plain got %v, want the advice for live/7 and the transition of %s", seen, last.Key)
	}
	sameFrames(t, "advice", two, []msg{batched.next(), batched.next()})
	if n := plain.messages.Load(); n != 1003 { // welcome, 1,000 transitions, advice, last
		t.Errorf("plain client read %d messages, want one per frame (1003)", n)
	}
	t.Logf("batched client: 1003 frames in %d messages", batched.messages.Load())
}

// TestBatchResumeReplay: two clients resume from the same position, one
// with batches: both get the resumed welcome, the same replayed frames and
// then the same live ones. The replay is longer than half the send buffer,
// so it is written while the session is still being subscribed; what was
// queued before each write is merged for the batched client.
func TestBatchResumeReplay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		window  int
		outcome string
	}{{"window", 4096, "window"}, {"kafka", 4, "kafka"}} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, 1) // one partition: the replay's order is the log's
			srv := startServer(t, b, func(c *push.Config) { c.Window = tc.window })
			pr := newProducer(t, b)
			c := subscribe(t, srv.url, "", shopCh)
			c.next()
			pr.sendMany(keysFor("a", 10))
			pos := c.collect(10)[9].Pos
			c.c.CloseNow()

			// More than the send buffer's room: the replay waits for the
			// client to read while it is being subscribed.
			missed := pr.sendMany(keysFor("missed", 1000))
			eventually(t, "the server consumed the records", func() bool { return metricValue(t, srv, "cachet_push_consumed_total") == 1010 })
			plain := subscribe(t, srv.url, pos, shopCh)
			batched := subscribeBatch(t, srv.url, pos, shopCh)
			for _, r := range []*client{plain, batched} {
				if w := r.next(); w.T != "welcome" || !w.Resumed {
					t.Fatalf("got %+v, want a resumed welcome", w)
				}
			}
			got := plain.collect(len(missed))
			sameSet(t, "replay", got, trKeys(missed))
			replay := batched.collect(len(missed))
			sameFrames(t, "replay", got, replay)
			if last := replay[len(replay)-1].Message; last >= len(missed)/2 {
				t.Errorf("batched replay took %d messages for %d frames, want them merged", last+1, len(missed)+1)
			}

			live := pr.sendMany(keysFor("live", 50))
			sameFrames(t, "live after the replay", plain.collect(len(live)), batched.collect(len(live)))
			if n := metricValue(t, srv, `cachet_push_resumes_total{outcome="`+tc.outcome+`"}`); n != 2 {
				t.Fatalf("resumes{%s} = %v, want 2", tc.outcome, n)
			}
		})
	}
}

// TestBatchReset: a batched client whose position cannot be resumed gets
// its welcome and reset merged into one message, in that order, and then
// live transitions from the reset position.
func TestBatchReset(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	r := subscribeBatch(t, srv.url, "p1~zz", shopCh)
	w, reset := r.next(), r.next()
	if w.T != "welcome" || w.Resumed || reset.T != "reset" || reset.Reason != push.ResetPosition {
		t.Fatalf("got %+v then %+v, want a welcome (not resumed) then reset %s", w, reset, push.ResetPosition)
	}
	if w.Message != 0 || reset.Message != 0 {
		t.Fatalf("welcome in message %d, reset in %d: want both in the first", w.Message, reset.Message)
	}
	if !bytes.Equal(reset.Raw, []byte(fmt.Sprintf(`{"t":"reset","reason":"position","pos":"%s"}`, reset.Pos))) {
		t.Fatalf("reset frame %s", reset.Raw)
	}
	tr := pr.send("https://shop.example/after")
	if m := r.next(); m.Key != tr.Key {
		t.Fatalf("after the reset got %+v, want %s", m, tr.Key)
	}
}
