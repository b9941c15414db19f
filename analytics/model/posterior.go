package model

import "math"

// The write rate of a key is not known; it is inferred. λ lives on a grid
// of GridPoints log-spaced rates from GridMin to GridMax writes per second,
// and each key keeps a posterior over that grid:
//
//   - prior: learned online from the population (empirical Bayes). It
//     starts as a log-normal over λ, median 1/PriorInterval, spread
//     PriorSigma (natural-log units), and each key's first gap, one draw
//     from "a key's rate, then an exponential gap", moves it by one step
//     of online EM (priorWeight pseudo-keys of the starting prior, memory
//     of the last 1/minPriorStep keys); a share priorFloor of the starting
//     prior stays in, so that no rate is ever ruled out;
//   - a key's posterior is bound to the prior only at its first gap (until
//     then the key is scored with the prior as learned by then), so keys
//     first written before anything was learned are not stuck with the
//     starting prior;
//   - a write after a gap g multiplies the posterior by the likelihood of
//     that gap, λ·e^(−λg), and renormalizes;
//   - rates change: with hazard ChangeRate per second the key's rate is
//     redrawn from the prior (weight h = 1 − e^(−ChangeRate·Δ) across a
//     stretch Δ), and between two writes its logarithm drifts by a normal
//     step of RateDrift (the posterior is convolved with it), so a run of
//     equal gaps never makes the posterior a point;
//   - gaps are a two-component renewal: with probability β a gap is drawn
//     at the key's rate, otherwise from a scale-free component (uniform in
//     log λ over the grid) whose hazard after a silence s is about 1/s.
//     β is learned online from the population's gaps (the share of them
//     the key component explains better); β near 1 is Poisson writes,
//     lower β is bursty writes, where soon after a write another is
//     likely;
//   - at scoring time, s = now − last write is evidence too (no write for
//     s seconds has likelihood e^(−λs)); the mean of λ under
//     (β·post + (1−β)·uniform) reweighed by it is the rate handed to the
//     scorer.
//
// The learned prior and β are the only state shared by keys; everything
// is causal (a key's rate at t uses the events before t only).
const (
	// GridPoints is the size of the rate grid (and of the per-key state).
	GridPoints = 64
	// GridMin and GridMax bound the rate grid, in writes per second:
	// one write in ~11.6 days to ten a second.
	GridMin = 1e-6
	GridMax = 10.0
)

// Population learning: product defaults, not fitted to any workload.
const (
	priorWeight  = 10   // pseudo-keys of the starting prior
	minPriorStep = 1e-3 // the learning rate's floor: memory of ~1000 keys or gaps
	priorFloor   = 0.01 // share of the starting prior always kept in
	betaStart    = 0.5  // no evidence either way
	betaMin      = 0.01 // β is kept in [betaMin, betaMax]
	betaMax      = 0.99 //
	unbound      = -1.0 // post[0] of a key not bound to the prior yet
	driftRadius  = 12   // the drift kernel's half-width cap, in grid steps
)

// rateGrid is the grid, the prior and what is learned from the population.
type rateGrid struct {
	lam       [GridPoints]float64
	prior     [GridPoints]float64 // the prior in use, normalized
	base      [GridPoints]float64 // the starting prior
	learned   [GridPoints]float64 // learned from first gaps
	logLam    [GridPoints]float64
	drift     []float64 // the log-rate drift kernel, offsets −r..r
	hazard    float64   // per second
	priorRate float64   // the prior mean of λ
	minDelta  float64   // seconds
	firstGaps float64   // keys that taught the prior
	beta      float64   // P(a gap is at the key's rate)
	gaps      float64   // gaps that taught β
}

func newRateGrid(c Config) *rateGrid {
	g := &rateGrid{hazard: 1 / c.ChangeInterval.Seconds(), minDelta: c.MinInterval.Seconds(), beta: betaStart}
	mu, sig := math.Log(1/c.PriorInterval.Seconds()), c.PriorSigma
	step := math.Log(GridMax/GridMin) / (GridPoints - 1)
	var z float64
	for i := range g.lam {
		l := math.Log(GridMin) + step*float64(i)
		g.lam[i], g.logLam[i] = math.Exp(l), l
		d := (l - mu) / sig
		g.base[i] = math.Exp(-d * d / 2)
		z += g.base[i]
	}
	for i := range g.base {
		g.base[i] /= z
	}
	g.learned, g.prior = g.base, g.base
	if sd := c.RateDrift; sd > 0 {
		r := min(int(math.Ceil(3*sd/step)), driftRadius)
		g.drift = make([]float64, 2*r+1)
		var kz float64
		for d := -r; d <= r; d++ {
			x := float64(d) * step / sd
			g.drift[d+r] = math.Exp(-x * x / 2)
			kz += g.drift[d+r]
		}
		for j := range g.drift {
			g.drift[j] /= kz
		}
	}
	g.updatePriorRate()
	return g
}

