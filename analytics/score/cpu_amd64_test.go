//go:build amd64 && !purego

package score

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// The offsets the kernel (internal/avx2/kernel_amd64.s) uses for avx2Table
// and consts.
func TestAVX2TableLayout(t *testing.T) {
	var a avx2Table
	var k consts
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"clamp", unsafe.Offsetof(a.clamp), 0}, {"invLn2x256", unsafe.Offsetof(a.invLn2x256), 32},
		{"shift", unsafe.Offsetof(a.shift), 64}, {"ln2Hi", unsafe.Offsetof(a.ln2Hi), 96},
		{"ln2Lo", unsafe.Offsetof(a.ln2Lo), 128}, {"one", unsafe.Offsetof(a.one), 160},
		{"below", unsafe.Offsetof(a.below), 192}, {"e2", unsafe.Offsetof(a.e2), 224},
		{"e3", unsafe.Offsetof(a.e3), 256}, {"e4", unsafe.Offsetof(a.e4), 288},
		{"two31", unsafe.Offsetof(a.two31), 320},
		{"g", unsafe.Offsetof(a.g), 352}, {"mask255", unsafe.Offsetof(a.mask255), 832},
		{"sign32", unsafe.Offsetof(a.sign32), 864}, {"act", unsafe.Offsetof(a.act), 880},
		{"flags", unsafe.Offsetof(a.flags), 1904}, {"exp2", unsafe.Offsetof(a.exp2), 1968},
		{"k.xTarget", unsafe.Offsetof(k.xTarget), 0}, {"k.pinHorizon", unsafe.Offsetof(k.pinHorizon), 24},
		{"k.minAge", unsafe.Offsetof(k.minAge), 32}, {"k.maxAge", unsafe.Offsetof(k.maxAge), 40},
	} {
		if c.got != c.want {
			t.Errorf("offset of %s = %d, the kernel uses %d", c.name, c.got, c.want)
		}
	}
}

// vectorInputs are keys over every branch of the model: rates over many
// decades, x on both sides of 1/2 and of expClamp, λ = 0, ρ = 0, T = 0,
// one and two writer groups, decisions near their thresholds.
func vectorInputs(n int) *Batch {
	rng := rand.New(rand.NewPCG(3, 4))
	logU := func(lo, hi float64) float64 { return math.Pow(10, lo+(hi-lo)*rng.Float64()) }
	b := &Batch{}
	b.Resize(n)
	xT := DefaultParams().XTarget()
	for i := range n {
		lam, rho, t := logU(-9, 2), logU(-6, 3), math.Round(logU(0, 6))
		switch rng.IntN(10) {
		case 0:
			lam = 0
		case 1:
			rho = 0
		case 2:
			t = 0
		case 3:
			t = 300
			lam = (0.5 + (rng.Float64()-0.5)*1e-3) / t // x around 1/2
		case 4:
			lam = xT / t * (1 + (rng.Float64()-0.5)*1e-6) // x around xTarget
		case 5:
			t = 1000
			lam = (expClamp + (rng.Float64()-0.5)*0.2) / t
		case 6:
			lam = xT / 86400 * (1 + (rng.Float64()-0.5)*1e-3) // around pinning
		}
		top := lam
		if rng.IntN(3) == 0 {
			top = lam * rng.Float64()
		}
		b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i] = lam, rho, t, top
	}
	return b
}

// The vector kernel and the scalar loop agree bit for bit, on every
// length mod 4 and across blocks. (This relies on the default build, in
// which Go does not fuse a*b+c.)
func TestVectorMatchesScalar(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	g := loadGolden(t)
	for _, n := range []int{1, 3, 4, 7, 8, 9, 63, vectorBlock - 1, vectorBlock + 5, 3*vectorBlock + 3, len(g.Cases)} {
		vec := vectorInputs(n)
		if n == len(g.Cases) {
			vec = batchOf(g)
		}
		sc := &Batch{}
		sc.Resize(n)
		copy(sc.WriteRate, vec.WriteRate)
		copy(sc.ReadRate, vec.ReadRate)
		copy(sc.MaxAge, vec.MaxAge)
		copy(sc.TopWriterRate, vec.TopWriterRate)
		// Stale outputs must not leak into the result.
		for i := range n {
			vec.Action[i], vec.Conflict[i], vec.PStale[i] = 0xff, math.NaN(), math.NaN()
		}
		k := newConsts(DefaultParams())
		scoreRange(&k, vec, 0, n)
		scoreScalar(&k, sc, 0, n)
		bad := 0
		for i := range n {
			same := math.Float64bits(vec.PStale[i]) == math.Float64bits(sc.PStale[i]) &&
				math.Float64bits(vec.ExpectedStale[i]) == math.Float64bits(sc.ExpectedStale[i]) &&
				math.Float64bits(vec.Conflict[i]) == math.Float64bits(sc.Conflict[i]) &&
				vec.RecMaxAge[i] == sc.RecMaxAge[i] && vec.Action[i] == sc.Action[i]
			if !same {
				if bad++; bad <= 5 {
					t.Errorf("n=%d key %d (λ=%g ρ=%g T=%g λtop=%g): vector (%v %v %v %d %d), scalar (%v %v %v %d %d)", n, i,
						vec.WriteRate[i], vec.ReadRate[i], vec.MaxAge[i], vec.TopWriterRate[i],
						vec.PStale[i], vec.ExpectedStale[i], vec.Conflict[i], vec.RecMaxAge[i], vec.Action[i],
						sc.PStale[i], sc.ExpectedStale[i], sc.Conflict[i], sc.RecMaxAge[i], sc.Action[i])
				}
			}
		}
	}
}

// With the vector kernel off, the golden vectors still hold (the scalar
// loop is what other CPUs run).
func TestGoldenVectorsScalar(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	useAVX2 = false
	g := loadGolden(t)
	b := batchOf(g)
	if err := NewCPU().Score(context.Background(), g.Params, b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, g, b)
}

// BenchmarkScoreVsMemcpyScalar is BenchmarkScoreVsMemcpy with the vector
// kernel off: what a CPU without AVX2 gets.
func BenchmarkScoreVsMemcpyScalar(b *testing.B) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	useAVX2 = false
	benchScoreVsMemcpy(b, "cpu_score_vs_memcpy_ratio_scalar")
}
