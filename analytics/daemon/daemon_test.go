package daemon

import (
	"context"
	"fmt"
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

// TestDaemonLearnsFromConflicts: the writes of a key that clients of one
// org race, a third of them refused on cachet.conflicts, make its advice
// batch with the fitted risk (the closed form, which counts collisions
// between orgs only, sees none), far above a key two orgs write calmly; an
// endorsement policy failure is no conflict, and a conflict record that
// does not decode is counted and skipped.
func TestDaemonLearnsFromConflicts(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	d, err := New(Config{Engine: engine.KindCPU, Clock: func() time.Time { return t0.Add(2 * time.Minute) }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	orgs := []string{"Org1MSP", "Org2MSP"}
	versions := map[string]uint64{}
	write := func(key string, i int, at time.Time, lost bool) {
		org := orgs[i%2]
		if key == "https://a.example/raced" {
			org = orgs[0]
		}
		var topic string
		var b []byte
		if lost {
			topic = record.TopicConflicts
			b, _ = record.Conflict{TxID: fmt.Sprint(key, i), Timestamp: at, Code: record.CodeMVCCReadConflict, Keys: []string{key}, Creator: org}.Marshal()
		} else {
			versions[key]++
			topic = record.TopicTransitions
			b, _ = record.Transition{TxID: fmt.Sprint(key, i), Key: key, Version: versions[key], State: record.StateValid, Timestamp: at,
				Owner: "Org1MSP", Actor: org, MaxAge: 60}.Marshal()
		}
		if err := d.Handle(Message{topic, b}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		write("https://a.example/raced", i, at, i%3 == 2)
		if i%25 == 0 {
			write("https://a.example/calm", i, at, false)
		}
	}
	refused, _ := record.Conflict{TxID: "epf", Timestamp: t0, Code: record.CodeEndorsementPolicyFailure, Keys: []string{"https://a.example/calm"}, Creator: "Org2MSP"}.Marshal()
	for _, b := range [][]byte{refused, []byte(`{"v":1,"code":"MVCC_READ_CONFLICT"}`)} {
		d.Handle(Message{record.TopicConflicts, b})
	}
	out := &memProducer{}
	if _, err := d.Publish(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	got := map[string]record.Advice{}
	for _, a := range out.got {
		got[a.Key] = a
	}
	raced, calm := got["https://a.example/raced"], got["https://a.example/calm"]
	if raced.Action != record.ActionBatch || !(raced.ConflictRisk > 0.15) || !(calm.ConflictRisk < raced.ConflictRisk/4) {
		t.Fatalf("raced %+v\ncalm %+v: want the raced key batched, well above the calm one", raced, calm)
	}
	if n := d.eng.Conflicts.Losses(); n != 166 {
		t.Fatalf("the conflict model learned of %d lost writes, want the 166 races (not the endorsement policy failure)", n)
	}
	if stats := d.Stats(); stats.Skipped["malformed record"] != 1 {
		t.Fatalf("skipped %v, want the undecodable conflict record", stats.Skipped)
	}
}

// TestReadsAndWritesTeachThePolicy: a key's reads ask the policy chooser
// whether it will change within its max-age, and its writes answer.
func TestReadsAndWritesTeachThePolicy(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	d, err := New(Config{Engine: engine.KindCPU, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for v := 1; v <= 20; v++ {
		at := t0.Add(time.Duration(v) * 10 * time.Second)
		b, _ := record.Transition{TxID: "t", Key: "https://a.example/k", Version: uint64(v), State: record.StateValid,
			Timestamp: at, Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 600}.Marshal()
		r, _ := record.Read{Kind: record.ReadHit, Key: "https://a.example/k", Client: "c", At: at.Add(9500 * time.Millisecond)}.Marshal()
		e, _ := record.Read{Kind: record.ReadEvict, Key: "https://a.example/k", Client: "c", At: at.Add(9600 * time.Millisecond), Version: uint64(v)}.Marshal()
		for _, m := range []Message{{record.TopicTransitions, b}, {record.TopicReads, r}, {record.TopicReads, e}} {
			_ = d.Handle(m)
		}
	}
	// Each read 9.5 s after a write asks; the next write, 0.5 s later,
	// answers. Eviction receipts are not reads.
	if got := d.eng.Policy.Stats().Answers; got != 19 {
		t.Errorf("answers %d, want 19", got)
	}
}
