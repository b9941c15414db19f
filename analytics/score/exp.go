package score

import "math"

// expNeg returns e^(−x) for 0.5 ≤ x < expNegligible, the range the scorer
// needs it on. The scoring loop carries an inlined copy (the compiler will
// not inline it); this one is what the accuracy test checks, and both must
// stay the same expression.
//
// Range reduction: x = (256k + j)·ln2/256 + r with j ∈ [0,256) and
// |r| ≤ ln2/512 ≈ 0.00135, so e^(−x) = 2^(−k) · 2^(−j/256) · e^(−r).
// ln2/256 is split in two (Cody–Waite) so that r is exact to ~2^(−80);
// 2^(−j/256) comes from a 2 KiB table rounded once, scaled by 2^(−k) by
// subtracting k from its exponent bits (an integer operation, not a
// multiplication); e^(−r) is the Taylor polynomial of degree 4 (truncation
// error r⁵/5! < 4e-17, under 0.2 ULP) in Estrin's form. The result is
// within 4 ULP of e^(−x) (worst seen 3.2; TestExpNegAccuracy checks 2048
// random points and every 7th reduction boundary against math/big);
// 1 − e^(−x) inherits at most 0.61/0.39 of that relative error: well
// inside the golden vectors' 1e-14.
func expNeg(x float64) float64 {
	// n = round(x·256/ln2) (x < 38 keeps n < 14035), without a float–int
	// round trip: adding 1.5·2⁵² leaves n in the low bits of the sum.
	kd := x*invLn2x256 + roundShift
	nf := kd - roundShift
	n := math.Float64bits(kd)
	r := (x - nf*ln2by256Hi) - nf*ln2by256Lo
	r2 := r * r
	p := (1 - r) + r2*((e2-r*e3)+r2*e4)
	// 2^(−j/256)·2^(−k) by subtracting k from the table entry's exponent
	// (k < 55: never subnormal); only bits 8–19 of n reach the exponent.
	return p * math.Float64frombits(exp2Bits[n&255]-(n>>8)<<52)
}

const (
	// expClamp: for x ≥ 37.9, e^(−x) < 3.5e-17, under half an ULP of 1,
	// so 1 − e^(−x) rounds to 1 and x can be clamped there.
	expClamp   = 37.9
	invLn2x256 = 256 / math.Ln2
	roundShift = 1.5 * (1 << 52)
	// ln2/256 = ln2by256Hi + ln2by256Lo, Hi with the low 32 bits of its
	// significand zero so that n·Hi is exact for n < 2²¹.
	ln2by256Hi = 0.002707604318857193
	ln2by256Lo = math.Ln2/256 - ln2by256Hi
	e2         = 1.0 / 2
	e3         = 1.0 / 6
	e4         = 1.0 / 24
)

// exp2Bits[j] is the bit pattern of 2^(−j/256), from math.Exp2 (< 1 ULP).
var exp2Bits = func() (t [256]uint64) {
	for j := range t {
		t[j] = math.Float64bits(math.Exp2(-float64(j) / 256))
	}
	return t
}()
