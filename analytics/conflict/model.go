package conflict

import (
	"fmt"
	"math"
	"time"
)

// minRate floors the write rate (per second) in the fit's feature, ln λ:
// a key no one writes is very safe, not infinitely.
const minRate = 1e-6

// Model is the fitted conflict model (see the package comment).
type Model struct {
	delayed
	st *modelState
}

// NewModel returns an unfitted model: the prior starts as a 0.2 s window
// (b₀ = ln 0.2, b₁ = 1).
func NewModel(cfg Config) *Model {
	cfg = cfg.withDefaults()
	st := &modelState{cfg: cfg, keys: map[string]*keyState{}, b: [2]float64{math.Log(0.2), 1},
		rateTau: float64(cfg.RateTau), histTau: float64(cfg.HistoryTau)}
	return &Model{delayed: delayed{name: "model (fitted)", delay: int64(cfg.Delay), l: st}, st: st}
}

// Fit returns the prior's fitted parameters b₀ and b₁ and the number of
// outcomes it learned from.
func (m *Model) Fit() (b0, b1 float64, outcomes uint64) { return m.st.b[0], m.st.b[1], m.st.outcomes }

// FitString describes the fit in a line.
func (m *Model) FitString() string {
	b0, b1, n := m.Fit()
	return fmt.Sprintf("p₀ = σ(b₀ + b₁·ln(λ·1s)), b₀ = %.3f, b₁ = %.3f (a %.3f s window at b₁ = 1), from %d outcomes", b0, b1, math.Exp(b0), n)
}

// Keys is the number of keys the model keeps state for.
func (m *Model) Keys() int { return len(m.st.keys) }

// Losses counts the lost writes the model has learned from: until there
// is one, the ledger has shown no conflict (or none reached it).
func (m *Model) Losses() uint64 { return m.st.losses }

// Untracked counts outcomes of keys beyond Config.MaxKeys.
func (m *Model) Untracked() uint64 { return m.st.untracked }

type modelState struct {
	cfg              Config
	keys             map[string]*keyState
	b                [2]float64
	g                [2]float64 // AdaGrad's sums of squared gradients
	outcomes, losses uint64
	untracked        uint64 // outcomes of keys beyond MaxKeys
	rateTau, histTau float64
}

// keyState is what the model keeps per key.
type keyState struct {
	writes      decayed // committed writes (RateTau)
	tried, lost decayed // attempts and losses (HistoryTau)
}

// prior is p₀ for the feature x.
func (s *modelState) prior(x features) float64 { return sigmoid(s.b[0] + s.b[1]*x.lnRate) }

func (s *modelState) riskOf(k *keyState, now int64) (float64, features) {
	lam := 0.0
	if k != nil {
		lam = k.writes.get(now, s.rateTau) / (s.rateTau / 1e9)
	}
	x := features{lnRate: math.Log(max(lam, minRate))}
	p0 := s.prior(x)
	if k == nil {
		return p0, x
	}
	n, c := k.tried.get(now, s.histTau), k.lost.get(now, s.histTau)
	m := s.cfg.Strength
	return (c + m*p0) / (n + m), x
}

func (s *modelState) risk(a Attempt) (float64, features) {
	return s.riskOf(s.keys[a.Key], a.At.UnixNano())
}

// observe fits the prior to a's outcome from what was known when a was
// predicted, then adds a to its key's record.
func (s *modelState) observe(a Attempt, x features) {
	y := 0.0
	if a.Lost {
		y = 1
	}
	// Logistic loss gradient; AdaGrad steps.
	d := s.prior(x) - y
	for i, gi := range [2]float64{d, d * x.lnRate} {
		s.g[i] += gi * gi
		s.b[i] -= s.cfg.LearningRate * gi / math.Sqrt(s.g[i])
	}
	s.outcomes++
	if a.Lost {
		s.losses++
	}
	now := a.At.UnixNano()
	k := s.keys[a.Key]
	if k == nil {
		if len(s.keys) >= s.cfg.MaxKeys {
			s.untracked++
			return
		}
		k = &keyState{}
		s.keys[a.Key] = k
	}
	k.tried.add(now, s.histTau, 1)
	if a.Lost {
		k.lost.add(now, s.histTau, 1)
	} else {
		k.writes.add(now, s.rateTau, 1)
	}
}

func (s *modelState) keyRisk(key string, now int64) float64 {
	p, _ := s.riskOf(s.keys[key], now)
	return p
}

// keyRate is the baseline "each key's recent conflict rate": its decayed
// losses over its decayed attempts, pulled toward the running mean by one
// attempt's weight.
type keyRate struct {
	tau         float64 // 0: no decay
	keys        map[string]*[2]decayed
	tried, lost float64
	inf         bool
}

// KeyRate is the baseline that predicts each key's recent loss rate
// (decayed with time constant tau; tau 0: its whole history), pulled
// toward the running mean by one attempt's weight.
func KeyRate(cfg Config, tau time.Duration) Predictor {
	cfg = cfg.withDefaults()
	name := "key rate (all history)"
	if tau > 0 {
		name = fmt.Sprintf("key rate (τ %v)", tau)
	}
	return &delayed{name: name, delay: int64(cfg.Delay), l: &keyRate{tau: float64(tau), keys: map[string]*[2]decayed{}, inf: tau <= 0}}
}

func (k *keyRate) counts(key string, now int64) (n, c float64) {
	st := k.keys[key]
	if st == nil {
		return 0, 0
	}
	if k.inf {
		return st[0].v, st[1].v
	}
	return st[0].get(now, k.tau), st[1].get(now, k.tau)
}

func (k *keyRate) mean() float64 {
	if k.tried == 0 {
		return 0
	}
	return k.lost / k.tried
}

func (k *keyRate) keyRisk(key string, now int64) float64 {
	n, c := k.counts(key, now)
	return (c + k.mean()) / (n + 1)
}

func (k *keyRate) risk(a Attempt) (float64, features) {
	return k.keyRisk(a.Key, a.At.UnixNano()), features{}
}

func (k *keyRate) observe(a Attempt, _ features) {
	st := k.keys[a.Key]
	if st == nil {
		st = &[2]decayed{}
		k.keys[a.Key] = st
	}
	now := a.At.UnixNano()
	y := 0.0
	if a.Lost {
		y = 1
	}
	if k.inf {
		st[0].v++
		st[1].v += y
	} else {
		st[0].add(now, k.tau, 1)
		st[1].add(now, k.tau, y)
	}
	k.tried++
	k.lost += y
}

// constant is the baseline "a constant rate": the running mean of all
// outcomes seen.
type constant struct{ tried, lost float64 }

// Constant is the baseline that predicts the running mean loss rate for
// every write.
func Constant(cfg Config) Predictor {
	cfg = cfg.withDefaults()
	return &delayed{name: "constant (running mean)", delay: int64(cfg.Delay), l: &constant{}}
}

func (c *constant) keyRisk(string, int64) float64 {
	if c.tried == 0 {
		return 0
	}
	return c.lost / c.tried
}

func (c *constant) risk(Attempt) (float64, features) { return c.keyRisk("", 0), features{} }

func (c *constant) observe(a Attempt, _ features) {
	c.tried++
	if a.Lost {
		c.lost++
	}
}
