package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnalyticsSimulateReplay(t *testing.T) {
	var out strings.Builder
	file := filepath.Join("..", "..", "testdata", "analytics", "recorded_transitions.jsonl")
	if err := runAnalytics(context.Background(), []string{"simulate", "--replay", file, "--budgets", "30"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replay: ", "fixed TTL", "adaptive TTL", "cachet advice", "\nstale_reads_vs_adaptive_ttl_ratio: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{{"simulate", "--workload", "third"}, {"simulate", "--budgets", "0"}} {
		if err := runAnalytics(context.Background(), args, &out); exitCode(err) != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := runAnalytics(context.Background(), []string{"simulate", "--replay", "no-such-file"}, &out); err == nil {
		t.Error("missing replay file: no error")
	}
}
