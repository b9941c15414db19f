package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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

// runAnalyticsSimulate prints the cache-policy table on a generated workload.
func runAnalyticsSimulate(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet analytics simulate", flag.ContinueOnError)
	c := workload.Default()
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "workload seed")
	fs.IntVar(&c.Keys, "keys", c.Keys, "number of keys")
	fs.IntVar(&c.Clients, "clients", c.Clients, "number of browsers")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "simulated time")
	fs.Float64Var(&c.ReadsPerSec, "reads", c.ReadsPerSec, "reads per second, all clients")
	budgets := fs.String("budgets", "60,300,1800", "fixed TTLs (seconds) whose origin load the other policies must not exceed")
	epoch := fs.Duration("epoch", time.Minute, "how often advice is recomputed")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	var bs []float64
	for _, s := range strings.Split(*budgets, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v <= 0 {
			return usageError{fmt.Sprintf("--budgets: %q is not a positive number of seconds", s)}
		}
		bs = append(bs, v)
	}
	wl := workload.Generate(c)
	rows, err := sim.Compare(ctx, wl, bs, *epoch)
	if err != nil {
		return err
	}
	sim.Print(w, wl, rows)
	return nil
}