// updatePriorRate recomputes the prior mean of λ.
func (g *rateGrid) updatePriorRate() {
	g.priorRate = 0
	for i := range g.prior {
		g.priorRate += g.prior[i] * g.lam[i]
	}
}

// start marks a key's posterior as not yet bound to the prior (its first
// write): it is scored with the prior until its first gap.
func (g *rateGrid) start(post *[GridPoints]float32) {
	*post = [GridPoints]float32{}
	post[0] = unbound
}

// learnFirstGap moves the learned prior by one online EM step towards
// explaining a key's first gap.
func (g *rateGrid) learnFirstGap(gap float64) {
	var r [GridPoints]float64
	var z float64
	ref := g.logLam[0] - g.lam[0]*gap
	for i := range r {
		r[i] = g.learned[i] * math.Exp(g.logLam[i]-g.lam[i]*gap-ref)
		z += r[i]
	}
	if !(z > 0) || math.IsInf(z, 0) {
		return
	}
	g.firstGaps++
	a := max(1/(g.firstGaps+priorWeight), minPriorStep)
	for i := range g.learned {
		g.learned[i] = (1-a)*g.learned[i] + a*r[i]/z
		g.prior[i] = (1-priorFloor)*g.learned[i] + priorFloor*g.base[i]
	}
	g.updatePriorRate()
}

// observeGap updates post with a write gap seconds after the previous one.
func (g *rateGrid) observeGap(post *[GridPoints]float32, gap float64) {
	if math.IsNaN(gap) {
		gap = 0
	}
	gap = max(gap, g.minDelta)
	if post[0] == unbound {
		g.learnFirstGap(gap)
		for i, p := range g.prior {
			post[i] = float32(p)
		}
	}
	h := -math.Expm1(-g.hazard * gap)
	// The rate during the gap: the old posterior, or (weight h) a fresh
	// draw from the prior, its logarithm drifted; then the gap's
	// likelihood λ·e^(−λ·gap), scaled by its value at the smallest rate so
	// that nothing overflows.
	var m, like [GridPoints]float64
	for i := range m {
		m[i] = (1-h)*float64(post[i]) + h*g.prior[i]
	}
	if g.drift != nil {
		m = g.drifted(&m)
	}
	var z, zUni float64
	ref := g.logLam[0] - g.lam[0]*gap
	for i := range m {
		like[i] = math.Exp(g.logLam[i] - g.lam[i]*gap - ref)
		m[i] *= like[i]
		z += m[i]
		zUni += like[i] / GridPoints
	}
	if !(z > 0) || math.IsInf(z, 0) || math.IsInf(zUni, 0) {
		for i, p := range g.prior { // no rate on the grid explains the gap: start over
			post[i] = float32(p)
		}
		return
	}
	// β: the share of gaps the key component explains, one online step.
	g.gaps++
	a := max(1/(g.gaps+priorWeight), minPriorStep)
	resp := g.beta * z / (g.beta*z + (1-g.beta)*zUni)
	g.beta = min(max((1-a)*g.beta+a*resp, betaMin), betaMax)
	for i := range m {
		post[i] = float32(m[i] / z)
	}
}

// drifted convolves m with the drift kernel (reflected at the grid's ends).
func (g *rateGrid) drifted(m *[GridPoints]float64) (out [GridPoints]float64) {
	r := len(g.drift) / 2
	for i, v := range m {
		if v == 0 {
			continue
		}
		for d, k := range g.drift {
			j := i + d - r
			if j < 0 {
				j = -j
			}
			if j >= GridPoints {
				j = 2*(GridPoints-1) - j
			}
			out[j] += v * k
		}
	}
	return out
}

// mean is the mean of λ given post (as of the last write; the prior if
// unbound), the scale-free component and s seconds without a write since.
func (g *rateGrid) mean(post *[GridPoints]float32, s float64) float64 {
	if !(s > 0) {
		s = 0 // NaN too
	}
	h := -math.Expm1(-g.hazard * s)
	// weight of λᵢ before the silence: cp·post + cq·prior + cu
	cp, cq, cu := g.beta*(1-h), g.beta*h, (1-g.beta)/GridPoints
	if post[0] == unbound {
		cp, cq = 0, g.beta
	}
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
		w := (cp*float64(post[i]) + cq*g.prior[i] + cu) * e
		num += w * g.lam[i]
		den += w
	}
	if !(den > 0) {
		return g.lam[0]
	}
	return num / den
}

// priorMean is the prior mean of λ (a key with no write seen: nothing is
// known of its gaps, so the scale-free component does not apply).
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
