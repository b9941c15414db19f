// Package policy chooses, from the stream itself, how a key's max-age is
// set: the model's recommended max-age alone, or capped by the age rule
// (adaptive TTL: a max-age in proportion to the time since the key last
// changed). The model prices every key as if its writes came at a rate;
// where writes come in bursts (right after a write another is likely), the
// age rule's "a copy fresh for a seconds stays fresh for about a·p/(1−p)
// more" predicts better, and the choice follows whichever has predicted
// the key's changes better so far.
//
// Both are asked the same question at a read of a key with no question
// outstanding: will the key change within H, the max-age the model
// advises now (−ln(1−p)/λ, bounded as the scorers bound it)?
//
//	model:    1 − e^(−λH)   (λ, the model's write rate for the key now)
//	age rule: H/(a+H)       (a, seconds since the key's last write: the
//	                         scale-free predictive whose max-age for a
//	                         P(stale) target p is a·p/(1−p))
//
// The answer is known at the key's next write (a change within H) or once
// H has passed (none). The difference of the two Brier scores, model minus
// age rule, is summed per key and for the stream, each decayed with time
// constant Tau. A key's max-age is capped by the age rule while
// D_key + StreamWeight·D_stream ≥ 0: the age rule has predicted no worse,
// or nothing is known yet (the cap only shortens a max-age, so doubt
// errs on the side of fresher copies). It is capped too while fewer than
// MinGaps gaps between its writes have been seen: until then the model
// prices it mostly by the population's prior.
//
// A key not seen written has, as its age, the time since the caller began
// watching the stream: all that is known is that it has not changed since.
//
// Everything is causal: a choice at t uses the answers known before t.
package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/cachetsync/cachet/analytics/score"
)

// Config configures a Chooser. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// Params are the scorer's: the P(stale) target and the max-age bounds.
	Params score.Params
	// Tau is the time constant with which old answers are forgotten.
	Tau time.Duration
	// StreamWeight is how much the stream's score counts in a key's
	// choice, against the key's own (1).
	StreamWeight float64
	// MinGaps is how many gaps between a key's writes must have been seen
	// before the model's max-age may stand uncapped.
	MinGaps int
}

// DefaultConfig returns the defaults: the scorer's default parameters,
// Tau 10 minutes (the model's counters' time constant), stream weight 0.2
// and two gaps.
func DefaultConfig() Config {
	return Config{Params: score.DefaultParams(), Tau: 10 * time.Minute, StreamWeight: 0.2, MinGaps: 2}
}

// ConfigError reports a Config field outside its domain.
type ConfigError struct {
	Field, Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("policy: %s %s", e.Field, e.Reason) }

// question is a key's outstanding question and its score so far.
type question struct {
	at      float64 // unix seconds of the question (0: none outstanding)
	h       float32 // its horizon, seconds
	pm, pa  float32 // the model's and the age rule's P(change within h)
	d       float32 // the key's decayed Brier difference, model − age rule
	writes  uint32  // writes seen
	scoreAt float64 // unix seconds d is decayed to
}

// Chooser learns the choice. It is not safe for concurrent use.
type Chooser struct {
	cfg    Config
	tau    float64
	keys   []question
	d      float64 // the stream's decayed Brier difference
	dAt    float64
	answer uint64
}

// New returns a Chooser with nothing learned.
func New(cfg Config) (*Chooser, error) {
	d := DefaultConfig()
	if cfg.Params == (score.Params{}) {
		cfg.Params = d.Params
	}
	if cfg.Tau == 0 {
		cfg.Tau = d.Tau
	}
	if cfg.StreamWeight == 0 {
		cfg.StreamWeight = d.StreamWeight
	}
	if cfg.MinGaps == 0 {
		cfg.MinGaps = d.MinGaps
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Tau < 0:
		return nil, &ConfigError{"Tau", "must be positive"}
	case !(cfg.StreamWeight > 0) || math.IsInf(cfg.StreamWeight, 0):
		return nil, &ConfigError{"StreamWeight", "must be positive and finite"}
	case cfg.MinGaps < 0:
		return nil, &ConfigError{"MinGaps", "must not be negative"}
	}
	return &Chooser{cfg: cfg, tau: cfg.Tau.Seconds()}, nil
}

