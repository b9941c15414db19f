package score

import (
	"math"
	"math/big"
)

// The reference scorer used to produce and check the golden vectors: a
// plain scalar model evaluated in 256-bit big.Float arithmetic, with its own
// exponential (Taylor series with range reduction), sharing no code with
// the scorers under test. Only the decision constant −ln(1−target) comes
// from math.Log1p; the golden file records its value.

const refPrec = 256

func bf(x float64) *big.Float { return new(big.Float).SetPrec(refPrec).SetFloat64(x) }

type refOut struct {
	pStale, expected, conflict float64
	recMaxAge                  uint32
	action                     uint8
	// margins: how close each decision was to its threshold (relative);
	// golden cases keep away from ties.
	margin float64
}

func relGap(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// reference scores one key the slow, obvious way.
func reference(p Params, xTarget, lam, rho, t, top float64) refOut {
	var o refOut
	// x is the exact product λ·T, not its float64 rounding.
	pBig := oneMinusExpBig(new(big.Float).SetPrec(refPrec).Mul(bf(lam), bf(t)))
	o.pStale, _ = pBig.Float64()
	if lam > 0 && rho > 0 {
		// E = ρ·(T − p/λ)
		e := new(big.Float).SetPrec(refPrec).Quo(pBig, bf(lam))
		e.Sub(bf(t), e)
		e.Mul(e, bf(rho))
		o.expected, _ = e.Float64()
	}
	if rest := lam - top; top > 0 && rest > 0 {
		qa := oneMinusExpBig(new(big.Float).SetPrec(refPrec).Mul(bf(top), bf(p.BlockWindow)))
		qb := oneMinusExpBig(new(big.Float).SetPrec(refPrec).Mul(bf(rest), bf(p.BlockWindow)))
		o.conflict, _ = new(big.Float).SetPrec(refPrec).Mul(qa, qb).Float64()
	}
	o.recMaxAge = p.MaxMaxAge
	margin := 1.0
	if lam > 0 {
		s := xTarget / lam // implementations may round this product or quotient differently: ties are excluded
		switch {
		case s < float64(p.MinMaxAge):
			o.recMaxAge = p.MinMaxAge
		case s < float64(p.MaxMaxAge):
			o.recMaxAge = uint32(math.Floor(s))
			margin = math.Min(margin, relGap(s, math.Round(s)))
		}
	}
	xf := lam * t
	switch {
	case o.conflict >= p.ConflictThreshold:
		o.action = ActionBatch
	case xf >= xTarget && rho > 0:
		o.action = ActionInvalidateEarly
	case lam*p.PinHorizon < xTarget:
		o.action = ActionPin
	default:
		o.action = ActionNone
	}
	if o.conflict > 0 {
		margin = math.Min(margin, relGap(o.conflict, p.ConflictThreshold))
	}
	margin = math.Min(margin, relGap(xf, xTarget))
	margin = math.Min(margin, relGap(lam*p.PinHorizon, xTarget))
	o.margin = margin
	return o
}

// oneMinusExpBig returns 1 − e^(−x) for a big x ≥ 0.
func oneMinusExpBig(x *big.Float) *big.Float {
	// e^(−x) = 1/e^x, e^x by the series with range reduction.
	r := new(big.Float).SetPrec(refPrec).Set(x)
	k := 0
	half := bf(0.5)
	for r.Cmp(half) > 0 {
		r.Quo(r, bf(2))
		k++
	}
	sum, term := bf(1), bf(1)
	eps := new(big.Float).SetPrec(refPrec).SetMantExp(bf(1), -300)
	for n := 1; term.Cmp(eps) > 0; n++ {
		term.Mul(term, r)
		term.Quo(term, bf(float64(n)))
		sum.Add(sum, term)
	}
	for range k {
		sum.Mul(sum, sum)
	}
	inv := new(big.Float).SetPrec(refPrec).Quo(bf(1), sum)
	return new(big.Float).SetPrec(refPrec).Sub(bf(1), inv)
}
