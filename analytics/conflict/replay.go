package conflict

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// ReplayConfig says how Replay judges the predictors.
type ReplayConfig struct {
	Model Config
	// TopK are the list lengths of the precision figures (5 and 10).
	TopK []int
	// Every is the time between two rankings of the keys (10 s).
	Every time.Duration
}

// Score is how well one predictor did.
type Score struct {
	Name string
	// Brier is the mean squared difference between the predicted risk
	// and the outcome (1 lost, 0 committed), over every attempt.
	Brier float64
	// MeanRisk is the mean predicted risk (calibration: the loss rate is
	// Report.Lost/Report.Attempts).
	MeanRisk float64
	// Precision[i] is, averaged over the rankings, the share of the
	// TopK[i] keys ranked riskiest that lost a write in the next Every;
	// nil when the predictor cannot rank keys.
	Precision []float64
}

// Report is the outcome of a replay.
type Report struct {
	Attempts, Lost, Keys int
	Span                 time.Duration
	Delay                time.Duration
	TopK                 []int
	Rankings             int       // rankings the precision figures average over
	Random               []float64 // a random ranking's expected precision, per TopK
	// Scores: the model's first, then the baselines'.
	Scores []Score
	// Hindsight is the Brier score of each key's loss rate over the whole
	// stream, known in advance: no predictor, a bound on what rates can
	// explain.
	Hindsight float64
	Fit       string
}

// Replay predicts every attempt, in time order, with the model and the
// baselines (each key's recent conflict rate, with HistoryTau and with
// its whole history, and the running mean), each seeing an outcome only
// Delay after its attempt, and scores them.
func Replay(attempts []Attempt, cfg ReplayConfig) Report {
	mc := cfg.Model.withDefaults()
	if len(cfg.TopK) == 0 {
		cfg.TopK = []int{5, 10}
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	model := NewModel(mc)
	preds := []Predictor{model, KeyRate(mc, mc.HistoryTau), KeyRate(mc, 0), Constant(mc)}
	rank := []bool{true, true, true, false}
	r := Report{Attempts: len(attempts), Delay: mc.Delay, TopK: cfg.TopK, Random: make([]float64, len(cfg.TopK))}
	if len(attempts) == 0 {
		return r
	}
	sq := make([]float64, len(preds))
	sum := make([]float64, len(preds))
	prec := make([][]float64, len(preds))
	for i := range prec {
		prec[i] = make([]float64, len(cfg.TopK))
	}
	start := attempts[0].At
	r.Span = attempts[len(attempts)-1].At.Sub(start)
	lostIn := lossesPerWindow(attempts, start, cfg.Every)
	var known []string
	seen := map[string]bool{}
	next := start.Add(cfg.Every)
	ranking := func(at time.Time) {
		window := int(at.Sub(start) / cfg.Every)
		losers := lostIn[window]
		if len(losers) == 0 || len(known) == 0 {
			return
		}
		r.Rankings++
		for j := range cfg.TopK {
			r.Random[j] += float64(len(losers)) / float64(len(known))
		}
		for i, p := range preds {
			if !rank[i] {
				continue
			}
			top := topKeys(p, known, at, cfg.TopK[len(cfg.TopK)-1])
			for j, k := range cfg.TopK {
				hits := 0
				for _, key := range top[:min(k, len(top))] {
					if losers[key] {
						hits++
					}
				}
				prec[i][j] += float64(hits) / float64(k)
			}
		}
	}
	for _, a := range attempts {
		for !a.At.Before(next) {
			ranking(next)
			next = next.Add(cfg.Every)
		}
		y := 0.0
		if a.Lost {
			y = 1
			r.Lost++
		}
		for i, p := range preds {
			q := p.Predict(a)
			sq[i] += (q - y) * (q - y)
			sum[i] += q
		}
		if !seen[a.Key] {
			seen[a.Key] = true
			known = append(known, a.Key)
		}
	}
	r.Keys = len(known)
	n := float64(len(attempts))
	for i, p := range preds {
		s := Score{Name: p.Name(), Brier: sq[i] / n, MeanRisk: sum[i] / n}
		if rank[i] && r.Rankings > 0 {
			s.Precision = make([]float64, len(cfg.TopK))
			for j := range cfg.TopK {
				s.Precision[j] = prec[i][j] / float64(r.Rankings)
			}
		}
		r.Scores = append(r.Scores, s)
	}
	for j := range r.Random {
		if r.Rankings > 0 {
			r.Random[j] /= float64(r.Rankings)
		}
	}
	r.Hindsight = hindsight(attempts)
	r.Fit = model.FitString()
	return r
}

// lossesPerWindow returns, per window of length every from start, the keys
// that lost a write in it.
func lossesPerWindow(attempts []Attempt, start time.Time, every time.Duration) map[int]map[string]bool {
	out := map[int]map[string]bool{}
	for _, a := range attempts {
		if !a.Lost {
			continue
		}
		w := int(a.At.Sub(start) / every)
		if out[w] == nil {
			out[w] = map[string]bool{}
		}
		out[w][a.Key] = true
	}
	return out
}

// topKeys ranks keys by p's risk at now, riskiest first (ties by key), and
// returns the first n.
func topKeys(p Predictor, keys []string, now time.Time, n int) []string {
	type kr struct {
		key  string
		risk float64
	}
	all := make([]kr, len(keys))
	for i, k := range keys {
		all[i] = kr{k, p.KeyRisk(k, now)}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].risk != all[j].risk {
			return all[i].risk > all[j].risk
		}
		return all[i].key < all[j].key
	})
	out := make([]string, 0, min(n, len(all)))
	for _, x := range all[:min(n, len(all))] {
		out = append(out, x.key)
	}
	return out
}

