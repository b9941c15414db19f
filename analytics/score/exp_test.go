package score

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// ulps is |got − want| in units of the last place of want.
func ulps(got float64, want *big.Float) float64 {
	w, _ := want.Float64()
	d := new(big.Float).SetPrec(refPrec).Sub(bf(got), want)
	df, _ := d.Float64()
	return math.Abs(df) / (math.Nextafter(w, math.Inf(1)) - w)
}

// TestExpNegAccuracy checks expNeg against the 256-bit reference over its
// whole domain [0.5, 38): random points, the ends, and every reduction
// boundary region.
func TestExpNegAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	xs := []float64{0.5, math.Nextafter(expNegligible, 0), 1, math.Ln2, 32 * math.Ln2 / 32, 37.9}
	for range 1 << 11 {
		xs = append(xs, 0.5+rng.Float64()*(expNegligible-0.5))
	}
	for j := 128; j < 14040; j += 7 { // around half-steps (n+½)·ln2/256, where rounding of n flips
		m := (float64(j) + 0.5) * math.Ln2 / 256
		if m >= 0.5 && m < expNegligible {
			xs = append(xs, m, math.Nextafter(m, 0), math.Nextafter(m, 100))
		}
	}
	worst, at := 0.0, 0.0
	for _, x := range xs {
		want := new(big.Float).SetPrec(refPrec).Sub(bf(1), oneMinusExpBig(bf(x)))
		if u := ulps(expNeg(x), want); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("expNeg: worst %.3f ULP at x = %v over %d points", worst, at, len(xs))
	if worst > 4 {
		t.Errorf("expNeg off by %.3f ULP at x = %v, want ≤ 4", worst, at)
	}
}

func BenchmarkExpNeg(b *testing.B) {
	xs := make([]float64, 4096)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range xs {
		xs[i] = 0.5 + rng.Float64()*37
	}
	var s float64
	b.Run("expNeg", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += expNeg(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += math.Exp(-x)
			}
		}
	})
	_ = s
}
