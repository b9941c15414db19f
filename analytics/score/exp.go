package score

import "math"

// expNeg returns e^(−x) for 0.5 ≤ x < expNegligible, the range the scorer
// needs it on, inlined into the scoring loop instead of a call to math.Exp
// (whose special cases and call the loop does not need).
//
// Range reduction: x = (32k + j)·ln2/32 + r with j ∈ [0,32) and
// |r| ≤ ln2/64 ≈ 0.0108, so e^(−x) = 2^(−k) · 2^(−j/32) · e^(−r).
// ln2/32 is split in two (Cody–Waite) so that r is exact to ~2^(−80);
// 2^(−j/32) comes from a table rounded once; e^(−r) is the Taylor
// polynomial of degree 7 (truncation error r⁸/8! < 1.3e-20, far under an
// ULP). The result is within 3 ULP of e^(−x) (measured worst 2.5 ULP;
// TestExpNegAccuracy checks 2048 random points and every reduction
// boundary against math/big), and 1 − e^(−x) inherits at most
// 0.61/0.39 of that relative error: well inside the golden vectors' 1e-14.
func expNeg(x float64) float64 {
	// n = round(x·32/ln2); x < 38 keeps n < 1755.
	n := int64(x*invLn2x32 + 0.5)
	r := (x - float64(n)*ln2by32Hi) - float64(n)*ln2by32Lo
	// e^(−r), Horner.
	p := 1 - r*(1-r*(e2-r*(e3-r*(e4-r*(e5-r*(e6-r*e7))))))
	k, j := n>>5, n&31
	// 2^(−k) by building the exponent bits: k < 55, never subnormal.
	return p * exp2Table[j] * math.Float64frombits(uint64(1023-k)<<52)
}

const (
	// expClamp: for x ≥ 37.9, e^(−x) < 3.5e-17, under half an ULP of 1,
	// so 1 − e^(−x) rounds to 1 and x can be clamped there.
	expClamp  = 37.9
	invLn2x32 = 32 / math.Ln2
	// ln2/32 = ln2by32Hi + ln2by32Lo, Hi with the low 32 bits of its significand zero so that
	// n·Hi is exact for n < 2²¹.
	ln2by32Hi = 0.021660834550857544
	ln2by32Lo = ln2By32 - ln2by32Hi
	ln2By32   = math.Ln2 / 32
	e2        = 1.0 / 2
	e3        = 1.0 / 6
	e4        = 1.0 / 24
	e5        = 1.0 / 120
	e6        = 1.0 / 720
	e7        = 1.0 / 5040
)

// exp2Table[j] = 2^(−j/32), correctly rounded (from math.Exp2, < 1 ULP; checked against math/big in the tests).
var exp2Table = func() (t [32]float64) {
	for j := range t {
		t[j] = math.Exp2(-float64(j) / 32)
	}
	return t
}()
