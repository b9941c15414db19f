// Package score turns per-key rates into staleness and conflict figures, in
// batches laid out as structure-of-arrays so that one pass streams through
// memory. The CPU scorer is the default; a CUDA scorer (build tag `cuda`)
// implements the same Scorer interface and must agree with the golden
// vectors in testdata/analytics/.
//
// The maths is stated in analytics/README.md. Per key i, with write rate λ,
// read rate ρ, current max-age T and the write rate λtop of its busiest org:
//
//	x        = λ·T
//	PStale   = 1 − e^(−x)                       (Poisson writes)
//	Expected = ρ·(T − PStale/λ)                 (stale reads within one max-age)
//	Conflict = (1 − e^(−λtop·w))·(1 − e^(−(λ−λtop)·w))   (w = block window)
//	MaxAge*  = clamp(⌊−ln(1−target)/λ⌋)
package score

import (
	"context"
	"fmt"
	"math"
)

// Action codes written to Batch.Action; the advice record spells them out.
const (
	ActionNone            uint8 = 0
	ActionInvalidateEarly uint8 = 1
	ActionPin             uint8 = 2
	ActionBatch           uint8 = 3
)

// Params are the knobs of the scoring model, the same for every key of a
// batch.
type Params struct {
	// PStaleTarget is the highest acceptable probability that a cached copy
	// goes stale before it expires, in (0,1).
	PStaleTarget float64
	// BlockWindow is the time, in seconds, within which two writes to one
	// key from different orgs collide (MVCC read conflict): roughly the
	// endorsement-to-commit latency plus the orderer's batch timeout.
	BlockWindow float64
	// ConflictThreshold is the conflict probability from which a key is
	// advised to be batched or given a single owner.
	ConflictThreshold float64
	// PinHorizon, in seconds: a key whose P(write within PinHorizon) stays
	// under PStaleTarget is advised to be pinned.
	PinHorizon float64
	// MinMaxAge and MaxMaxAge bound the recommended max-age, in seconds.
	MinMaxAge, MaxMaxAge uint32
}

// DefaultParams are sensible defaults for a Fabric network with a sub-second
// batch timeout.
func DefaultParams() Params {
	return Params{
		PStaleTarget:      0.05,
		BlockWindow:       1,
		ConflictThreshold: 0.01,
		PinHorizon:        86400,
		MinMaxAge:         1,
		MaxMaxAge:         7 * 86400,
	}
}

// Validate reports a parameter outside its domain as a *ParamError.
func (p Params) Validate() error {
	switch {
	case !(p.PStaleTarget > 0 && p.PStaleTarget < 1):
		return &ParamError{Field: "PStaleTarget", Reason: "must be in (0,1)"}
	case !(p.BlockWindow >= 0) || math.IsInf(p.BlockWindow, 0):
		return &ParamError{Field: "BlockWindow", Reason: "must be finite and non-negative"}
	case !(p.ConflictThreshold > 0 && p.ConflictThreshold <= 1):
		return &ParamError{Field: "ConflictThreshold", Reason: "must be in (0,1]"}
	case !(p.PinHorizon >= 0) || math.IsInf(p.PinHorizon, 0):
		return &ParamError{Field: "PinHorizon", Reason: "must be finite and non-negative"}
	case p.MaxMaxAge < p.MinMaxAge:
		return &ParamError{Field: "MaxMaxAge", Reason: "below MinMaxAge"}
	}
	return nil
}

// XTarget is −ln(1−PStaleTarget): the largest λ·T whose PStale stays under
// the target. Decisions compare products against it, so that every
// implementation rounds them identically.
func (p Params) XTarget() float64 { return -math.Log1p(-p.PStaleTarget) }

// Decide is the action the scorers give a key of write rate λ, read rate
// ρ, max-age T and conflict risk c, first match wins: batch (c at or
// above the threshold), invalidate-early (λ·T ≥ XTarget and ρ > 0), pin
// (λ·PinHorizon < XTarget), none. It compares the same products as the
// kernels, so it decides as they do; the engine uses it when the conflict
// risk comes from the fitted conflict model instead of the closed form.
func Decide(p Params, lam, rho, maxAge, c float64) uint8 {
	x, xt := lam*maxAge, p.XTarget()
	switch {
	case c >= p.ConflictThreshold:
		return ActionBatch
	case x >= xt && rho > 0:
		return ActionInvalidateEarly
	case lam*p.PinHorizon < xt:
		return ActionPin
	}
	return ActionNone
}

// Batch holds one batch of keys as structure-of-arrays. Inputs must be
// finite and non-negative (the model guarantees it); the scorer writes the
// outputs. Index i of every slice is the same key.
type Batch struct {
	// Inputs.
	WriteRate     []float64 // λ, writes per second
	ReadRate      []float64 // ρ, reads per second
	MaxAge        []float64 // T, the key's current max-age in seconds
	TopWriterRate []float64 // λtop ≤ λ, the write rate of the busiest org

	// Outputs.
	PStale        []float64
	ExpectedStale []float64
	Conflict      []float64
	RecMaxAge     []uint32
	Action        []uint8
}

// BytesPerKey is what scoring one key reads and writes.
const BytesPerKey = 4*8 + 3*8 + 4 + 1

// Len is the number of keys in b.
func (b *Batch) Len() int { return len(b.WriteRate) }

// Resize sets the batch length to n, reusing the arrays when they are large
// enough. New input entries are zero.
func (b *Batch) Resize(n int) {
	b.WriteRate = resize(b.WriteRate, n)
	b.ReadRate = resize(b.ReadRate, n)
	b.MaxAge = resize(b.MaxAge, n)
	b.TopWriterRate = resize(b.TopWriterRate, n)
	b.PStale = resize(b.PStale, n)
	b.ExpectedStale = resize(b.ExpectedStale, n)
	b.Conflict = resize(b.Conflict, n)
	b.RecMaxAge = resize(b.RecMaxAge, n)
	b.Action = resize(b.Action, n)
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	out := make([]T, n, n+n/4)
	copy(out, s)
	return out
}

func (b *Batch) check() error {
	n := len(b.WriteRate)
	for _, m := range []int{len(b.ReadRate), len(b.MaxAge), len(b.TopWriterRate), len(b.PStale),
		len(b.ExpectedStale), len(b.Conflict), len(b.RecMaxAge), len(b.Action)} {
		if m != n {
			return &BatchError{Reason: fmt.Sprintf("field lengths differ (%d vs %d)", m, n)}
		}
	}
	return nil
}

// Scorer scores batches. Implementations must agree with the golden vectors.
type Scorer interface {
	// Name is "cpu" or "cuda"; advice records carry it.
	Name() string
	// Score fills b's outputs from its inputs.
	Score(ctx context.Context, p Params, b *Batch) error
	// Close releases the scorer's resources.
	Close() error
}

// MaxAgeFor is the recommended max-age, in seconds, of a key of write
// rate lam: ⌊XTarget/λ⌋ within [MinMaxAge, MaxMaxAge], MaxMaxAge for a
// key never written (λ = 0), as the scorers compute it.
func (p Params) MaxAgeFor(lam float64) uint32 {
	if !(lam > 0) {
		return p.MaxMaxAge
	}
	switch s := p.XTarget() * (1 / lam); {
	case s < float64(p.MinMaxAge):
		return p.MinMaxAge
	case s < float64(p.MaxMaxAge):
		return uint32(s)
	}
	return p.MaxMaxAge
}
