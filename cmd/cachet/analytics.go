package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cachetsync/cachet/analytics/sim"
	"github.com/cachetsync/cachet/analytics/workload"
)

func init() {
	register(command{name: "analytics", summary: "staleness/conflict advice: run (daemon), top, simulate", run: runAnalytics})
}

func runAnalytics(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError{"cachet analytics: want a subcommand: run, top or simulate"}
	}
	switch args[0] {
	case "simulate":
		return runAnalyticsSimulate(ctx, args[1:], w)
	case "run", "top":
		return runAnalyticsKafka(ctx, args[0], args[1:], w)
	}
	return usageError{fmt.Sprintf("cachet analytics: unknown subcommand %q (run, top, simulate)", args[0])}
}

func parseFlags(fs *flag.FlagSet, args []string) (bool, error) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return false, nil
		}
		return false, usageError{err.Error()}
	}
	return true, nil
}

// runAnalyticsSimulate prints the cache-policy table on a generated
// workload, or on a recorded transition stream with synthesized reads.
func runAnalyticsSimulate(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet analytics simulate", flag.ContinueOnError)
	shape := fs.String("workload", "default", "generated workload: default, or second (another seed and shape)")
	replay := fs.String("replay", "", "replay this file of transitions (JSON lines, as `cachet watch --json` prints) with synthesized reads")
	c := workload.Default()
	seed := fs.Uint64("seed", 0, "workload seed (0: the workload's own)")
	keys := fs.Int("keys", 0, "number of keys (0: the workload's own)")
	clients := fs.Int("clients", 0, "number of browsers (0: the workload's own)")
	duration := fs.Duration("duration", 0, "simulated time (0: the workload's own)")
	reads := fs.Float64("reads", 0, "reads per second, all clients (0: the workload's own)")
	budgets := fs.String("budgets", "", "fixed TTLs (seconds) whose origin load the other policies must not exceed (default 60,300,1800; with --replay 5,30,120)")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	switch *shape {
	case "default":
	case "second":
		c = workload.Second()
	default:
		return usageError{"--workload: want default or second"}
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
			return usageError{fmt.Sprintf("--budgets: %q is not a positive number of seconds", s)}
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
