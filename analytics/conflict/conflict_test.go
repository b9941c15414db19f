package conflict_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/conflict"
	"github.com/cachetsync/cachet/analytics/workload"
	"github.com/cachetsync/cachet/record"
)

var t0 = time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// TestAttempts: committed transitions are won writes, contention
// conflicts lost writes (one per key), other refusals no write at all;
// the result is in time order, ledger order among equal times.
func TestAttempts(t *testing.T) {
	trs := []record.Transition{
		{Position: record.Position{Block: 3}, Timestamp: at(2), Key: "a", Owner: "Org1MSP", Actor: "Org1MSP"},
		{Position: record.Position{Block: 2}, Timestamp: at(1), Key: "b", Owner: "Org1MSP", Actor: "Org2MSP"},
	}
	cfs := []record.Conflict{
		{Position: record.Position{Block: 2, TxIndex: 1}, Timestamp: at(1), Code: record.CodeMVCCReadConflict, Keys: []string{"b", "c"}, Creator: "Org1MSP"},
		{Position: record.Position{Block: 4}, Timestamp: at(0), Code: record.CodeEndorsementPolicyFailure, Keys: []string{"a"}, Creator: "Org2MSP"},
	}
	got := conflict.Attempts(trs, cfs)
	want := []conflict.Attempt{
		{At: at(1), Pos: record.Position{Block: 2}, Key: "b"},
		{At: at(1), Pos: record.Position{Block: 2, TxIndex: 1}, Key: "b", Lost: true},
		{At: at(1), Pos: record.Position{Block: 2, TxIndex: 1}, Key: "c", Lost: true},
		{At: at(2), Pos: record.Position{Block: 3}, Key: "a"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d attempts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Pos != want[i].Pos || got[i].Key != want[i].Key || got[i].Lost != want[i].Lost {
			t.Errorf("attempt %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestOutcomesVisibleAfterDelay: no predictor learns a write's outcome
// before Delay has passed since it, and each learns it once it has.
func TestOutcomesVisibleAfterDelay(t *testing.T) {
	cfg := conflict.Config{Delay: time.Second}
	for _, p := range []conflict.Predictor{conflict.NewModel(cfg), conflict.KeyRate(cfg, time.Minute), conflict.KeyRate(cfg, 0), conflict.Constant(cfg)} {
		t.Run(p.Name(), func(t *testing.T) {
			first := p.Predict(conflict.Attempt{At: at(0), Key: "k", Lost: true})
			before := p.Predict(conflict.Attempt{At: at(0.999), Key: "k"})
			after := p.Predict(conflict.Attempt{At: at(1), Key: "k"})
			if before != first {
				t.Errorf("risk moved from %v to %v before the outcome was visible", first, before)
			}
			if !(after > before) {
				t.Errorf("risk %v after a visible loss, %v before it", after, before)
			}
		})
	}
}

// stream writes key every gap seconds from start to end, each lost-th
// write lost (0: none).
func stream(key string, start, end, gap float64, lost int) []conflict.Attempt {
	var out []conflict.Attempt
	for i, s := 0, start; s < end; i, s = i+1, s+gap {
		out = append(out, conflict.Attempt{At: at(s), Key: key, Lost: lost > 0 && i%lost == lost-1})
	}
	return out
}

// TestModelRanksContendedKeys: a key written five times a second that
// loses a third of its writes is riskier than one written as fast that
// never loses, one written once a minute, or one never seen; its risk
// falls once the losses stop.
func TestModelRanksContendedKeys(t *testing.T) {
	m := conflict.NewModel(conflict.Config{})
	var all []conflict.Attempt
	all = append(all, stream("hot", 0, 120, 0.2, 3)...)
	all = append(all, stream("calm", 0, 120, 0.2, 0)...)
	all = append(all, stream("cold", 0, 120, 60, 0)...)
	sortByTime(all)
	for _, a := range all {
		m.Predict(a)
	}
	now := at(121)
	hot, calm, cold, unseen := m.KeyRisk("hot", now), m.KeyRisk("calm", now), m.KeyRisk("cold", now), m.KeyRisk("new", now)
	if !(hot > 0.2 && hot > 4*calm && hot > 4*cold && hot > 4*unseen && cold > unseen) {
		t.Fatalf("risk of hot %.4f, calm %.4f, cold %.4f, unseen %.4f", hot, calm, cold, unseen)
	}
	if _, b1, n := m.Fit(); !(b1 > 0) || n != uint64(len(all)) {
		t.Fatalf("fit %s: want risk growing with the write rate, from every outcome", m.FitString())
	}
	for _, a := range stream("hot", 121, 240, 0.2, 0) {
		m.Predict(a)
	}
	if later := m.KeyRisk("hot", at(241)); !(later < hot/2) {
		t.Fatalf("risk of hot %.4f after two minutes without a loss, %.4f before", later, hot)
	}
	if m.Keys() != 3 || m.Losses() != 200 {
		t.Fatalf("%d keys kept, %d losses learned; want 3 and 200", m.Keys(), m.Losses())
	}
}

func sortByTime(a []conflict.Attempt) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].At.Before(a[j-1].At); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// TestMaxKeys: a key beyond the bound is judged by the prior and not kept.
func TestMaxKeys(t *testing.T) {
	m := conflict.NewModel(conflict.Config{MaxKeys: 1})
	for i, k := range []string{"a", "b", "b"} {
		m.Predict(conflict.Attempt{At: at(float64(i)), Key: k, Lost: true})
	}
	m.KeyRisk("a", at(10))
	if m.Keys() != 1 || m.Untracked() != 2 {
		t.Fatalf("%d keys kept, %d outcomes untracked; want 1 and 2", m.Keys(), m.Untracked())
	}
}

func TestReplayHindsight(t *testing.T) {
	var all []conflict.Attempt
	for i, lost := range []bool{true, false, false, false} {
		all = append(all, conflict.Attempt{At: at(float64(i)), Key: "k1", Lost: lost})
	}
	all = append(all, conflict.Attempt{At: at(4), Key: "k2"}, conflict.Attempt{At: at(5), Key: "k2"})
	// k1 at 1/4: one loss (3/4)², three wins (1/4)²; k2 at 0: nothing.
	if r := conflict.Replay(all, conflict.ReplayConfig{}); math.Abs(r.Hindsight-0.75/6) > 1e-12 || r.Attempts != 6 || r.Lost != 1 || r.Keys != 2 {
		t.Fatalf("hindsight %v of %d attempts (%d lost) on %d keys, want 0.125 of 6 (1) on 2", r.Hindsight, r.Attempts, r.Lost, r.Keys)
	}
}

// TestReplayBeatsBaselines is the quality check on a generated contended
// stream and on the one recorded on the real network (testdata): the
// fitted model's Brier score is below every baseline's, and its riskiest
// keys are the ones that lose writes next at least as often as the best
// ranking baseline's, and more often than at random.
func TestReplayBeatsBaselines(t *testing.T) {
	gt, gc, err := workload.GenerateContention(workload.Contention())
	if err != nil {
		t.Fatal(err)
	}
	rt, rc := recorded(t)
	for name, attempts := range map[string][]conflict.Attempt{"generated": conflict.Attempts(gt, gc), "recorded": conflict.Attempts(rt, rc)} {
		t.Run(name, func(t *testing.T) {
			r := conflict.Replay(attempts, conflict.ReplayConfig{})
			var out strings.Builder
			r.Print(&out, name)
			t.Log("\n" + out.String())
			best := r.BestBaseline()
			model := r.Scores[0]
			if !(r.Ratio() < 1) || r.Lost == 0 || r.Rankings == 0 {
				t.Fatalf("model %.5f, best baseline %s %.5f", model.Brier, best.Name, best.Brier)
			}
			if !(model.Precision[0] >= r.Scores[1].Precision[0] && model.Precision[0] > r.Random[0]) {
				t.Fatalf("precision at %d: model %.3f, key rate %.3f, random %.3f", r.TopK[0], model.Precision[0], r.Scores[1].Precision[0], r.Random[0])
			}
			if !strings.Contains(out.String(), "conflict_"+name+"_brier_vs_best_baseline_ratio: ") {
				t.Fatalf("no ratio line in\n%s", out.String())
			}
		})
	}
}

func recorded(t *testing.T) ([]record.Transition, []record.Conflict) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "analytics")
	f, err := os.Open(filepath.Join(dir, "contention_transitions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	trs, err := workload.ReadTransitions(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(filepath.Join(dir, "contention_conflicts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cfs, err := workload.ReadConflicts(g)
	if err != nil {
		t.Fatal(err)
	}
	return trs, cfs
}
