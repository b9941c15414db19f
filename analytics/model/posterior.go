package model

import "math"

// The write rate of a key is not known; it is inferred. λ lives on a grid
// of GridPoints log-spaced rates from GridMin to GridMax writes per second,
// and each key keeps a posterior over that grid:
//
//   - prior: log-normal over λ, median 1/PriorInterval, spread PriorSigma
//     (natural-log units), wide enough to cover keys written once a second
//     and keys written once a month;
//   - a write after a gap g multiplies the posterior by the likelihood of
//     that gap, λ·e^(−λg) (Poisson writes), and renormalizes;
//   - rates change: with hazard ChangeRate per second the key's rate is
//     redrawn from the prior, so after any stretch of time Δ the posterior
//     is mixed with the prior with weight h = 1 − e^(−ChangeRate·Δ);
//   - at scoring time, s = now − last write is evidence too (no write for
//     s seconds has likelihood e^(−λs)); the posterior mean of λ given all
//     of it is the write rate handed to the scorer.
//
// A fast key's evidence piles up within minutes and the prior stops
// mattering; a key that speeds up or slows down is followed within a few
// writes (or, for a slow-down, a few of its old gaps of silence) because
// the change hazard keeps the other rates in play; a key seen written only
// once gets the prior reweighed by its silence.
const (
	// GridPoints is the size of the rate grid (and of the per-key state).
	GridPoints = 64
	// GridMin and GridMax bound the rate grid, in writes per second:
	// one write in ~11.6 days to ten a second.
	GridMin = 1e-6
	GridMax = 10.0
)

// rateGrid is the grid and the log-prior of a configuration.
type rateGrid struct {
	lam       [GridPoints]float64
	prior     [GridPoints]float64 // normalized
	logLam    [GridPoints]float64
	hazard    float64 // per second
	priorRate float64 // the prior mean of λ
	minRate   float64
	minDelta  float64 // seconds
}

func newRateGrid(c Config) *rateGrid {
	g := &rateGrid{hazard: 1 / c.ChangeInterval.Seconds(), minDelta: c.MinInterval.Seconds(), minRate: GridMin}
	mu, sig := math.Log(1/c.PriorInterval.Seconds()), c.PriorSigma
	step := math.Log(GridMax/GridMin) / (GridPoints - 1)
	var z float64
	for i := range g.lam {
		l := math.Log(GridMin) + step*float64(i)
		g.lam[i], g.logLam[i] = math.Exp(l), l
		d := (l - mu) / sig
		g.prior[i] = math.Exp(-d * d / 2)
		z += g.prior[i]
	}
	for i := range g.prior {
		g.prior[i] /= z
		g.priorRate += g.prior[i] * g.lam[i]
	}
	return g
}

// start sets a key's posterior to the prior (its first write).
func (g *rateGrid) start(post *[GridPoints]float32) {
	for i, p := range g.prior {
		post[i] = float32(p)
	}
}

// observeGap updates post with a write gap seconds after the previous one.
func (g *rateGrid) observeGap(post *[GridPoints]float32, gap float64) {
	gap = max(gap, g.minDelta)
	h := -math.Expm1(-g.hazard * gap)
	// The rate during the gap: the old posterior, or (weight h) a fresh
	// draw from the prior; then the gap's likelihood λ·e^(−λ·gap), scaled
	// by its value at the smallest rate so that nothing overflows.
	var w [GridPoints]float64
	var z float64
	ref := g.logLam[0] - g.lam[0]*gap
	for i := range w {
		m := (1-h)*float64(post[i]) + h*g.prior[i]
		w[i] = m * math.Exp(g.logLam[i]-g.lam[i]*gap-ref)
		z += w[i]
	}
	if !(z > 0) || math.IsInf(z, 0) {
		g.start(post) // no rate on the grid explains the gap: start over
		return
	}
	for i := range w {
		post[i] = float32(w[i] / z)
	}
}

// mean is the posterior mean of λ given post (as of the last write) and s
// seconds without a write since.
func (g *rateGrid) mean(post *[GridPoints]float32, s float64) float64 {
	s = max(s, 0)
	h := -math.Expm1(-g.hazard * s)
	var num, den float64
	for i := range g.lam {
		// e^(−(λᵢ−λ₀)s) ≤ 1: silence weighed relative to the slowest rate.
		// It falls with i; from an exponent of 700 on it and every later
		// weight underflow (the e^(−x) is inlined by hand: this loop runs
		// 64 times a key on every scoring pass).
		x := (g.lam[i] - g.lam[0]) * s
		if !(x < 700) {
			break
		}
		n := int64(x*invLn2x32 + 0.5)
		r := (x - float64(n)*ln2by32Hi) - float64(n)*ln2by32Lo
		e := (1 - r*(1-r*(0.5-r*(1.0/6-r*(1.0/24-r*(1.0/120)))))) * exp2Table[n&31] * math.Float64frombits(uint64(1023-(n>>5))<<52)
		w := ((1-h)*float64(post[i]) + h*g.prior[i]) * e
		num += w * g.lam[i]
		den += w
	}
	if !(den > 0) {
		return g.lam[0]
	}
	return num / den
}

// priorMean is the prior mean of λ.
func (g *rateGrid) priorMean() float64 { return g.priorRate }

// The reduction of e^(−x) in mean: x = (32k + j)·ln2/32 + r, |r| ≤ ln2/64,
// e^(−x) = 2^(−k)·2^(−j/32)·e^(−r), e^(−r) to degree 5 (relative error
// under 2e-15; weights need far less).
const (
	invLn2x32 = 32 / math.Ln2
	ln2by32Hi = 0.021660834550857544 // low 32 significand bits zero: n·Hi exact
	ln2by32Lo = math.Ln2/32 - ln2by32Hi
)

var exp2Table = func() (t [32]float64) {
	for j := range t {
		t[j] = math.Exp2(-float64(j) / 32)
	}
	return t
}()
