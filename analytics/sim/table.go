package sim

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/analytics/workload"
)

// Row is one policy at one origin-load budget.
type Row struct {
	BudgetTTL float64 // the fixed TTL that set the budget, seconds
	Policy    string
	Param     string
	Result    Result
}

// Compare runs the three policies at the origin load of each fixed TTL in
// budgets, calibrating the adaptive factor and the P(stale) target so that
// they make no more fetches than the fixed TTL.
func Compare(ctx context.Context, w *workload.Workload, budgets []float64, epoch time.Duration) ([]Row, error) {
	snaps, err := Snapshot(w, epoch, model.Config{})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, ttl := range budgets {
		fixed := Run(w, Fixed(ttl))
		rows = append(rows, Row{ttl, "fixed TTL", fmt.Sprintf("ttl=%gs", ttl), fixed})
		k, ad, err := Calibrate(fixed.Fetches, 1e-4, 100, func(x float64) (Result, error) { return Run(w, Adaptive(x)), nil })
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{ttl, "adaptive TTL", fmt.Sprintf("factor=%.4g", k), ad})
		p, cr, err := Calibrate(fixed.Fetches, 1e-6, 0.999, func(x float64) (Result, error) {
			params := score.DefaultParams()
			params.PStaleTarget = x
			f, err := snaps.Advice(ctx, params)
			if err != nil {
				return Result{}, err
			}
			return Run(w, f), nil
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{ttl, "cachet advice", fmt.Sprintf("pStaleTarget=%.4g", p), cr})
	}
	return rows, nil
}

// Print writes rows as a table.
func Print(out io.Writer, w *workload.Workload, rows []Row) {
	c := w.Config
	fmt.Fprintf(out, "workload: seed %d, %d keys, %d clients, %s, %.0f reads/s Zipf s=%.2f, median write interval %s (σ=%.1f), %d phases shifting %.0f%%, %d events\n",
		c.Seed, c.Keys, c.Clients, c.Duration, c.ReadsPerSec, c.ZipfS, c.MedianWriteIv, c.WriteSigma, c.Phases, 100*c.ShiftFraction, len(w.Events))
	fmt.Fprintf(out, "%-10s %-14s %-22s %10s %10s %10s %10s\n", "budget", "policy", "parameter", "reads", "fetches", "stale", "stale-rate")
	for _, r := range rows {
		fmt.Fprintf(out, "%-10s %-14s %-22s %10d %10d %10d %9.4f%%\n", fmt.Sprintf("ttl %gs", r.BudgetTTL), r.Policy, r.Param,
			r.Result.Reads, r.Result.Fetches, r.Result.Stale, 100*r.Result.StaleRate())
	}
}
