package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/workload"
)

func TestRunCountsStaleReadsAndFetches(t *testing.T) {
	w := &workload.Workload{Config: workload.Config{Keys: 1, Clients: 1}, Owner: []uint8{0}, Events: []workload.Event{
		{At: 0, Kind: workload.Write},
		{At: 1, Kind: workload.Read},  // fetch, cached until 11
		{At: 2, Kind: workload.Write}, // the copy is now stale
		{At: 5, Kind: workload.Read},  // stale hit
		{At: 12, Kind: workload.Read}, // expired: fetch
		{At: 13, Kind: workload.Read}, // fresh hit
	}}
	if got := Run(w, Fixed(10)); got != (Result{Reads: 4, Fetches: 2, Stale: 1}) {
		t.Errorf("fixed 10 s: %+v", got)
	}
	// Adaptive, factor 1: fetched at 1 (age 1 s) until 2; at 5 (age 3 s)
	// until 8; at 12 (age 10 s) until 22; 13 is a fresh hit.
	if got := Run(w, Adaptive(1)); got != (Result{Reads: 4, Fetches: 3, Stale: 0}) {
		t.Errorf("adaptive: %+v", got)
	}
}

func TestCompareKeepsEqualOriginLoad(t *testing.T) {
	c := workload.Default()
	c.Keys, c.Clients, c.Duration, c.ReadsPerSec = 400, 100, 30*time.Minute, 20
	w := workload.Generate(c)
	rows, err := Compare(context.Background(), w, []float64{300})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows[1:] {
		if r.Result.Fetches > rows[0].Result.Fetches {
			t.Errorf("%s made %d fetches, over the fixed TTL's %d", r.Policy, r.Result.Fetches, rows[0].Result.Fetches)
		}
		if r.Result.Reads != rows[0].Result.Reads {
			t.Errorf("%s saw %d reads, fixed TTL %d", r.Policy, r.Result.Reads, rows[0].Result.Reads)
		}
	}
	var out strings.Builder
	Print(&out, w, rows)
	t.Log("\n" + out.String())
	for _, p := range []string{PolicyAdvice, PolicyModel} {
		if !strings.Contains(out.String(), p) {
			t.Errorf("table lacks the %s row", p)
		}
	}
}

func TestRatiosLines(t *testing.T) {
	rows := []Row{
		{60, PolicyFixed, "", Result{Stale: 10}}, {60, PolicyAdaptive, "", Result{Stale: 8}}, {60, PolicyAdvice, "", Result{Stale: 6}},
		{300, PolicyFixed, "", Result{Stale: 30}}, {300, PolicyAdaptive, "", Result{Stale: 20}}, {300, PolicyAdvice, "", Result{Stale: 25}},
	}
	var out strings.Builder
	PrintRatios(&out, rows)
	want := "stale_reads_vs_adaptive_ttl_ratio_ttl60s: 0.7500\nstale_reads_vs_adaptive_ttl_ratio_ttl300s: 1.2500\nstale_reads_vs_adaptive_ttl_ratio: 0.7500 (headline: the middle budget, ttl 60s)\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestReplayRecordedStream scores the transitions recorded from a real
// Fabric network (testdata/analytics/, e2e TestRecordAnalyticsStream)
// with synthesized reads, and holds the quality goal there: at each budget
// advice serves fewer stale reads than adaptive TTL at no more fetches.
func TestReplayRecordedStream(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "testdata", "analytics", "recorded_transitions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	trs, err := workload.ReadTransitions(f)
	if err != nil {
		t.Fatal(err)
	}
	c := workload.Default()
	c.Clients, c.ReadsPerSec = 200, 20
	w, err := workload.FromTransitions(trs, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) < 500 || w.Config.Keys < 50 || w.Config.Orgs != 2 {
		t.Fatalf("%d transitions of %d keys by %d orgs: not the recorded load", len(trs), w.Config.Keys, w.Config.Orgs)
	}
	rows, err := Compare(context.Background(), w, []float64{5, 30, 120})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	Print(&out, w, rows)
	PrintRatios(&out, rows)
	t.Log("\n" + out.String())
	for _, r := range rows[1:] {
		if r.Result.Reads != rows[0].Result.Reads || r.Result.Fetches > rows[0].Result.Fetches {
			t.Errorf("%s: %+v vs fixed %+v", r.Policy, r.Result, rows[0].Result)
		}
	}
	for _, r := range Ratios(rows) {
		if r.Value >= 1 {
			t.Errorf("ttl %gs: advice serves %.2f× adaptive TTL's stale reads", r.BudgetTTL, r.Value)
		}
	}
	if !strings.Contains(out.String(), "replay: ") || len(Ratios(rows)) != 3 {
		t.Errorf("table:\n%s", out.String())
	}
}