func (c *Chooser) key(i int) *question {
	if i >= len(c.keys) {
		c.keys = append(c.keys, make([]question, i+1-len(c.keys))...)
	}
	return &c.keys[i]
}

// Asking reports whether a read of key i at now would ask a question: none
// is outstanding (an outstanding one whose horizon has passed by now is
// scored first). A caller whose λ costs something to compute asks first.
func (c *Chooser) Asking(i int, now time.Time) bool {
	if i < 0 {
		return false
	}
	if i >= len(c.keys) {
		return true
	}
	c.settle(i, unix(now), false)
	return c.keys[i].at == 0
}

// Read records a read of key i at now, when the model's write rate for it
// is lam and its last write was age seconds before (for a key not seen
// written, the time since watching began). Keys are the caller's small
// non-negative integers (the model's key indices). A read with a rate or
// an age that is not a finite non-negative number asks nothing.
func (c *Chooser) Read(i int, now time.Time, lam, age float64) {
	if i < 0 || !(lam > 0) || math.IsInf(lam, 0) || !(age >= 0) || math.IsInf(age, 0) {
		return
	}
	t := unix(now)
	q := c.key(i)
	c.settle(i, t, false)
	if q.at != 0 {
		return
	}
	h := float64(c.cfg.Params.MaxAgeFor(lam))
	q.at, q.h = t, float32(h)
	q.pm = float32(-math.Expm1(-lam * h))
	q.pa = float32(h / (age + h))
}

// Write records a write of key i at now: the answer to its question, if
// one is outstanding.
func (c *Chooser) Write(i int, now time.Time) {
	if i < 0 {
		return
	}
	c.key(i).writes++
	c.settle(i, unix(now), true)
}

// settle scores key i's question if its answer is known at t.
func (c *Chooser) settle(i int, t float64, wrote bool) {
	q := &c.keys[i]
	if q.at == 0 {
		return
	}
	end := q.at + float64(q.h)
	var y float32
	switch {
	case wrote && t <= end:
		y = 1
	case t <= end:
		return // not known yet
	}
	diff := float64((q.pm-y)*(q.pm-y) - (q.pa-y)*(q.pa-y))
	at := min(t, end)
	q.d = float32(float64(q.d)*c.decay(q.scoreAt, at) + diff)
	q.scoreAt = max(q.scoreAt, at)
	c.d = c.d*c.decay(c.dAt, at) + diff
	c.dAt = max(c.dAt, at)
	q.at = 0
	c.answer++
}

func (c *Chooser) decay(from, to float64) float64 {
	if to <= from {
		return 1
	}
	return math.Exp(-(to - from) / c.tau)
}

// AgeRule reports whether key i's max-age is capped by the age rule now.
func (c *Chooser) AgeRule(i int) bool {
	var q question
	if i >= 0 && i < len(c.keys) {
		q = c.keys[i]
	}
	return int64(q.writes) <= int64(c.cfg.MinGaps) || float64(q.d)+c.cfg.StreamWeight*c.d >= 0
}

// MaxAge is key i's max-age: the model's, maxAge, capped by the age rule's
// when AgeRule(i). age is seconds since the key's last write (or since
// watching began); a negative or NaN age keeps the model's.
func (c *Chooser) MaxAge(i int, maxAge uint32, age float64) uint32 {
	if !(age >= 0) || !c.AgeRule(i) {
		return maxAge
	}
	p := c.cfg.Params
	r := age * p.PStaleTarget / (1 - p.PStaleTarget)
	switch {
	case r < float64(p.MinMaxAge):
		return min(maxAge, p.MinMaxAge)
	case r < float64(maxAge):
		return uint32(r)
	}
	return maxAge
}

// Stats are what the Chooser has learned.
type Stats struct {
	// Answers is how many questions have been answered.
	Answers uint64
	// Score is the stream's decayed Brier difference, model − age rule,
	// as of the last answer: positive when the age rule predicts better.
	Score float64
}

// Stats returns the counters.
func (c *Chooser) Stats() Stats { return Stats{Answers: c.answer, Score: c.d} }

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