// hindsight is the Brier score of predicting each attempt with its key's
// loss rate over the whole stream.
func hindsight(attempts []Attempt) float64 {
	type nc struct{ n, c float64 }
	per := map[string]*nc{}
	for _, a := range attempts {
		x := per[a.Key]
		if x == nil {
			x = &nc{}
			per[a.Key] = x
		}
		x.n++
		if a.Lost {
			x.c++
		}
	}
	var sq float64
	for _, x := range per {
		p := x.c / x.n
		// x.c attempts lost (1 − p)², the others p².
		sq += x.c*(1-p)*(1-p) + (x.n-x.c)*p*p
	}
	return sq / float64(len(attempts))
}

// BestBaseline is the baseline with the lowest Brier score.
func (r Report) BestBaseline() Score {
	best := Score{Brier: math.Inf(1)}
	for _, s := range r.Scores[1:] {
		if s.Brier < best.Brier {
			best = s
		}
	}
	return best
}

// Ratio is the model's Brier score over the best baseline's (goal < 0.9).
func (r Report) Ratio() float64 { return r.Scores[0].Brier / r.BestBaseline().Brier }

// Print writes the report as a table, then its `name: value` lines:
// conflict_brier_vs_best_baseline_ratio, and the model's and the best
// ranking baseline's precision at each k, prefixed by name ("" for none).
func (r Report) Print(w io.Writer, name string) {
	if len(r.Scores) == 0 {
		fmt.Fprintln(w, "no write attempts to replay")
		return
	}
	fmt.Fprintf(w, "%d write attempts, %d lost (%.1f%%), on %d keys over %v; each outcome known %v after its write\n",
		r.Attempts, r.Lost, 100*float64(r.Lost)/float64(r.Attempts), r.Keys, r.Span.Round(time.Second), r.Delay)
	fmt.Fprintf(w, "%-28s %9s %8s %10s", "predictor", "brier", "vs best", "mean risk")
	for _, k := range r.TopK {
		fmt.Fprintf(w, " %8s", fmt.Sprintf("prec@%d", k))
	}
	fmt.Fprintln(w)
	best := r.BestBaseline()
	for _, s := range r.Scores {
		fmt.Fprintf(w, "%-28s %9.5f %8.3f %10.4f", s.Name, s.Brier, s.Brier/best.Brier, s.MeanRisk)
		for j := range r.TopK {
			if s.Precision == nil {
				fmt.Fprintf(w, " %8s", "-")
			} else {
				fmt.Fprintf(w, " %8.3f", s.Precision[j])
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-28s %9s %8s %10s", "random ranking", "-", "-", "-")
	for j := range r.TopK {
		fmt.Fprintf(w, " %8.3f", r.Random[j])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-28s %9.5f %8.3f   (each key's loss rate over the whole stream, known in advance: a bound, not a predictor)\n",
		"hindsight", r.Hindsight, r.Hindsight/best.Brier)
	fmt.Fprintf(w, "fit: %s; precision over %d rankings\n", r.Fit, r.Rankings)
	prefix := "conflict_"
	if name != "" {
		prefix += name + "_"
	}
	fmt.Fprintf(w, "%sbrier_vs_best_baseline_ratio: %.4f\n", prefix, r.Ratio())
	ranker := r.Scores[1]
	if r.Scores[2].Brier < ranker.Brier {
		ranker = r.Scores[2]
	}
	for j, k := range r.TopK {
		if r.Scores[0].Precision == nil || ranker.Precision == nil {
			break
		}
		fmt.Fprintf(w, "%sprecision_at_%d: %.3f\n", prefix, k, r.Scores[0].Precision[j])
		fmt.Fprintf(w, "%sprecision_at_%d_best_baseline: %.3f\n", prefix, k, ranker.Precision[j])
	}
}
