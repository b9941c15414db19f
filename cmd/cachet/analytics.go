package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/analytics/sim"
	"github.com/cachetsync/cachet/analytics/workload"
)

func newAnalyticsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analytics",
		Short: "Staleness and conflict advice: run (daemon), top, simulate, conflicts",
		Example: `  cachet analytics run --brokers kafka-0:9092 --listen :9465
  cachet analytics top --by conflict -n 10
  cachet analytics simulate --workload second
  cachet analytics conflicts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("cachet analytics: want a subcommand: run, top, simulate or conflicts")
		},
	}
	cmd.AddCommand(newAnalyticsRunCmd(), newAnalyticsTopCmd(), newAnalyticsSimulateCmd(), newAnalyticsConflictsCmd())
	return cmd
}

// simulateFlags are the flags of `cachet analytics simulate`.
type simulateFlags struct {
	shape, replay, budgets string
	seed                   uint64
	keys, clients          int
	duration               time.Duration
	reads                  float64
}

func newAnalyticsSimulateCmd() *cobra.Command {
	var sf simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate [flags]",
		Short: "Print the cache-policy table on a generated workload, or on a recorded transition stream",
		Example: `  cachet analytics simulate
  cachet analytics simulate --replay transitions.jsonl --budgets 5,30,120`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAnalyticsSimulate(cmd.Context(), sf, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.shape, "workload", "default", "generated workload: default, or second (another seed and shape)")
	f.StringVar(&sf.replay, "replay", "", "replay this file of transitions (JSON lines, as cachet watch --json prints) with synthesized reads")
	f.Uint64Var(&sf.seed, "seed", 0, "workload seed (0: the workload's own)")
	f.IntVar(&sf.keys, "keys", 0, "number of keys (0: the workload's own)")
	f.IntVar(&sf.clients, "clients", 0, "number of browsers (0: the workload's own)")
	f.DurationVar(&sf.duration, "duration", 0, "simulated time (0: the workload's own)")
	f.Float64Var(&sf.reads, "reads", 0, "reads per second, all clients (0: the workload's own)")
	f.StringVar(&sf.budgets, "budgets", "", "fixed TTLs (seconds) whose origin load the other policies must not exceed (default 60,300,1800; with --replay 5,30,120)")
	return cmd
}

// runAnalyticsSimulate prints the cache-policy table on a generated
// workload, or on a recorded transition stream with synthesized reads.
func runAnalyticsSimulate(ctx context.Context, sf simulateFlags, w io.Writer) error {
	c := workload.Default()
	shape, replay, seed, keys, clients, duration, reads, budgets := &sf.shape, &sf.replay, &sf.seed, &sf.keys, &sf.clients, &sf.duration, &sf.reads, &sf.budgets
	if *keys < 0 || *clients < 0 || *duration < 0 || *reads < 0 {
		return usagef("--keys, --clients, --duration and --reads: want 0 (the workload's own) or more")
	}
	switch *shape {
	case "default":
	case "second":
		c = workload.Second()
	default:
		return usagef("--workload %q: want default or second", *shape)
	}
	for _, o := range []struct {
		set bool
		f   func()
	}{
		{*seed != 0, func() { c.Seed = *seed }}, {*keys > 0, func() { c.Keys = *keys }}, {*clients > 0, func() { c.Clients = *clients }},
		{*duration > 0, func() { c.Duration = *duration }}, {*reads > 0, func() { c.ReadsPerSec = *reads }},
	} {
		if o.set {
			o.f()
		}
	}
	if *budgets == "" {
		*budgets = "60,300,1800"
		if *replay != "" {
			*budgets = "5,30,120"
		}
	}
	var bs []float64
	for _, s := range strings.Split(*budgets, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v <= 0 {
			return usagef("--budgets: %q is not a positive number of seconds", s)
		}
		bs = append(bs, v)
	}
	var wl *workload.Workload
	if *replay != "" {
		f, err := os.Open(*replay)
		if err != nil {
			return err
		}
		trs, err := workload.ReadTransitions(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *replay, err)
		}
		if *reads == 0 {
			c.ReadsPerSec = 20
		}
		if *clients == 0 {
			c.Clients = 200
		}
		if wl, err = workload.FromTransitions(trs, c); err != nil {
			return fmt.Errorf("%s: %w", *replay, err)
		}
	} else {
		wl = workload.Generate(c)
	}
	rows, err := sim.Compare(ctx, wl, bs)
	if err != nil {
		return err
	}
	sim.Print(w, wl, rows)
	sim.PrintRatios(w, rows)
	return nil
}
