package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/conflict"
	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/policy"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/record"
)

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func tracker() *model.Tracker {
	return model.NewTracker(model.Config{Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
}

func feed(t *testing.T, tr *model.Tracker, key string, every time.Duration, n int, orgs ...string) {
	t.Helper()
	for v := 1; v <= n; v++ {
		at := t0.Add(time.Duration(v) * every)
		err := tr.ObserveTransition(record.Transition{V: 1, TxID: fmt.Sprint(key, v), Key: key, Version: uint64(v),
			State: record.StateValid, Timestamp: at, Owner: orgs[0], Actor: orgs[v%len(orgs)], MaxAge: 600})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.ObserveRead(record.Read{V: 1, Kind: record.ReadHit, Key: key, Client: "c", At: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAdviceForHotColdAndSharedKeys(t *testing.T) {
	tr := tracker()
	feed(t, tr, "hot", 10*time.Second, 100, "Org1MSP")
	feed(t, tr, "shared", 2*time.Second, 500, "Org1MSP", "Org2MSP")
	feed(t, tr, "cold", time.Second, 1, "Org1MSP")
	e, err := New(tr, score.NewCPU(), score.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(1000 * time.Second)
	out, err := e.Changed(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]record.Advice{}
	for _, a := range out {
		if err := a.Validate(); err != nil {
			t.Fatalf("advice %+v: %v", a, err)
		}
		got[a.Key] = a
	}
	if a := got["hot"]; a.Action != record.ActionInvalidateEarly || a.RecommendedMaxAge >= 600 || a.Engine != "cpu" {
		t.Errorf("hot key (a write every 10 s, max-age 600 s): %+v, want invalidate-early and a max-age under 600", a)
	}
	if a := got["shared"]; a.Action != record.ActionBatch || !(a.ConflictRisk > 0.01) {
		t.Errorf("key written by two orgs every 2 s: %+v, want batch with conflict risk > 0.01", a)
	}
	if a := got["cold"]; a.ConflictRisk != 0 || a.Action == record.ActionBatch {
		t.Errorf("cold key: %+v, want no conflict risk", a)
	}
	var stale float64
	for _, a := range got {
		stale += a.ExpectedStaleReads
	}
	if len(got) != 3 || !(stale > 0) || math.Abs(e.ExpectedStaleReads()-stale) > 1e-9*stale {
		t.Errorf("ExpectedStaleReads() = %v, want %v, the sum over the %d keys' advice", e.ExpectedStaleReads(), stale, len(got))
	}
	// Nothing changed: nothing to publish, the same stale reads predicted.
	if again, _ := e.Changed(context.Background(), now); len(again) != 0 {
		t.Errorf("second pass re-emitted %d unchanged advice records", len(again))
	}
	if math.Abs(e.ExpectedStaleReads()-stale) > 1e-9*stale {
		t.Errorf("after a round that published nothing ExpectedStaleReads() = %v, want %v still", e.ExpectedStaleReads(), stale)
	}
	top := Top(got, 1, ByConflict)
	if len(top) != 1 || top[0].Key != "shared" {
		t.Errorf("top by conflict = %+v, want the shared key", top)
	}
}

func TestCUDARequestFallsBackToCPUWithALogLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	for _, k := range []Kind{KindAuto, KindCUDA} {
		buf.Reset()
		s := OpenScorer(k, log)
		defer s.Close()
		if s.Name() == "cuda" {
			continue // a usable GPU: nothing to fall back from
		}
		if !strings.Contains(buf.String(), "scoring on the CPU") || !strings.Contains(buf.String(), "cuda scorer") {
			t.Errorf("engine %s fell back without saying why: %q", k, buf.String())
		}
	}
	if s := OpenScorer(KindCPU, log); s.Name() != "cpu" {
		t.Errorf("engine cpu gave %s", s.Name())
	}
	if _, err := ParseKind("gpu"); err == nil {
		t.Error("ParseKind accepted gpu")
	}
}

// An evicted read-only key's index is reused: the new key there gets its
// own advice even when it matches what was emitted for the old one.
func TestAdviceForAReusedIndex(t *testing.T) {
	tr := model.NewTracker(model.Config{MaxKeys: 1, Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	e, err := New(tr, score.NewCPU(), score.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	rd := func(key string) {
		if err := tr.ObserveRead(record.Read{V: 1, Kind: record.ReadHit, Key: key, Client: "c", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	rd("old")
	if out, _ := e.Changed(context.Background(), t0); len(out) != 1 || out[0].Key != "old" {
		t.Fatalf("advice %+v, want one for old", out)
	}
	rd("new") // evicts old, same index, same features
	if out, _ := e.Changed(context.Background(), t0); len(out) != 1 || out[0].Key != "new" {
		t.Fatalf("advice %+v, want one for new", out)
	}
}

// TestAdviceTakesTheFittedConflictRisk: once the conflict model has
// learned of a lost write, a key's conflict risk is the model's and its
// action follows it; before, it is the scorer's closed form.
func TestAdviceTakesTheFittedConflictRisk(t *testing.T) {
	tr := tracker()
	feed(t, tr, "shared", 2*time.Second, 500, "Org1MSP", "Org2MSP")
	e, err := New(tr, score.NewCPU(), score.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	e.Conflicts = conflict.NewModel(conflict.Config{})
	// The shared key's writes all won.
	for v := 1; v <= 500; v++ {
		e.Conflicts.Predict(conflict.Attempt{At: t0.Add(time.Duration(v) * 2 * time.Second), Key: "shared"})
	}
	now := t0.Add(1001 * time.Second)
	closed := adviceOf(t, e, now)["shared"]
	if closed.Action != record.ActionBatch || !(closed.ConflictRisk > 0.01) {
		t.Fatalf("before any lost write: %+v, want the closed form's batch", closed)
	}
	// Then a key raced five times a second, a third of its writes lost.
	feed(t, tr, "raced", 200*time.Millisecond, 300, "Org1MSP", "Org2MSP")
	for v := 1; v <= 300; v++ {
		e.Conflicts.Predict(conflict.Attempt{At: t0.Add(time.Duration(v) * 200 * time.Millisecond), Key: "raced", Lost: v%3 == 0})
	}
	got := adviceOf(t, e, now)
	raced, shared := got["raced"], got["shared"]
	if !(raced.ConflictRisk > 0.1) || raced.Action != record.ActionBatch || !(shared.ConflictRisk < raced.ConflictRisk/4) {
		t.Fatalf("raced %+v, shared %+v: want the raced key's risk far above the shared one's", raced, shared)
	}
	if want := ActionName(score.Decide(score.DefaultParams(), shared.WriteRate, shared.ReadRate, 600, shared.ConflictRisk)); shared.Action != want {
		t.Fatalf("shared key's action %s, its risk gives %s", shared.Action, want)
	}
}

func adviceOf(t *testing.T, e *Engine, now time.Time) map[string]record.Advice {
	t.Helper()
	b, err := e.Score(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]record.Advice{}
	for i := range b.Len() {
		a := e.Advice(b, i, now)
		out[a.Key] = a
	}
	return out
}

// TestPolicyCapsMaxAge: with a policy chooser, a key with too few gaps
// seen and a key only read (aged from Watching) get the age rule's
// max-age when it is shorter than the model's; without one, the model's.
func TestPolicyCapsMaxAge(t *testing.T) {
	tr := tracker()
	feed(t, tr, "young", time.Second, 2, "Org1MSP") // one gap seen
	if err := tr.ObserveRead(record.Read{V: 1, Kind: record.ReadHit, Key: "read-only", Client: "c", At: t0}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(40 * time.Second)
	plain, err := New(tr, score.NewCPU(), score.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	b, err := plain.Score(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	model := append([]uint32(nil), b.RecMaxAge...)
	ch, err := policy.New(policy.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	capped, err := New(tr, score.NewCPU(), score.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	capped.Policy, capped.Watching = ch, t0.Add(21*time.Second)
	if b, err = capped.Score(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	// p = 0.05: the age rule's max-age is age/19.
	for key, age := range map[string]float64{"young": 38, "read-only": 19} {
		i, _ := tr.Index(key)
		if got := capped.Age(i, now); got != age {
			t.Errorf("%s: age %g, want %g", key, got, age)
		}
		want := min(model[i], uint32(age/19))
		if b.RecMaxAge[i] != want || want >= model[i] {
			t.Errorf("%s: max-age %d (model %d), want the age rule's %d", key, b.RecMaxAge[i], model[i], want)
		}
	}
	if capped.Capped() != 2 || plain.Capped() != 0 {
		t.Errorf("capped %d and %d keys, want 2 and 0", capped.Capped(), plain.Capped())
	}
}
