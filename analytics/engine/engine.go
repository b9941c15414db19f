// Package engine turns the model's per-key rates into advice records: it
// builds a structure-of-arrays batch from the tracker, scores it with the
// chosen Scorer, takes the conflict risk from the fitted conflict model
// once the ledger has refused a write for a conflict, caps recommended
// max-ages by the age rule where package policy has chosen it, and emits
// record.Advice for keys whose advice changed.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/cachetsync/cachet/analytics/conflict"
	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/policy"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/record"
)

// Kind names a scoring engine on the command line.
type Kind string

// Engine kinds.
const (
	KindCPU  Kind = "cpu"
	KindCUDA Kind = "cuda"
	KindAuto Kind = "auto" // CUDA when a device is usable, else CPU
)

// ParseKind parses --engine.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindCPU, KindCUDA, KindAuto:
		return k, nil
	}
	return "", fmt.Errorf("engine %q: want cpu, cuda or auto", s)
}

// OpenScorer returns the scorer for kind. When CUDA is asked for (cuda or
// auto) and cannot run here, it logs why and falls back to the CPU scorer;
// it never fails for want of a GPU.
func OpenScorer(kind Kind, log *slog.Logger) score.Scorer {
	if kind == KindCPU {
		return score.NewCPU()
	}
	s, err := score.NewCUDA()
	if err != nil {
		log.Warn("CUDA scorer unavailable; scoring on the CPU", "requested", string(kind), "err", err)
		return score.NewCPU()
	}
	return s
}

// Engine scores every tracked key and tracks what advice was last emitted.
type Engine struct {
	Tracker *model.Tracker
	// Conflicts, when set and once it has learned of a lost write, gives
	// each key's conflict risk instead of the scorer's closed form, and
	// the action follows it (score.Decide).
	Conflicts *conflict.Model
	// Policy, when set, caps each key's recommended max-age by the age
	// rule where it has chosen so (policy.Chooser.MaxAge; its key indices
	// are the tracker's). A key not seen written is aged from Watching.
	Policy   *policy.Chooser
	Watching time.Time
	scorer   score.Scorer
	params   score.Params
	batch    score.Batch
	// last emitted advice per key index, to publish on change only.
	emitted []bool
	key     []string // the key each index was emitted for (indices are reused on eviction)
	action  []uint8
	maxAge  []uint32
	pStale  []float32
	invalid uint64
	// staleReads is the last Changed's sum of ExpectedStale over every key.
	staleReads float64
	// capped is how many keys' max-age the age rule shortened in the last Score.
	capped int
}

// New returns an engine over tracker scoring with s and p.
func New(tracker *model.Tracker, s score.Scorer, p score.Params) (*Engine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Engine{Tracker: tracker, scorer: s, params: p}, nil
}

// Scorer is the scorer in use.
func (e *Engine) Scorer() score.Scorer { return e.scorer }

// Score scores every tracked key as of now and returns the batch (valid
// until the next call); batch index i is e.Tracker.Key(i).
func (e *Engine) Score(ctx context.Context, now time.Time) (*score.Batch, error) {
	e.Tracker.Features(now, &e.batch)
	if err := e.scorer.Score(ctx, e.params, &e.batch); err != nil {
		return nil, fmt.Errorf("score %d keys on %s: %w", e.batch.Len(), e.scorer.Name(), err)
	}
	if c := e.Conflicts; c != nil && c.Losses() > 0 {
		b := &e.batch
		for i := range b.Len() {
			b.Conflict[i] = c.KeyRisk(e.Tracker.Key(i), now)
			b.Action[i] = score.Decide(e.params, b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.Conflict[i])
		}
	}
	e.capped = 0
	if e.Policy != nil {
		b := &e.batch
		for i := range b.Len() {
			was := b.RecMaxAge[i]
			b.RecMaxAge[i] = e.Policy.MaxAge(i, was, e.Age(i, now))
			if b.RecMaxAge[i] < was {
				e.capped++
			}
		}
	}
	return &e.batch, nil
}

// Age is the seconds from key index i's latest write to now, or from
// Watching if no write of it has been seen (−1 if Watching is not set).
func (e *Engine) Age(i int, now time.Time) float64 {
	if a, ok := e.Tracker.SinceWrite(i, now); ok {
		return a
	}
	if e.Watching.IsZero() {
		return -1
	}
	return max(now.Sub(e.Watching).Seconds(), 0)
}

// Capped is how many keys' recommended max-age the age rule shortened in
// the last Score.
func (e *Engine) Capped() int { return e.capped }

// Advice builds the advice record of key index i of b.
func (e *Engine) Advice(b *score.Batch, i int, at time.Time) record.Advice {
	return record.Advice{
		V: record.Version, Key: e.Tracker.Key(i), At: at,
		WriteRate: b.WriteRate[i], ReadRate: b.ReadRate[i],
		PStale: b.PStale[i], ExpectedStaleReads: b.ExpectedStale[i], ConflictRisk: b.Conflict[i],
		RecommendedMaxAge: b.RecMaxAge[i], Action: ActionName(b.Action[i]), Engine: e.scorer.Name(),
	}
}

// ActionName maps a score action code to the record's action.
func ActionName(a uint8) record.Action {
	switch a {
	case score.ActionInvalidateEarly:
		return record.ActionInvalidateEarly
	case score.ActionPin:
		return record.ActionPin
	case score.ActionBatch:
		return record.ActionBatch
	}
	return record.ActionNone
}

// Changed scores all keys and returns advice for those whose advice is new
// or changed materially since last emitted: another action, a recommended
// max-age off by more than 10%, or P(stale) moved by more than 0.05.
// Advice that fails record validation is counted (Invalid) and dropped.
func (e *Engine) Changed(ctx context.Context, now time.Time) ([]record.Advice, error) {
	b, err := e.Score(ctx, now)
	if err != nil {
		return nil, err
	}
	n := b.Len()
	e.emitted = grow(e.emitted, n)
	e.key = grow(e.key, n)
	e.action = grow(e.action, n)
	e.maxAge = grow(e.maxAge, n)
	e.pStale = grow(e.pStale, n)
	var out []record.Advice
	e.staleReads = 0
	for i := range n {
		if x := b.ExpectedStale[i]; x > 0 && !math.IsInf(x, 1) {
			e.staleReads += x
		}
		if e.emitted[i] && e.key[i] == e.Tracker.Key(i) && e.action[i] == b.Action[i] && !movedMaxAge(e.maxAge[i], b.RecMaxAge[i]) &&
			math.Abs(float64(e.pStale[i])-b.PStale[i]) <= 0.05 {
			continue
		}
		a := e.Advice(b, i, now)
		if a.Validate() != nil {
			e.invalid++
			continue
		}
		e.emitted[i], e.key[i], e.action[i], e.maxAge[i], e.pStale[i] = true, a.Key, b.Action[i], b.RecMaxAge[i], float32(b.PStale[i])
		out = append(out, a)
	}
	return out, nil
}

// Invalid counts advice records dropped for failing validation.
func (e *Engine) Invalid() uint64 { return e.invalid }

// ExpectedStaleReads is the stale reads the model predicts, summed over
// every tracked key as of the last Changed (advice published or not): each
// key's expectedStaleReads, the reads expected to hit a stale copy within
// its current max-age. Values that are not finite and positive count 0.
func (e *Engine) ExpectedStaleReads() float64 { return e.staleReads }

func movedMaxAge(was, now uint32) bool {
	lo, hi := min(was, now), max(was, now)
	return float64(hi-lo) > 0.1*float64(hi)
}

func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s[:n]
	}
	return append(s, make([]T, n-len(s))...)
}
