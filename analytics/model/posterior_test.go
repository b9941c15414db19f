package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// keyOnly returns a grid that scores a key by its own posterior alone
// (β = 1: no scale-free component), to check what a key's writes teach.
func keyOnly() *rateGrid {
	g := newRateGrid(DefaultConfig())
	g.beta = 1
	return g
}

// A key that speeds up is followed within a few writes; one that slows
// down within a few of its old gaps of silence.
func TestPosteriorFollowsRateShifts(t *testing.T) {
	g := keyOnly()
	var post [GridPoints]float32
	g.start(&post)
	gaps := func(n int, gap float64) {
		for range n {
			g.observeGap(&post, gap)
			g.beta = 1
		}
	}
	gaps(20, 1800) // one write every 30 min
	if got := g.mean(&post, 0); math.Abs(got*1800-1) > 0.35 {
		t.Fatalf("rate %v after 20 gaps of 30 min, want about 1/1800", got)
	}
	gaps(5, 10) // now one every 10 s
	if got := g.mean(&post, 0); got < 0.05 {
		t.Errorf("rate %v after 5 gaps of 10 s, want near 0.1 (the EWMA of gaps would still say 1/600)", got)
	}
	gaps(30, 10)
	fast := g.mean(&post, 0)
	if math.Abs(fast-0.1) > 0.03 {
		t.Errorf("rate %v after 30 more gaps of 10 s, want 0.1", fast)
	}
	if got := g.mean(&post, 120); !(got < fast/4) {
		t.Errorf("rate %v after 2 min (12 old gaps) of silence, want well under %v", got, fast)
	}
}

// A key written once is scored with the prior (mixed with the scale-free
// component) reweighed by its silence: falling, from the mixture's mean at
// zero silence to the slowest rate after a very long one.
func TestPosteriorOfAKeyWrittenOnce(t *testing.T) {
	g := newRateGrid(DefaultConfig())
	var post [GridPoints]float32
	g.start(&post)
	var uni float64
	for _, l := range g.lam {
		uni += l / GridPoints
	}
	want0 := g.beta*g.priorMean() + (1-g.beta)*uni
	prev := math.Inf(1)
	for _, s := range []float64{0, 1e-3, 1, 60, 3600, 86400, 1e7, 1e12} {
		got := g.mean(&post, s)
		if !(got < prev) && !(got == GridMin && prev == GridMin) || (s == 0 && math.Abs(got-want0) > 1e-9*want0) {
			t.Errorf("after %gs: rate %v (before %v, mixture mean %v): want the mixture mean at 0, then falling", s, got, prev, want0)
		}
		prev = got
	}
	if math.Abs(prev-GridMin) > 1e-9 {
		t.Errorf("after 1e12 s: %v, want the slowest rate %v", prev, GridMin)
	}
}

// The rate given a silence falls as the silence grows, for keys of any
// history (the posterior's own rates are above the prior's there).
func TestMeanFallsWithSilence(t *testing.T) {
	for _, gap := range []float64{0.1, 1, 10, 600} {
		g := newRateGrid(DefaultConfig())
		var post [GridPoints]float32
		g.start(&post)
		for range 30 {
			g.observeGap(&post, gap)
		}
		prev := math.Inf(1)
		for s := 0.0; s < 1e6; s = s*1.5 + 0.01 {
			got := g.mean(&post, s)
			if got > prev*(1+1e-12) {
				t.Fatalf("gaps of %gs: rate %v after %gs of silence, up from %v", gap, got, s, prev)
			}
			prev = got
		}
	}
}

