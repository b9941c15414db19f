// Package model keeps per-key rates from the transition stream and the
// browsers' read telemetry, and lays them out as score.Batch inputs.
//
// Writes (publish, invalidate, purge) feed an EWMA of the inter-arrival
// time; reads and per-org write counts feed exponentially decayed counters.
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
	// Alpha is the EWMA weight of the newest write inter-arrival time.
	Alpha float64
	// Tau is the time constant of the decayed read and per-org counters.
	Tau time.Duration
	// PriorInterval is the write interval assumed for a key written once.
	PriorInterval time.Duration
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
	// MaxKeys bounds the key table; writes to further keys are refused.
	MaxKeys int
	// Clock is the wall clock timestamps are checked against.
	Clock func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Alpha:         0.3,
		Tau:           10 * time.Minute,
		PriorInterval: time.Hour,
		MinInterval:   time.Millisecond,
		DefaultMaxAge: 5 * time.Minute,
		MaxSkew:       5 * time.Second,
		MaxFuture:     time.Hour,
		MaxLag:        24 * time.Hour,
		MaxKeys:       10_000_000,
		Clock:         time.Now,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		c.Alpha = d.Alpha
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.Tau, &d.Tau}, {&c.PriorInterval, &d.PriorInterval}, {&c.MinInterval, &d.MinInterval},
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
	lastWrite int64   // unix ns of the latest write
	meanGap   float64 // EWMA of write inter-arrival, seconds; 0 before the second write
	writes    uint32
	maxAge    float64 // seconds
	reads     float64 // decayed read count as of readAt
	readAt    int64
	orgAt     int64 // time the org counters are decayed to
	orgID     [maxOrgs]uint16
	orgCount  [maxOrgs]float64
}

// decay returns e^(−Δ/τ) for Δ = to − from ≥ 0, and 1 for Δ ≤ 0.
func decay(from, to int64, tau float64) float64 {
	if to <= from {
		return 1
	}
	return math.Exp(-float64(to-from) / 1e9 / tau)
}
