package model

import (
	"math"
	"testing"
	"time"
)

// A key that speeds up is followed within a few writes; one that slows
// down within a few of its old gaps of silence.
func TestPosteriorFollowsRateShifts(t *testing.T) {
	tr := testTracker()
	at, v := t0, uint64(0)
	writeAt := func(gap time.Duration) {
		t.Helper()
		at = at.Add(gap)
		v++
		if err := tr.ObserveTransition(write("k", v, at, "Org1MSP")); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 { // one write every 30 min
		writeAt(30 * time.Minute)
	}
	if got := features(t, tr, at).WriteRate[0]; math.Abs(got*1800-1) > 0.25 {
		t.Fatalf("rate %v after 20 gaps of 30 min, want about 1/1800", got)
	}
	for range 5 { // now one every 10 s
		writeAt(10 * time.Second)
	}
	if got := features(t, tr, at).WriteRate[0]; got < 0.05 {
		t.Errorf("rate %v after 5 gaps of 10 s, want near 0.1 (the EWMA of gaps would still say 1/600)", got)
	}
	for range 30 {
		writeAt(10 * time.Second)
	}
	fast := features(t, tr, at).WriteRate[0]
	if math.Abs(fast-0.1) > 0.01 {
		t.Errorf("rate %v after 30 more gaps of 10 s, want 0.1", fast)
	}
	if got := features(t, tr, at.Add(2*time.Minute)).WriteRate[0]; !(got < fast/4) {
		t.Errorf("rate %v after 2 min (12 old gaps) of silence, want well under %v", got, fast)
	}
}

func TestPosteriorOfAKeyWrittenOnce(t *testing.T) {
	tr := testTracker()
	if err := tr.ObserveTransition(write("k", 1, t0, "Org1MSP")); err != nil {
		t.Fatal(err)
	}
	prior := tr.grid.priorMean()
	prev := math.Inf(1)
	for _, s := range []time.Duration{0, time.Minute, time.Hour, 24 * time.Hour} {
		got := features(t, tr, t0.Add(s)).WriteRate[0]
		if !(got <= prev) || (s == 0 && math.Abs(got-prior) > 1e-6*prior) {
			t.Errorf("after %s: rate %v (prior mean %v, before %v): want the prior mean at 0, then falling", s, got, prior, prev)
		}
		prev = got
	}
}

func TestGridStaysNormalizedAndFinite(t *testing.T) {
	g := newRateGrid(DefaultConfig())
	var post [GridPoints]float32
	g.start(&post)
	for _, gap := range []float64{0, 1e-9, 1e-3, 1, 1e3, 1e7, 1e12, 5, 5, 5} {
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
		for _, s := range []float64{0, 1, 1e9, math.Inf(1)} {
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
			w := ((1-h)*float64(post[i]) + h*g.prior[i]) * math.Exp(-(g.lam[i]-g.lam[0])*s)
			num += w * g.lam[i]
			den += w
		}
		if got, want := g.mean(&post, s), num/den; math.Abs(got-want) > 1e-12*want {
			t.Errorf("silence %v: mean %v, exact weights give %v", s, got, want)
		}
	}
}
