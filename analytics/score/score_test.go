package score

import (
	"context"
	"errors"
	"math"
	"testing"
)

// Hand-computed cases: the values below were worked out on paper from the
// formulas in the package comment, not by running any scorer.
func TestCPUHandComputed(t *testing.T) {
	p := DefaultParams() // target 0.05 → xTarget = −ln 0.95 = 0.0512932943875505
	tests := []struct {
		name                  string
		lam, rho, maxAge, top float64
		pStale, expected, cfl float64
		rec                   uint32
		action                uint8
	}{
		// x = 1: p = 1 − 1/e; E = 2·(100 − p/0.01) = 200/e; ⌊0.05129/0.01⌋ = 5.
		{"one write per max-age", 0.01, 2, 100, 0.01, 0.6321205588285577, 73.57588823428847, 0, 5, ActionInvalidateEarly},
		// λ = 0: nothing goes stale, longest max-age, pinned.
		{"never written", 0, 5, 300, 0, 0, 0, 0, 604800, ActionPin},
		// λ = ln2/100, T = 200: x = 2·ln2, p = 3/4; E = 200 − 0.75·100/ln2;
		// ⌊0.0512933·100/ln2⌋ = ⌊7.4000⌋ = 7.
		{"p = 3/4", math.Ln2 / 100, 1, 200, math.Ln2 / 100, 0.75, 200 - 75/math.Ln2, 0, 7, ActionInvalidateEarly},
		// two orgs at ln2 writes/s each, window 1 s: (1 − 1/2)² = 1/4 → batch.
		{"two orgs collide", 2 * math.Ln2, 0, 10, math.Ln2, 1 - math.Exp(-20*math.Ln2), 0, 0.25, 1, ActionBatch},
		// x = 0.0018: p = x − x²/2 + x³/6 − … = 0.00179838097156275742;
		// E = 0.5·(3600 − p/5e-7) = 1.61902843724258; λ·86400 = 0.0432 <
		// 0.0513 → pin; ⌊0.0512933/5e-7⌋ = 102586.
		{"cold key", 5e-7, 0.5, 3600, 5e-7, 0.00179838097156275742, 1.61902843724258323, 0, 102586, ActionPin},
	}
	b := &Batch{}
	b.Resize(len(tests))
	for i, tc := range tests {
		b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i] = tc.lam, tc.rho, tc.maxAge, tc.top
	}
	if err := NewCPU().Score(context.Background(), p, b); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				name      string
				got, want float64
				rel       float64
			}{{"pStale", b.PStale[i], tc.pStale, 1e-14}, {"expected", b.ExpectedStale[i], tc.expected, 1e-9}, {"conflict", b.Conflict[i], tc.cfl, 1e-14}} {
				if !within(f.got, f.want, f.rel) {
					t.Errorf("%s = %.17g, want %.17g", f.name, f.got, f.want)
				}
			}
			if b.RecMaxAge[i] != tc.rec || b.Action[i] != tc.action {
				t.Errorf("recMaxAge, action = %d, %d; want %d, %d", b.RecMaxAge[i], b.Action[i], tc.rec, tc.action)
			}
		})
	}
}

func TestCPUWorkersAgreeBitForBit(t *testing.T) {
	g := loadGolden(t)
	big := &Batch{}
	n := 5*chunk + 123 // several chunks and a ragged tail
	big.Resize(n)
	for i := range n {
		c := g.Cases[i%len(g.Cases)]
		big.WriteRate[i], big.ReadRate[i], big.MaxAge[i], big.TopWriterRate[i] = c.WriteRate, c.ReadRate, c.MaxAge, c.TopWriterRate
	}
	one := &Batch{}
	one.Resize(n)
	copy(one.WriteRate, big.WriteRate)
	copy(one.ReadRate, big.ReadRate)
	copy(one.MaxAge, big.MaxAge)
	copy(one.TopWriterRate, big.TopWriterRate)
	ctx := context.Background()
	if err := NewCPU(WithWorkers(4)).Score(ctx, g.Params, big); err != nil {
		t.Fatal(err)
	}
	if err := NewCPU(WithWorkers(1)).Score(ctx, g.Params, one); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if math.Float64bits(big.PStale[i]) != math.Float64bits(one.PStale[i]) || big.ExpectedStale[i] != one.ExpectedStale[i] ||
			big.Conflict[i] != one.Conflict[i] || big.RecMaxAge[i] != one.RecMaxAge[i] || big.Action[i] != one.Action[i] {
			t.Fatalf("key %d differs between 4 workers and 1", i)
		}
		if c := g.Cases[i%len(g.Cases)]; big.Action[i] != c.Action {
			t.Fatalf("key %d: action %d, golden %d", i, big.Action[i], c.Action)
		}
	}
}

func TestCPURejectsBadInput(t *testing.T) {
	ctx := context.Background()
	b := &Batch{}
	b.Resize(3)
	b.Action = b.Action[:2]
	var be *BatchError
	if err := NewCPU().Score(ctx, DefaultParams(), b); !errors.As(err, &be) {
		t.Fatalf("ragged batch: got %v, want *BatchError", err)
	}
	for _, mut := range []func(*Params){
		func(p *Params) { p.PStaleTarget = 0 },
		func(p *Params) { p.PStaleTarget = math.NaN() },
		func(p *Params) { p.BlockWindow = math.Inf(1) },
		func(p *Params) { p.ConflictThreshold = 2 },
		func(p *Params) { p.MinMaxAge, p.MaxMaxAge = 10, 5 },
	} {
		p := DefaultParams()
		mut(&p)
		var pe *ParamError
		b.Resize(3)
		if err := NewCPU().Score(ctx, p, b); !errors.As(err, &pe) {
			t.Errorf("params %+v: got %v, want *ParamError", p, err)
		}
	}
}

func TestCPUStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := &Batch{}
	b.Resize(4 * chunk)
	if err := NewCPU(WithWorkers(2)).Score(ctx, DefaultParams(), b); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestNewCUDAWithoutDeviceIsTyped(t *testing.T) {
	s, err := NewCUDA()
	if err == nil {
		// A device is present: the scorer must work (golden vectors are
		// checked in cuda_test.go).
		_ = s.Close()
		return
	}
	var ee *EngineError
	if !errors.As(err, &ee) || ee.Engine != "cuda" {
		t.Fatalf("NewCUDA error %v (%T), want *EngineError for cuda", err, err)
	}
	if !errors.Is(err, ErrNotBuilt) && !errors.Is(err, ErrNoDevice) {
		t.Fatalf("NewCUDA error %v wraps neither ErrNotBuilt nor ErrNoDevice", err)
	}
}
