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

// Policy names.
const (
	PolicyFixed    = "fixed TTL"
	PolicyAdaptive = "adaptive TTL"
	PolicyAdvice   = "cachet advice"
	PolicyModel    = "model alone"
)

// Row is one policy at one origin-load budget.
type Row struct {
	BudgetTTL float64 // the fixed TTL that set the budget, seconds
	Policy    string
	Param     string
	Result    Result
}

// Compare runs the policies at the origin load of each fixed TTL in
// budgets (fixed TTL, adaptive TTL, Cachet's advice, the model alone),
// calibrating the adaptive factor and the P(stale) targets so that they
// make no more fetches than the fixed TTL.
func Compare(ctx context.Context, w *workload.Workload, budgets []float64) ([]Row, error) {
	feats, err := Features(w, model.Config{})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, ttl := range budgets {
		fixed := Run(w, Fixed(ttl))
		rows = append(rows, Row{ttl, PolicyFixed, fmt.Sprintf("ttl=%gs", ttl), fixed})
		k, ad, err := Calibrate(fixed.Fetches, 1e-4, 100, func(x float64) (Result, error) { return Run(w, Adaptive(x)), nil })
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{ttl, PolicyAdaptive, fmt.Sprintf("factor=%.4g", k), ad})
		for _, pol := range []struct {
			name string
			ttl  func(context.Context, score.Params) (TTLFunc, error)
		}{{PolicyAdvice, feats.Advice}, {PolicyModel, feats.Model}} {
			p, cr, err := Calibrate(fixed.Fetches, 1e-6, 0.999, func(x float64) (Result, error) {
				params := score.DefaultParams()
				params.PStaleTarget = x
				f, err := pol.ttl(ctx, params)
				if err != nil {
					return Result{}, err
				}
				return Run(w, f), nil
			})
			if err != nil {
				return nil, err
			}
			rows = append(rows, Row{ttl, pol.name, fmt.Sprintf("pStaleTarget=%.4g", p), cr})
		}
	}
	return rows, nil
}

// Print writes rows as a table.
func Print(out io.Writer, w *workload.Workload, rows []Row) {
	c := w.Config
	if w.Names != nil {
		writes := 0
		for _, e := range w.Events {
			if e.Kind == workload.Write {
				writes++
			}
		}
		fmt.Fprintf(out, "replay: %d recorded transitions of %d keys by %d orgs over %s; reads synthesized: seed %d, %d clients, %.0f reads/s Zipf s=%.2f; %d events\n",
			writes, c.Keys, c.Orgs, c.Duration.Round(time.Millisecond), c.Seed, c.Clients, c.ReadsPerSec, c.ZipfS, len(w.Events))
	} else {
		fmt.Fprintf(out, "workload: seed %d, %d keys, %d clients, %s, %.0f reads/s Zipf s=%.2f, median write interval %s (σ=%.1f), %d phases shifting %.0f%%, %d events\n",
			c.Seed, c.Keys, c.Clients, c.Duration, c.ReadsPerSec, c.ZipfS, c.MedianWriteIv, c.WriteSigma, c.Phases, 100*c.ShiftFraction, len(w.Events))
	}
	fmt.Fprintf(out, "%-10s %-14s %-22s %10s %10s %10s %10s\n", "budget", "policy", "parameter", "reads", "fetches", "stale", "stale-rate")
	for _, r := range rows {
		fmt.Fprintf(out, "%-10s %-14s %-22s %10d %10d %10d %9.4f%%\n", fmt.Sprintf("ttl %gs", r.BudgetTTL), r.Policy, r.Param,
			r.Result.Reads, r.Result.Fetches, r.Result.Stale, 100*r.Result.StaleRate())
	}
}

// Ratio is advice's stale reads ÷ adaptive TTL's at one budget (equal
// origin load): below 1, advice serves fewer stale reads.
type Ratio struct {
	BudgetTTL float64
	Value     float64
}

// Ratios returns the advice-to-adaptive stale-read ratio of each budget.
func Ratios(rows []Row) []Ratio {
	adaptive := map[float64]Result{}
	for _, r := range rows {
		if r.Policy == PolicyAdaptive {
			adaptive[r.BudgetTTL] = r.Result
		}
	}
	var out []Ratio
	for _, r := range rows {
		if a, ok := adaptive[r.BudgetTTL]; ok && r.Policy == PolicyAdvice {
			out = append(out, Ratio{r.BudgetTTL, float64(r.Result.Stale) / float64(max(a.Stale, 1))})
		}
	}
	return out
}

// PrintRatios writes one `name: value` line per budget, then the headline
// line for the middle budget of those given (the 300 s one of the default
// 60,300,1800; 30 s of a replay's 5,30,120).
func PrintRatios(out io.Writer, rows []Row) {
	rs := Ratios(rows)
	if len(rs) == 0 {
		return
	}
	for _, r := range rs {
		fmt.Fprintf(out, "stale_reads_vs_adaptive_ttl_ratio_ttl%gs: %.4f\n", r.BudgetTTL, r.Value)
	}
	head := rs[(len(rs)-1)/2]
	fmt.Fprintf(out, "stale_reads_vs_adaptive_ttl_ratio: %.4f (headline: the middle budget, ttl %gs)\n", head.Value, head.BudgetTTL)
}
