// Package conflict predicts MVCC conflicts from the ledger's own outcomes:
// every committed transition of a key is a write that won, every refused
// transaction on cachet.conflicts that lost a race (record.Conflict with
// Contention) is a write that lost. The Model gives, for a write of a key,
// the probability that it is refused; Replay judges it, and the
// baselines, on a stream in time order, each prediction made before its
// outcome is known.
//
// The model: a write loses when another write of the key commits between
// its endorsement and its validation. Per key it keeps an exponentially
// decayed count of the committed writes (time constant RateTau), the
// key's write rate λ, and a prior risk
//
//	p₀ = σ(b₀ + b₁·ln(λ·1 s))
//
// whose two parameters are fitted online by logistic regression on every
// outcome (for small risks, p₀ ≈ e^b₀·λ^b₁: b₁ = 1 is a Poisson window of
// length e^b₀). Every writer of the key counts as a competitor, the
// submitting org's own clients included: they race each other as much
// as another org's (leaving the submitting org's writes out of λ, as the
// scorer's closed form does, predicted worse on every stream tried). The
// key's own record of wins and losses then moves the prior, as
// Beta-binomial evidence of strength Strength attempts:
//
//	risk = (C + m·p₀) / (N + m),
//
// with N attempts and C losses decayed with time constant HistoryTau. A
// key with little history is judged by its write rate, a key with much by
// its losses.
package conflict

import (
	"container/heap"
	"math"
	"sort"
	"time"

	"github.com/cachetsync/cachet/record"
)

// Attempt is one write of a key: a committed transition (Lost false) or a
// transaction refused for a conflict (Lost true).
type Attempt struct {
	At   time.Time // the transaction's timestamp
	Pos  record.Position
	Key  string
	Lost bool
}

// FromTransition is the attempt a committed transition was.
func FromTransition(t record.Transition) Attempt {
	return Attempt{At: t.Timestamp, Pos: t.Position, Key: t.Key}
}

// FromConflict returns the attempts, one per key, of a transaction that lost
// a race; none for other refusals (an endorsement policy failure is not a
// conflict).
func FromConflict(c record.Conflict) []Attempt {
	if !c.Contention() {
		return nil
	}
	out := make([]Attempt, 0, len(c.Keys))
	for _, k := range c.Keys {
		out = append(out, Attempt{At: c.Timestamp, Pos: c.Position, Key: k, Lost: true})
	}
	return out
}

// Attempts merges a stream's transitions and conflicts into attempts in
// time order (ledger order among equal timestamps).
func Attempts(trs []record.Transition, cfs []record.Conflict) []Attempt {
	out := make([]Attempt, 0, len(trs)+len(cfs))
	for _, t := range trs {
		out = append(out, FromTransition(t))
	}
	for _, c := range cfs {
		out = append(out, FromConflict(c)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return a.Pos.Less(b.Pos)
	})
	return out
}

// Config are the model's settings. Zero fields take DefaultConfig's.
type Config struct {
	// Delay is how long after its timestamp an attempt's outcome is known
	// to the model: commit, relay and an advice round. Predictions use
	// only attempts at least Delay older.
	Delay time.Duration
	// RateTau is the time constant of the per-org write rates.
	RateTau time.Duration
	// HistoryTau is the time constant of a key's attempts and losses.
	HistoryTau time.Duration
	// Strength is the weight, in attempts, of the rate-based prior
	// against a key's own record.
	Strength float64
	// LearningRate is the step of the online fit (AdaGrad).
	LearningRate float64
	// MaxKeys bounds the keys the model keeps state for; a further key
	// is judged by the prior alone (its rate unknown) and not recorded.
	MaxKeys int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Delay: time.Second, RateTau: time.Minute, HistoryTau: 10 * time.Minute, Strength: 20, LearningRate: 0.05, MaxKeys: 1_000_000}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct{ v, def *time.Duration }{{&c.Delay, &d.Delay}, {&c.RateTau, &d.RateTau}, {&c.HistoryTau, &d.HistoryTau}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if !(c.Strength > 0) || math.IsInf(c.Strength, 0) {
		c.Strength = d.Strength
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		c.LearningRate = d.LearningRate
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = d.MaxKeys
	}
	return c
}

// Predictor predicts write attempts one at a time, in time order.
type Predictor interface {
	// Name labels the predictor in tables.
	Name() string
	// Predict returns the probability that a loses, from the attempts
	// visible at a.At, then records a; its outcome becomes visible Delay
	// after a.At.
	Predict(a Attempt) float64
	// KeyRisk is the probability that a write of key at now loses.
	KeyRisk(key string, now time.Time) float64
}

// learner is the state behind a Predictor: what it knows, and how it
// learns from an attempt that became visible.
type learner interface {
	risk(a Attempt) (p float64, x features)
	observe(a Attempt, x features)
	keyRisk(key string, now int64) float64
}

// features are what a prediction was made from, kept until the outcome is
// visible so the fit learns from what was known then.
type features struct{ lnRate float64 }

// pending is an attempt waiting to become visible.
type pending struct {
	a       Attempt
	visible int64
	x       features
	seq     int
}

type pendingQueue []pending

func (q pendingQueue) Len() int { return len(q) }
func (q pendingQueue) Less(i, j int) bool {
	return q[i].visible < q[j].visible || q[i].visible == q[j].visible && q[i].seq < q[j].seq
}
func (q pendingQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pendingQueue) Push(x any)   { *q = append(*q, x.(pending)) }
func (q *pendingQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// delayed turns a learner into a Predictor that sees each attempt Delay
// after it happened.
type delayed struct {
	name  string
	delay int64
	l     learner
	q     pendingQueue
	seq   int
}

func (d *delayed) Name() string { return d.name }

// advance makes visible every attempt at least Delay older than now.
func (d *delayed) advance(now int64) {
	for len(d.q) > 0 && d.q[0].visible <= now {
		p := heap.Pop(&d.q).(pending)
		d.l.observe(p.a, p.x)
	}
}

func (d *delayed) Predict(a Attempt) float64 {
	now := a.At.UnixNano()
	d.advance(now)
	p, x := d.l.risk(a)
	heap.Push(&d.q, pending{a: a, visible: now + d.delay, x: x, seq: d.seq})
	d.seq++
	return p
}

func (d *delayed) KeyRisk(key string, now time.Time) float64 {
	d.advance(now.UnixNano())
	return d.l.keyRisk(key, now.UnixNano())
}

// decayed is an exponentially decayed count as of at.
type decayed struct {
	v  float64
	at int64
}

func (c decayed) get(now int64, tau float64) float64 {
	if now <= c.at {
		return c.v
	}
	return c.v * math.Exp(-float64(now-c.at)/tau)
}

func (c *decayed) add(now int64, tau, x float64) {
	if now >= c.at {
		c.v = c.get(now, tau) + x
		c.at = now
		return
	}
	c.v += x * math.Exp(-float64(c.at-now)/tau) // an attempt older than the last: its weight today
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
