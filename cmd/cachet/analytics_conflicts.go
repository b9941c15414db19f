package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/analytics/conflict"
	"github.com/cachetsync/cachet/analytics/workload"
	"github.com/cachetsync/cachet/record"
)

// conflictsFlags are the flags of `cachet analytics conflicts`.
type conflictsFlags struct {
	transitions, conflicts string
	seed                   uint64
	delay                  time.Duration
}

func newAnalyticsConflictsCmd() *cobra.Command {
	var cf conflictsFlags
	cmd := &cobra.Command{
		Use:   "conflicts [flags]",
		Short: "Judge the conflict model against simple baselines on a write stream replayed in time order (Brier score, precision at top-k keys)",
		Example: `  cachet analytics conflicts
  cachet analytics conflicts --transitions testdata/analytics/contention_transitions.jsonl --conflicts testdata/analytics/contention_conflicts.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAnalyticsConflicts(cf, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cf.transitions, "transitions", "", "replay these committed transitions (JSON lines, as cachet watch --kafka --json prints them), with --conflicts")
	f.StringVar(&cf.conflicts, "conflicts", "", "replay these refused transactions (cachet.conflicts records, JSON lines), with --transitions")
	f.Uint64Var(&cf.seed, "seed", 0, "seed of the generated contended workload, without --transitions (0: its own)")
	f.DurationVar(&cf.delay, "delay", conflict.DefaultConfig().Delay, "how long after a write its outcome is known to the model and the baselines")
	return cmd
}

// runAnalyticsConflicts replays a recorded stream, or generates a contended
// one, and prints the model's and the baselines' scores.
func runAnalyticsConflicts(cf conflictsFlags, w io.Writer) error {
	if (cf.transitions == "") != (cf.conflicts == "") {
		return usagef("--transitions and --conflicts go together: the writes that won and the ones that lost")
	}
	if cf.delay <= 0 {
		return usagef("--delay %v: want a positive duration", cf.delay)
	}
	var trs []record.Transition
	var cfs []record.Conflict
	name := ""
	if cf.transitions != "" {
		var err error
		if trs, err = readFile(cf.transitions, workload.ReadTransitions); err != nil {
			return err
		}
		if cfs, err = readFile(cf.conflicts, workload.ReadConflicts); err != nil {
			return err
		}
		fmt.Fprintf(w, "replay of %s and %s\n", cf.transitions, cf.conflicts)
	} else {
		c := workload.Contention()
		if cf.seed != 0 {
			c.Seed = cf.seed
		}
		var err error
		if trs, cfs, err = workload.GenerateContention(c); err != nil {
			return err
		}
		name = "generated"
		fmt.Fprintf(w, "generated contended workload (seed %d): %d keys, writers per org %v, mean pause %v, Zipf s=%g, %d phases, %v + exp(mean %v) to commit\n",
			c.Seed, c.Keys, c.Writers, c.Pause, c.ZipfS, c.Phases, c.MinLatency, c.Latency)
	}
	r := conflict.Replay(conflict.Attempts(trs, cfs), conflict.ReplayConfig{Model: conflict.Config{Delay: cf.delay}})
	r.Print(w, name)
	return nil
}

func readFile[T any](path string, read func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
