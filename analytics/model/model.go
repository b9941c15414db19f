// Package model keeps per-key rates from the transition stream and the
// browsers' read telemetry, and lays them out as score.Batch inputs.
//
// Writes (publish, invalidate, purge) update a per-key posterior over the
// write rate (a log-spaced grid with a log-normal prior and a change
// hazard; see posterior.go); reads and per-org write counts feed
// exponentially decayed counters. Keys that are read before any write of
// them has been seen (reads and transitions travel on separate topics) are
// tracked as read-only keys, which share the key table and are evicted
// least recently seen first when it is full.
// Every record that cannot be used is counted under a Reason and skipped:
// bad input never reaches a batch as NaN, infinity or a negative rate.
package model

import (
	"math"
	"time"
)

// Config is the model's configuration. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// Tau is the time constant of the decayed read and per-org counters.
	Tau time.Duration
	// PriorInterval is the median write interval of the starting prior
	// over write rates, before the keys' first gaps teach it more.
	PriorInterval time.Duration
	// PriorSigma is the spread of the log-normal prior, in natural-log
	// units (2.5: the middle 95% of the prior spans ~4 decades of rates).
	PriorSigma float64
	// ChangeInterval is the mean time between changes of a key's write
	// rate (the change hazard is its inverse).
	ChangeInterval time.Duration
	// RateDrift is the spread, in natural-log units, of the random step a
	// key's log write rate takes between two writes (0.5: a factor of
	// about 1.65 either way), so that no run of writes makes the rate
	// certain.
	RateDrift float64
	// MinInterval floors the inter-arrival mean, bounding the write rate.
	MinInterval time.Duration
	// DefaultMaxAge is used for keys whose transitions carry no max-age.
	DefaultMaxAge time.Duration
	// MaxSkew is how far a write's timestamp may run behind the key's
	// previous write (clocks of different orgs) before it is refused.
	MaxSkew time.Duration
	// MaxFuture is how far ahead of Clock a timestamp may be.
	MaxFuture time.Duration
	// MaxLag is how far behind Clock a read may be.
	MaxLag time.Duration
	// MaxKeys bounds the key table (written and read-only keys together).
	// When it is full, a read-only key is evicted (least recently seen
	// first) to make room; with none left, further keys are refused.
	MaxKeys int
	// Clock is the wall clock timestamps are checked against.
	Clock func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Tau:            10 * time.Minute,
		PriorInterval:  time.Hour,
		PriorSigma:     2.5,
		ChangeInterval: time.Hour,
		RateDrift:      0.5,
		MinInterval:    time.Millisecond,
		DefaultMaxAge:  5 * time.Minute,
		MaxSkew:        5 * time.Second,
		MaxFuture:      time.Hour,
		MaxLag:         24 * time.Hour,
		MaxKeys:        10_000_000,
		Clock:          time.Now,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if !(c.PriorSigma > 0) || math.IsInf(c.PriorSigma, 0) {
		c.PriorSigma = d.PriorSigma
	}
	if !(c.RateDrift > 0) || math.IsInf(c.RateDrift, 0) {
		c.RateDrift = d.RateDrift
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.Tau, &d.Tau}, {&c.PriorInterval, &d.PriorInterval}, {&c.ChangeInterval, &d.ChangeInterval}, {&c.MinInterval, &d.MinInterval},
		{&c.DefaultMaxAge, &d.DefaultMaxAge}, {&c.MaxSkew, &d.MaxSkew}, {&c.MaxFuture, &d.MaxFuture}, {&c.MaxLag, &d.MaxLag},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = d.MaxKeys
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	return c
}

// minTime is the earliest timestamp accepted: nothing in Cachet predates it.
var minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxOrgs is how many writer orgs a key tracks; a further org replaces the
// one with the smallest decayed count.
const maxOrgs = 4

// keyState is everything the model keeps for one key.
type keyState struct {
	version   uint64
	lastWrite int64 // unix ns of the latest write
	writes    uint32
	maxAge    float64 // seconds
	reads     float64 // decayed read count as of readAt
	readAt    int64
	orgAt     int64 // time the org counters are decayed to
	orgID     [maxOrgs]uint16
	orgCount  [maxOrgs]float64
	// rate is the posterior over the write-rate grid as of lastWrite.
	rate [GridPoints]float32
	// prev and next link the read-only keys (writes == 0) from least to
	// most recently seen; -1 ends the list.
	prev, next int32
}

// decay returns e^(−Δ/τ) for Δ = to − from ≥ 0, and 1 for Δ ≤ 0.
func decay(from, to int64, tau float64) float64 {
	if to <= from {
		return 1
	}
	return math.Exp(-float64(to-from) / 1e9 / tau)
}
