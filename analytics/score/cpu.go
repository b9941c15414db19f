package score

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunk is how many keys one goroutine scores before taking the next range:
// large enough to amortize scheduling, small enough to balance cores.
const chunk = 1 << 15

// CPU is the default scorer: a branch-light scalar loop over the arrays,
// split across goroutines. It allocates nothing per key.
type CPU struct {
	workers int
}

// CPUOption configures a CPU scorer.
type CPUOption func(*CPU)

// WithWorkers sets how many goroutines score in parallel (default
// GOMAXPROCS).
func WithWorkers(n int) CPUOption {
	return func(c *CPU) {
		if n > 0 {
			c.workers = n
		}
	}
}

// NewCPU returns the CPU scorer.
func NewCPU(opts ...CPUOption) *CPU {
	c := &CPU{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Name implements Scorer.
func (*CPU) Name() string { return "cpu" }

// Close implements Scorer.
func (*CPU) Close() error { return nil }

// Score implements Scorer.
func (c *CPU) Score(ctx context.Context, p Params, b *Batch) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	k := newConsts(p)
	n := b.Len()
	workers := min(c.workers, (n+chunk-1)/chunk)
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			scoreRange(&k, b, lo, min(lo+chunk, n))
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				scoreRange(&k, b, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// consts are the per-batch constants, computed once on the host; the CUDA
// kernel receives the same values.
type consts struct {
	xTarget, window, conflict, pinHorizon float64
	minAge, maxAge                        float64
	minAgeU, maxAgeU                      uint32
}

func newConsts(p Params) consts {
	return consts{
		xTarget: p.XTarget(), window: p.BlockWindow, conflict: p.ConflictThreshold, pinHorizon: p.PinHorizon,
		minAge: float64(p.MinMaxAge), maxAge: float64(p.MaxMaxAge), minAgeU: p.MinMaxAge, maxAgeU: p.MaxMaxAge,
	}
}

// seriesBelow is where the scorer switches between two ways of computing
// p = 1 − e^(−x) and g = 1 − p/x (ExpectedStale = ρ·T·g):
//
//   - x < 1/2: g by its Taylor series g(x) = Σₙ₌₁ (−1)ⁿ⁺¹·xⁿ/(n+1)!
//     (fifteen terms reach float64 precision), then p = x·(1 − g). Neither
//     cancels, and no exponential is needed.
//   - x ≥ 1/2: p = 1 − e^(−x) (e^(−x) ≤ 0.61, so at most ~1.3 bits are lost)
//     and ExpectedStale = ρ·(T − p·(1/λ)) (p/x < 0.79, no cancellation).
//
// MaxAge* is ⌊xTarget·(1/λ)⌋: one IEEE division per key, shared.
//
// The CUDA kernel uses the same split and the same coefficients.
const seriesBelow = 0.5

// expNegligible: for x ≥ 38, e^(−x) < 2^(−54) and 1 − e^(−x) rounds to 1.
const expNegligible = 38

// gSeries is g(x) = 1 − (1 − e^(−x))/x for 0 ≤ x < seriesBelow, in Horner form.
func gSeries(x float64) float64 {
	return x * (c2 - x*(c3-x*(c4-x*(c5-x*(c6-x*(c7-x*(c8-x*(c9-x*(c10-x*(c11-x*(c12-x*(c13-x*(c14-x*(c15-x*c16))))))))))))))
}

// cN = 1/N!, exactly rounded by the compiler.
const (
	c2  = 1.0 / 2
	c3  = 1.0 / 6
	c4  = 1.0 / 24
	c5  = 1.0 / 120
	c6  = 1.0 / 720
	c7  = 1.0 / 5040
	c8  = 1.0 / 40320
	c9  = 1.0 / 362880
	c10 = 1.0 / 3628800
	c11 = 1.0 / 39916800
	c12 = 1.0 / 479001600
	c13 = 1.0 / 6227020800
	c14 = 1.0 / 87178291200
	c15 = 1.0 / 1307674368000
	c16 = 1.0 / 20922789888000
)

// oneMinusExp returns 1 − e^(−x) for x ≥ 0 by the same split.
func oneMinusExp(x float64) float64 {
	if x < seriesBelow {
		return x * (1 - gSeries(x))
	}
	if x < expNegligible {
		return 1 - expNeg(x)
	}
	return 1
}

// scoreRange scores keys [lo,hi): with the vector kernel where the CPU has
// one (cpu_amd64.go), the rest with scoreScalar.
func scoreRange(k *consts, b *Batch, lo, hi int) {
	lo += scoreVector(k, b, lo, hi)
	if lo < hi {
		scoreScalar(k, b, lo, hi)
	}
}

// scoreScalar scores keys [lo,hi) one at a time; it is the definition the
// vector kernel follows operation for operation. Re-slicing to the range
// lets the compiler drop bounds checks inside the loop.
func scoreScalar(k *consts, b *Batch, lo, hi int) {
	wr, rr, ma, tw := b.WriteRate[lo:hi], b.ReadRate[lo:hi], b.MaxAge[lo:hi], b.TopWriterRate[lo:hi]
	n := len(wr)
	rr, ma, tw = rr[:n], ma[:n], tw[:n]
	ps, es, cf := b.PStale[lo:hi][:n], b.ExpectedStale[lo:hi][:n], b.Conflict[lo:hi][:n]
	rec, act := b.RecMaxAge[lo:hi][:n], b.Action[lo:hi][:n]
	for i := range n {
		lam, rho, t, top := wr[i], rr[i], ma[i], tw[i]
		x := lam * t
		// One division per key: 1/λ serves ExpectedStale and MaxAge*.
		inv := 1 / lam
		var p, e float64
		if x < seriesBelow {
			p, e = seriesKey(lam, rho, t)
		} else {
			// p = 1 − expNeg(x), expNeg inlined by hand (the compiler will
			// not inline it) and branch-free: from x = expClamp on,
			// e^(−x) < 2^(−54) and p rounds to exactly 1.
			xe := min(x, expClamp)
			kd := xe*invLn2x256 + roundShift
			mf := kd - roundShift
			m := math.Float64bits(kd)
			r := (xe - mf*ln2by256Hi) - mf*ln2by256Lo
			r2 := r * r
			q := (1 - r) + r2*((e2-r*e3)+r2*e4)
			p = 1 - q*math.Float64frombits(exp2Bits[m&255]-(m>>8)<<52)
			e = rho * (t - p*inv) // ρ·T·(1 − p/x), no cancellation for x ≥ 1/2
			if !(rho > 0) {
				e = 0
			}
		}
		ps[i] = p
		es[i] = e

		c := 0.0
		if rest := lam - top; top > 0 && rest > 0 {
			c = conflictRisk(k, lam, top)
		}
		cf[i] = c

		r := k.maxAgeU
		if lam > 0 {
			if s := k.xTarget * inv; s < k.minAge {
				r = k.minAgeU
			} else if s < k.maxAge {
				r = uint32(s)
			}
		}
		rec[i] = r

		a := ActionNone
		switch {
		case c >= k.conflict:
			a = ActionBatch
		case x >= k.xTarget && rho > 0:
			a = ActionInvalidateEarly
		case lam*k.pinHorizon < k.xTarget:
			a = ActionPin
		}
		act[i] = a
	}
}

// seriesKey is PStale and ExpectedStale of a key with x = λ·T < 1/2.
func seriesKey(lam, rho, t float64) (p, e float64) {
	x := lam * t
	g := gSeries(x)
	p = x * (1 - g)
	e = rho * t * g
	if !(lam > 0 && rho > 0) {
		e = 0
	}
	return p, e
}

// conflictRisk is the conflict risk of a key written at rate λ, λtop of it
// by the busiest org, for 0 < λtop < λ.
func conflictRisk(k *consts, lam, top float64) float64 {
	return oneMinusExp(top*k.window) * oneMinusExp((lam-top)*k.window)
}