func TestGridStaysNormalizedAndFinite(t *testing.T) {
	g := newRateGrid(DefaultConfig())
	var post [GridPoints]float32
	g.start(&post)
	for _, gap := range []float64{0, 1e-9, 1e-3, 1, 1e3, 1e7, 1e12, 5, 5, 5, -1, math.NaN(), math.Inf(1), 1e300, 1e-300, 2} {
		g.observeGap(&post, gap)
		var sum float64
		for _, p := range post {
			if !(p >= 0) {
				t.Fatalf("gap %v: weight %v", gap, p)
			}
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("gap %v: weights sum to %v", gap, sum)
		}
		if !(g.beta >= betaMin && g.beta <= betaMax) || !(g.priorMean() > 0) {
			t.Fatalf("gap %v: β %v, prior mean %v", gap, g.beta, g.priorMean())
		}
		for _, s := range []float64{0, 1, 1e9, math.Inf(1), math.NaN(), -5} {
			if m := g.mean(&post, s); !(m >= GridMin && m <= GridMax) {
				t.Fatalf("gap %v, silence %v: mean %v outside the grid", gap, s, m)
			}
		}
	}
}

// The hand-inlined exponential of mean against math.Exp.
func TestMeanMatchesExactWeights(t *testing.T) {
	g := newRateGrid(DefaultConfig())
	var post [GridPoints]float32
	g.start(&post)
	for _, gap := range []float64{30, 30, 5, 600} {
		g.observeGap(&post, gap)
	}
	for _, s := range []float64{0, 1e-3, 0.7, 5, 60, 3600, 86400, 1e7} {
		h := -math.Expm1(-g.hazard * s)
		var num, den float64
		for i := range g.lam {
			m := g.beta*((1-h)*float64(post[i])+h*g.prior[i]) + (1-g.beta)/GridPoints
			w := m * math.Exp(-(g.lam[i]-g.lam[0])*s)
			num += w * g.lam[i]
			den += w
		}
		if got, want := g.mean(&post, s), num/den; math.Abs(got-want) > 1e-12*want {
			t.Errorf("silence %v: mean %v, exact weights give %v", s, got, want)
		}
	}
}

// medianInterval is 1/(the prior's median rate).
func medianInterval(g *rateGrid) float64 {
	var c float64
	for i, p := range g.prior {
		if c += p; c >= 0.5 {
			return 1 / g.lam[i]
		}
	}
	return 1 / GridMax
}

// The prior is learned from the keys' first gaps: a population whose
// median interval is 1 min (the starting prior says 1 h) teaches a prior
// with its median near 1 min; one of 1 day, near 1 day.
func TestPriorIsLearnedFromFirstGaps(t *testing.T) {
	for _, median := range []float64{60, 86400} {
		g := newRateGrid(DefaultConfig())
		rng := rand.New(rand.NewPCG(3, uint64(median)))
		for range 3000 {
			var post [GridPoints]float32
			g.start(&post)
			rate := math.Exp(rng.NormFloat64()) / median
			g.observeGap(&post, rng.ExpFloat64()/rate)
		}
		if got := medianInterval(g); got < median/2.5 || got > median*2.5 {
			t.Errorf("population median %gs: learned prior median %gs", median, got)
		}
	}
}

// β, the share of gaps at the key's own rate, is high for Poisson writes
// and lower for bursty ones (runs of quick writes between long pauses).
func TestBetaSeparatesPoissonFromBursts(t *testing.T) {
	learn := func(gap func(rng *rand.Rand, rate float64) float64) float64 {
		g := newRateGrid(DefaultConfig())
		rng := rand.New(rand.NewPCG(5, 5))
		for range 100 {
			var post [GridPoints]float32
			g.start(&post)
			rate := math.Exp(2*rng.NormFloat64()) / 600
			for range 50 {
				g.observeGap(&post, gap(rng, rate))
			}
		}
		return g.beta
	}
	poisson := learn(func(rng *rand.Rand, rate float64) float64 { return rng.ExpFloat64() / rate })
	bursty := learn(func(rng *rand.Rand, rate float64) float64 {
		if rng.Float64() < 0.8 {
			return rng.ExpFloat64() / rate / 50 // within a burst
		}
		return rng.ExpFloat64() / rate * 5 // between bursts
	})
	if !(poisson > 0.9) || !(bursty < poisson-0.1) {
		t.Errorf("β: Poisson writes %v (want > 0.9), bursty writes %v (want well under)", poisson, bursty)
	}
}
