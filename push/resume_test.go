package push_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cachetsync/cachet/push"
)

// keysFor returns n distinct shop keys with a prefix.
func keysFor(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://shop.example/%s/%d", prefix, i)
	}
	return out
}

func sameSet(t *testing.T, what string, got []msg, want []string) {
	t.Helper()
	g := keys(got)
	slices.Sort(g)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %d %v, want %d %v", what, len(g), g, len(w), w)
	}
}

// resumeCase: receive a first batch, disconnect, miss a second batch,
// reconnect with the last position: exactly the second batch arrives, then
// live ones, nothing repeated.
func resumeCase(t *testing.T, window int, wantOutcome string) {
	b := startBroker(t, 3)
	srv := startServer(t, b, func(c *push.Config) { c.Window = window })
	pr := newProducer(t, b)
	const ch = "origin:https://shop.example"
	c1 := subscribe(t, srv.url, "", ch)
	if w := c1.next(); w.T != "welcome" {
		t.Fatalf("got %+v, want welcome", w)
	}
	first := pr.sendMany(keysFor("a", 20))
	got := c1.collect(20)
	sameSet(t, "first batch", got, trKeys(first))
	pos := got[len(got)-1].Pos
	c1.c.CloseNow()

	missed := pr.sendMany(keysFor("b", 40))
	c2 := subscribe(t, srv.url, pos, ch)
	if w := c2.next(); w.T != "welcome" || !w.Resumed {
		t.Fatalf("got %+v, want a resumed welcome", w)
	}
	sameSet(t, "replay", c2.collect(40), trKeys(missed))
	live := pr.send("https://shop.example/live")
	if m := c2.next(); m.Key != live.Key {
		t.Fatalf("after the replay got %+v, want the live %s", m, live.Key)
	}
	if n := metricValue(t, srv, `cachet_push_resumes_total{outcome="`+wantOutcome+`"}`); n != 1 {
		t.Fatalf("resumes{%s} = %v, want 1", wantOutcome, n)
	}
}

func TestResumeInWindow(t *testing.T) { resumeCase(t, 4096, "window") }

// A window of 4 records per partition cannot hold 40 missed records over 3
// partitions: the server reads them back from Kafka.
func TestResumeFromKafkaBeyondWindow(t *testing.T) { resumeCase(t, 4, "kafka") }

func TestResetCases(t *testing.T) {
	b := startBroker(t, 3)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	const ch = "origin:https://shop.example"
	c := subscribe(t, srv.url, "", ch)
	c.next()
	pr.sendMany(keysFor("a", 5))
	last := c.collect(5)[4].Pos
	p, err := push.ParsePosition(last)
	if err != nil {
		t.Fatal(err)
	}
	beyond := p
	beyond.Offsets = slices.Clone(p.Offsets)
	beyond.Offsets[0] += 1000
	otherEpoch := p
	otherEpoch.Epoch = "0123456789abcdef"
	for _, tc := range []struct {
		name, pos, reason string
		channels          []string
	}{
		{"unknown epoch", otherEpoch.String(), push.ResetEpoch, []string{ch}},
		{"past the end", beyond.String(), push.ResetPosition, []string{ch}},
		{"malformed", "p1~zz", push.ResetPosition, []string{ch}},
		{"channel set changed", last, push.ResetChannels, []string{ch, "tag:catalog"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := subscribe(t, srv.url, tc.pos, tc.channels...)
			if w := r.next(); w.T != "welcome" || w.Resumed {
				t.Fatalf("got %+v, want a welcome that is not resumed", w)
			}
			m := r.next()
			if m.T != "reset" || m.Reason != tc.reason || m.Pos == "" {
				t.Fatalf("got %+v, want reset %s with a position", m, tc.reason)
			}
			// After the reset, live delivery continues from the reset position.
			tr := pr.send("https://shop.example/after-" + tc.reason)
			for {
				if m := r.next(); m.Key == tr.Key {
					break
				} else if m.T != "transition" {
					t.Fatalf("got %+v after reset", m)
				}
			}
		})
	}
}

// TestResetPastRetention deletes the records after a client's position:
// the server cannot replay them and says so.
func TestResetPastRetention(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.Window = 2 })
	pr := newProducer(t, b)
	const ch = "origin:https://shop.example"
	c := subscribe(t, srv.url, "", ch)
	c.next()
	pr.sendMany(keysFor("a", 3))
	pos := c.collect(3)[2].Pos
	c.c.CloseNow()
	pr.sendMany(keysFor("b", 10))
	// The server has read them all: what goes is gone only for the client.
	// (Records deleted before the server read them: TestConsumerPastRetention.)
	eventually(t, "the server consumed the records", func() bool { return metricValue(t, srv, "cachet_push_consumed_total") == 13 })
	deleteRecordsBefore(t, b, 0, 8)
	r := subscribe(t, srv.url, pos, ch)
	if w := r.next(); w.T != "welcome" || w.Resumed {
		t.Fatalf("got %+v, want a welcome that is not resumed", w)
	}
	if m := r.next(); m.T != "reset" || m.Reason != push.ResetRetention {
		t.Fatalf("got %+v, want reset retention", m)
	}
}
