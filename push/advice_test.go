package push_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// sendAdvice produces one advice record (or raw bytes when value is set).
func (pr *producer) sendAdvice(a record.Advice, value []byte) {
	pr.t.Helper()
	if value == nil {
		var err error
		if value, err = a.Marshal(); err != nil {
			pr.t.Fatal(err)
		}
	}
	topic := record.TopicAdvice
	done := make(chan kafka.Delivery, 1)
	if err := pr.p.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(a.Key), Value: value}, done); err != nil {
		pr.t.Fatal(err)
	}
	if d := <-done; d.Err != nil {
		pr.t.Fatal(d.Err)
	}
}

func advice(key string, maxAge uint32) record.Advice {
	return record.Advice{Key: key, At: time.Date(2026, 11, 25, 6, 41, 0, 0, time.UTC), WriteRate: 0.01, ReadRate: 2.5,
		PStale: 0.12, ExpectedStaleReads: 0.3, RecommendedMaxAge: maxAge, Action: record.ActionInvalidateEarly, Engine: "cpu"}
}

// TestAdviceFanOut: advice reaches the subscribers of the key's origin
// channel only, carries record.Advice's fields and no position, and is not
// replayed on resume.
func TestAdviceFanOut(t *testing.T) {
	b := startBroker(t, 2)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	shop := subscribe(t, srv.url, "", shopCh)
	news := subscribe(t, srv.url, "", "origin:https://news.example")
	tagOnly := subscribe(t, srv.url, "", "tag:catalog")
	for _, c := range []*client{shop, news, tagOnly} {
		c.next()
	}
	pr.send("https://shop.example/first", "catalog")
	pos := shop.collect(1)[0].Pos
	tagOnly.collect(1)

	pr.sendAdvice(record.Advice{Key: "https://shop.example/bad"}, []byte(`{"v":1,"key":"https://shop.example/bad","pStale":7}`))
	pr.sendAdvice(advice("https://shop.example/a", 120), nil)
	pr.sendAdvice(advice("https://news.example/n", 60), nil)
	raw := shop.nextRaw()
	want := `{"t":"advice","key":"https://shop.example/a","at":"2026-11-25T06:41:00Z","writeRate":0.01,"readRate":2.5,` +
		`"pStale":0.12,"expectedStaleReads":0.3,"conflictRisk":0,"recommendedMaxAge":120,"action":"invalidate-early","engine":"cpu"}`
	if string(raw) != want {
		t.Fatalf("shop got\n%s\nwant\n%s", raw, want)
	}
	if m := news.next(); m.T != "advice" || m.Key != "https://news.example/n" {
		t.Fatalf("news got %+v, want only its own advice", m)
	}
	eventually(t, "advice counted", func() bool {
		return metricValue(t, srv, "cachet_push_advice_delivered_total") == 2 && metricValue(t, srv, "cachet_push_bad_advice_total") == 1
	})

	// Resuming from before the advice replays transitions only.
	shop.c.CloseNow()
	missed := pr.send("https://shop.example/missed")
	r := subscribe(t, srv.url, pos, shopCh)
	if w := r.next(); w.T != "welcome" || !w.Resumed {
		t.Fatalf("got %+v, want a resumed welcome", w)
	}
	if m := r.next(); m.T != "transition" || m.Key != missed.Key {
		t.Fatalf("after resume got %+v, want the missed transition", m)
	}
	// The tag-only subscriber saw no advice: its next frame is a transition.
	end := pr.send("https://cdn.example/end", "catalog")
	if m := tagOnly.next(); m.Key != end.Key {
		t.Fatalf("tag subscriber got %+v, want %s", m, end.Key)
	}
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil || f["pos"] != nil || f["v"] != nil {
		t.Fatalf("advice frame %s has a pos or v", raw)
	}
}

// An SSE client gets advice as an event without an id, so EventSource's
// Last-Event-ID keeps naming the last transition.
func TestAdviceOverSSE(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	ch, _ := sseStream(t, srv, token(t, []string{shopCh}, nil), "", shopCh)
	if w := nextEvent(t, ch); w.event != "welcome" {
		t.Fatalf("got %+v, want welcome", w)
	}
	newProducer(t, b).sendAdvice(advice("https://shop.example/a", 5), nil)
	if ev := nextEvent(t, ch); ev.event != "advice" || ev.id != "" || ev.m.Key != "https://shop.example/a" {
		t.Fatalf("got %+v, want an advice event without id", ev)
	}
}
