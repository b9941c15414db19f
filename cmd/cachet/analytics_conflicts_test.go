package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyticsConflicts replays the recorded contended stream and a
// generated one: each prints the table and its ratio and precision lines;
// half a stream, or no delay, is a usage error.
func TestAnalyticsConflicts(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "analytics")
	trs, cfs := filepath.Join(dir, "contention_transitions.jsonl"), filepath.Join(dir, "contention_conflicts.jsonl")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"conflicts", "--transitions", trs, "--conflicts", cfs},
			[]string{"replay of ", "model (fitted)", "key rate (τ 10m0s)", "constant (running mean)", "hindsight", "\nconflict_brier_vs_best_baseline_ratio: 0.9", "\nconflict_precision_at_5: "}},
		{[]string{"conflicts", "--seed", "4"},
			[]string{"generated contended workload (seed 4)", "\nconflict_generated_brier_vs_best_baseline_ratio: ", "\nconflict_generated_precision_at_10_best_baseline: "}},
	} {
		var out strings.Builder
		if err := runAnalytics(context.Background(), c.args, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range c.want {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, want, out.String())
			}
		}
	}
	var out strings.Builder
	for _, args := range [][]string{{"conflicts", "--transitions", trs}, {"conflicts", "--conflicts", cfs}, {"conflicts", "--delay", "0s"}} {
		if err := runAnalytics(context.Background(), args, &out); exitCode(err) != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := runAnalytics(context.Background(), []string{"conflicts", "--transitions", "no-such-file", "--conflicts", cfs}, &out); err == nil {
		t.Error("missing file: no error")
	}
}
