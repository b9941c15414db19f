package daemon

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/record"
)

// chanConsumer and memProducer stand in for Kafka in unit tests.
type chanConsumer chan Message

func (c chanConsumer) Poll(ctx context.Context) (Message, bool, error) {
	select {
	case m := <-c:
		return m, true, nil
	case <-time.After(10 * time.Millisecond):
		return Message{}, false, nil
	case <-ctx.Done():
		return Message{}, false, ctx.Err()
	}
}

type memProducer struct {
	mu  sync.Mutex
	got []record.Advice
}

func (p *memProducer) Produce(_ context.Context, _ string, v []byte) error {
	a, err := record.DecodeAdvice(v)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.got = append(p.got, a)
	p.mu.Unlock()
	return nil
}

func (*memProducer) Flush(context.Context) error { return nil }

func TestDaemonSkipsJunkAndPublishesAdvice(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	d, err := New(Config{Engine: engine.KindAuto, Interval: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := make(chanConsumer, 1000)
	for v := 1; v <= 200; v++ {
		b, _ := record.Transition{TxID: "t", Key: "https://a.example/hot", Version: uint64(v), State: record.StateValid,
			Timestamp: t0.Add(time.Duration(v) * 15 * time.Second), Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 600}.Marshal()
		in <- Message{record.TopicTransitions, b}
		r, _ := record.Read{Kind: record.ReadHit, Key: "https://a.example/hot", Client: "c", At: t0.Add(time.Duration(v) * 15 * time.Second)}.Marshal()
		in <- Message{record.TopicReads, r}
	}
	in <- Message{record.TopicTransitions, []byte("{not json")}
	unknown, _ := record.Read{Kind: record.ReadMiss, Key: "https://a.example/never-written", Client: "c", At: t0}.Marshal()
	in <- Message{record.TopicReads, unknown}
	ctx, cancel := context.WithCancel(context.Background())
	out := &memProducer{}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, in, out) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out.mu.Lock()
		n := len(out.got)
		out.mu.Unlock()
		if (n > 0 && len(in) == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // one more publishing round after the last record
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.got) == 0 {
		t.Fatal("no advice published")
	}
	latest := map[string]record.Advice{}
	for _, a := range out.got {
		latest[a.Key] = a
	}
	if a := latest["https://a.example/hot"]; a.Action != record.ActionInvalidateEarly || a.RecommendedMaxAge >= 600 {
		t.Errorf("advice %+v: want invalidate-early under max-age 600 for a key written every 15 s", a)
	}
	// A read of a key whose writes have not arrived is tracked and scored.
	if a, ok := latest["https://a.example/never-written"]; !ok || !(a.ReadRate > 0) {
		t.Errorf("early-read key advice %+v (present %v): want advice with a read rate", a, ok)
	}
	if stats := d.Stats(); len(stats.Skipped) != 1 || stats.Skipped["malformed record"] != 1 || stats.ReadOnly != 1 {
		t.Errorf("stats %+v: want one malformed record skipped and one read-only key", stats)
	}
}
